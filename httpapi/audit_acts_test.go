package httpapi_test

import (
	"context"
	"strings"
	"testing"

	"github.com/tollgate/tollgate/audit"
	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/internal/passkeytest"
)

// auditHeads is how far each audit stream has gone.
func auditHeads(t *testing.T, ts *testServer) map[string]int64 {
	t.Helper()
	heads, err := ts.store.ListAuditHeads(context.Background(), nil, audit.MaxPage)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, h := range heads {
		out[h.TenantID] = h.Seq
	}
	return out
}

// TestEveryActIsAuditedOnce walks the acts that must never be lost, each
// through the API, and checks that each wrote exactly one event, in the
// right stream, naming the act, its target, who did it and from where.
func TestEveryActIsAuditedOnce(t *testing.T) {
	forEachBackend(t, func(t *testing.T, ts *testServer) {
		w := newWorld(t, ts)
		root, rootTok := ts.platformAdmin("root@platform.example")
		A := w.tenantA
		newcomer := ts.user("newcomer@a.example", false)
		joiner := ts.user("joiner@b.example", false)
		joinerTok := ts.login(joiner.Email, "").str("access_token")
		memberSID := ts.login(w.member.Email, A).str("session_id")
		adminSID := ts.login(w.admin.Email, A).str("session_id")
		var invID string
		var agentID, keyID, svcID, created, hookID, totpSecret, passkeyID string
		type act struct {
			name           string
			do             func() response
			status         int
			stream         func() string
			action         string
			targetType     string
			target         func() string
			actor          identity.User
			detailKey, val string
		}
		in := func(id string) func() string { return func() string { return id } }
		acts := []act{
			{"create a tenant", func() response {
				r := ts.do("POST", "/v1/tenants", w.ownerTok, map[string]any{"slug": "audited", "name": "Audited"})
				created = r.str("id")
				return r
			}, 201, func() string { return created }, audit.ActionTenantCreate, "tenant", func() string { return created }, w.owner, "slug", "audited"},
			{"rename the tenant", func() response {
				return ts.do("PATCH", "/v1/tenants/"+A, w.ownerTok, map[string]any{"name": "Renamed"})
			}, 200, in(A), audit.ActionTenantUpdate, "tenant", in(A), w.owner, "status", "active"},
			{"suspend it", func() response {
				return ts.do("PATCH", "/v1/tenants/"+A, rootTok, map[string]any{"status": "suspended"})
			}, 200, in(A), audit.ActionTenantSuspend, "tenant", in(A), root, "status", "suspended"},
			{"activate it", func() response {
				return ts.do("PATCH", "/v1/tenants/"+A, rootTok, map[string]any{"status": "active"})
			}, 200, in(A), audit.ActionTenantActivate, "tenant", in(A), root, "status", "active"},
			// Scheduling suspends an active tenant too (a second event):
			// the new tenant is suspended first, so that each act is one.
			{"suspend the new tenant", func() response {
				return ts.do("PATCH", "/v1/tenants/"+created, rootTok, map[string]any{"status": "suspended"})
			}, 200, func() string { return created }, audit.ActionTenantSuspend, "tenant", func() string { return created }, root, "status", "suspended"},
			{"schedule its deletion", func() response {
				return ts.do("POST", "/v1/tenants/"+created+"/deletion", rootTok, map[string]any{"confirm": "audited"})
			}, 202, in(""), audit.ActionTenantDeletionScheduled, "tenant", func() string { return created }, root, "", ""},
			{"cancel its deletion", func() response {
				return ts.do("DELETE", "/v1/tenants/"+created+"/deletion", rootTok, nil)
			}, 200, in(""), audit.ActionTenantDeletionCancelled, "tenant", func() string { return created }, root, "", ""},
			{"add a member", func() response {
				return ts.do("POST", "/v1/tenants/"+A+"/members", w.ownerTok, map[string]any{"actor_id": newcomer.ActorID(), "roles": []string{"member"}})
			}, 201, in(A), audit.ActionMemberAdd, "member", in(newcomer.ActorID()), w.owner, "roles", "member"},
			{"invite someone", func() response {
				r := ts.do("POST", "/v1/tenants/"+A+"/invitations", w.ownerTok, map[string]any{"email": joiner.Email, "roles": []string{"member"}})
				invID = r.str("id")
				return r
			}, 202, in(A), audit.ActionInvitationCreate, "invitation", func() string { return invID }, w.owner, "roles", "member"},
			{"resend the invitation", func() response {
				return ts.do("POST", "/v1/tenants/"+A+"/invitations/"+invID+"/resend", w.ownerTok, nil)
			}, 202, in(A), audit.ActionInvitationResend, "invitation", func() string { return invID }, w.owner, "", ""},
			{"accept it", func() response {
				tok := mailedToken(t, ts, joiner.Email, identity.InvitationTokenPrefix)
				return ts.do("POST", "/v1/invitations/accept", joinerTok, map[string]any{"token": tok})
			}, 200, in(A), audit.ActionInvitationAccept, "invitation", func() string { return invID }, joiner, "member", joiner.ActorID()},
			{"invite another", func() response {
				r := ts.do("POST", "/v1/tenants/"+A+"/invitations", w.ownerTok, map[string]any{"email": "later@a.example", "roles": []string{"member"}})
				invID = r.str("id")
				return r
			}, 202, in(A), audit.ActionInvitationCreate, "invitation", func() string { return invID }, w.owner, "roles", "member"},
			{"revoke that invitation", func() response {
				return ts.do("DELETE", "/v1/tenants/"+A+"/invitations/"+invID, w.ownerTok, nil)
			}, 204, in(A), audit.ActionInvitationRevoke, "invitation", func() string { return invID }, w.owner, "", ""},
			{"change their roles", func() response {
				return ts.do("PATCH", "/v1/tenants/"+A+"/members/"+newcomer.ActorID(), w.ownerTok, map[string]any{"roles": []string{"admin"}})
			}, 200, in(A), audit.ActionMemberUpdate, "member", in(newcomer.ActorID()), w.owner, "previous_roles", "member"},
			{"remove them", func() response {
				return ts.do("DELETE", "/v1/tenants/"+A+"/members/"+newcomer.ActorID(), w.ownerTok, nil)
			}, 204, in(A), audit.ActionMemberRemove, "member", in(newcomer.ActorID()), w.owner, "roles", "admin"},
			{"define a role", func() response {
				return ts.do("PUT", "/v1/tenants/"+A+"/roles/reader", w.ownerTok, map[string]any{"permissions": []string{"tenant:read", "members:read"}})
			}, 200, in(A), audit.ActionRolePut, "role", in("reader"), w.owner, "permissions", "members:read,tenant:read"},
			{"delete the role", func() response {
				return ts.do("DELETE", "/v1/tenants/"+A+"/roles/reader", w.ownerTok, nil)
			}, 204, in(A), audit.ActionRoleDelete, "role", in("reader"), w.owner, "", ""},
			{"create an agent", func() response {
				r := ts.do("POST", "/v1/tenants/"+A+"/agents", w.memberTok, map[string]any{"name": "helper"})
				agentID = r.str("actor_id")
				return r
			}, 201, in(A), audit.ActionAgentCreate, "agent", func() string { return agentID }, w.member, "owner", w.member.ActorID()},
			{"disable the agent", func() response {
				return ts.do("PATCH", "/v1/tenants/"+A+"/agents/"+strings.TrimPrefix(agentID, identity.AgentActorPrefix), w.memberTok, map[string]any{"status": "disabled"})
			}, 200, in(A), audit.ActionAgentUpdate, "agent", func() string { return agentID }, w.member, "status", "disabled"},
			{"delete the agent", func() response {
				return ts.do("DELETE", "/v1/tenants/"+A+"/agents/"+strings.TrimPrefix(agentID, identity.AgentActorPrefix), w.memberTok, nil)
			}, 204, in(A), audit.ActionAgentDelete, "agent", func() string { return agentID }, w.member, "", ""},
			{"create an API key", func() response {
				r := ts.do("POST", "/v1/api-keys", w.memberTok, map[string]any{"name": "ci", "scopes": []string{"tenant:read"}})
				keyID = r.str("id")
				return r
			}, 201, in(A), audit.ActionAPIKeyCreate, "api_key", func() string { return keyID }, w.member, "scopes", "tenant:read"},
			{"rotate it", func() response {
				return ts.do("POST", "/v1/api-keys/"+keyID+"/rotate", w.memberTok, nil)
			}, 200, in(A), audit.ActionAPIKeyRotate, "api_key", func() string { return keyID }, w.member, "holder", w.member.ActorID()},
			{"revoke it", func() response {
				return ts.do("DELETE", "/v1/api-keys/"+keyID, w.memberTok, nil)
			}, 204, in(A), audit.ActionAPIKeyRevoke, "api_key", func() string { return keyID }, w.member, "holder", w.member.ActorID()},
			{"register a service", func() response {
				r := ts.do("POST", "/v1/services", rootTok, map[string]any{"name": "mailer", "scopes": []string{"authz:check"}, "tenants": []string{A}})
				svcID = r.str("id")
				return r
			}, 201, in(""), audit.ActionServiceCreate, "service", in("service:mailer"), root, "tenants", A},
			{"narrow it", func() response {
				return ts.do("PATCH", "/v1/services/"+svcID, rootTok, map[string]any{"resource_types": []string{"tool"}})
			}, 200, in(""), audit.ActionServiceUpdate, "service", in("service:mailer"), root, "resource_types", "tool"},
			{"rotate its secret", func() response {
				return ts.do("POST", "/v1/services/"+svcID+"/rotate-secret", rootTok, nil)
			}, 200, in(""), audit.ActionSecretRotate, "service", in("service:mailer"), root, "grace_seconds", "0"},
			{"delete it", func() response {
				return ts.do("DELETE", "/v1/services/"+svcID, rootTok, nil)
			}, 204, in(""), audit.ActionServiceDelete, "service", in("service:mailer"), root, "", ""},
			{"disable a user", func() response {
				return ts.do("PATCH", "/v1/users/"+newcomer.ID, rootTok, map[string]any{"status": "disabled"})
			}, 200, in(""), audit.ActionUserUpdate, "user", in(newcomer.ActorID()), root, "status", "disabled"},
			{"write policies", func() response {
				return ts.do("PUT", "/v1/tenants/"+A+"/policies", w.ownerTok, map[string]any{"text": `@id("p") forbid (principal, action == Action::"SEND_MESSAGE", resource);`})
			}, 200, in(A), audit.ActionPolicyPut, "policy_set", in("1"), w.owner, "previous_version", "0"},
			{"roll them back", func() response {
				return ts.do("POST", "/v1/tenants/"+A+"/policies/versions/1/rollback", w.ownerTok, nil)
			}, 200, in(A), audit.ActionPolicyPut, "policy_set", in("2"), w.owner, "rollback_of", "1"},
			{"extend the schema", func() response {
				return ts.do("PUT", "/v1/tenants/"+A+"/schema", w.ownerTok, map[string]any{"text": `entity Channel = { topic?: String };`})
			}, 200, in(A), audit.ActionSchemaPut, "schema", in("1"), w.owner, "previous_version", "0"},
			{"roll the schema back", func() response {
				return ts.do("POST", "/v1/tenants/"+A+"/schema/versions/1/rollback", w.ownerTok, nil)
			}, 200, in(A), audit.ActionSchemaPut, "schema", in("2"), w.owner, "rollback_of", "1"},
			{"register a channel", func() response {
				return ts.do("PUT", "/v1/tenants/"+A+"/resources/channel/the%20lobby", w.ownerTok, map[string]any{})
			}, 200, in(A), audit.ActionRegistryPut, "resource", in("channel/the%20lobby"), w.owner, "resources", "channel/the lobby"},
			{"register a batch", func() response {
				return ts.do("POST", "/v1/tenants/"+A+"/resources:batch", w.ownerTok, map[string]any{"resources": []any{
					map[string]any{"type": "tool", "id": "a"}, map[string]any{"type": "tool", "id": "b"}}})
			}, 200, in(A), audit.ActionRegistryPut, "resource", in(""), w.owner, "count", "2"},
			{"unregister the channel", func() response {
				return ts.do("DELETE", "/v1/tenants/"+A+"/resources/channel/the%20lobby", w.ownerTok, nil)
			}, 204, in(A), audit.ActionRegistryDelete, "resource", in("channel/the%20lobby"), w.owner, "count", "1"},
			{"change the tenant's rate-limit plan", func() response {
				return ts.do("PUT", "/v1/tenants/"+A+"/rate-limits", rootTok, map[string]any{"limits": map[string]string{"tenant": "500/1m"}})
			}, 200, in(A), audit.ActionRateLimitPlanChange, "tenant", in(A), root, "limits", "tenant=500/1m"},
			{"create a webhook endpoint", func() response {
				r := ts.do("POST", "/v1/tenants/"+A+"/webhooks", w.ownerTok, map[string]any{"url": "https://hooks.example.com/in", "event_types": []string{"member.added"}})
				hookID = r.str("id")
				return r
			}, 201, in(A), audit.ActionWebhookCreate, "webhook", func() string { return hookID }, w.owner, "event_types", "member.added"},
			{"change it", func() response {
				return ts.do("PATCH", "/v1/tenants/"+A+"/webhooks/"+hookID, w.ownerTok, map[string]any{"status": "disabled"})
			}, 200, in(A), audit.ActionWebhookUpdate, "webhook", func() string { return hookID }, w.owner, "status", "disabled"},
			{"rotate its secret", func() response {
				return ts.do("POST", "/v1/tenants/"+A+"/webhooks/"+hookID+"/rotate-secret", w.ownerTok, map[string]any{"overlap_seconds": 60})
			}, 200, in(A), audit.ActionWebhookRotate, "webhook", func() string { return hookID }, w.owner, "overlap_seconds", "60"},
			{"delete it", func() response {
				return ts.do("DELETE", "/v1/tenants/"+A+"/webhooks/"+hookID, w.ownerTok, nil)
			}, 204, in(A), audit.ActionWebhookDelete, "webhook", func() string { return hookID }, w.owner, "url", "https://hooks.example.com/in"},
			{"change the tenant's usage quotas", func() response {
				return ts.do("PUT", "/v1/tenants/"+A+"/quotas", rootTok, map[string]any{"quotas": []any{map[string]any{"meter": "tool_runs", "limit": 100}}})
			}, 200, in(A), audit.ActionQuotaPut, "tenant", in(A), root, "quotas", "tool_runs/tenant=100"},
			{"change the tenant's meters", func() response {
				return ts.do("PUT", "/v1/tenants/"+A+"/meters", w.ownerTok, map[string]any{"meters": []any{
					map[string]any{"name": "pages", "event_type": "usage.ocr", "aggregation": "SUM", "value_path": "pages"}}})
			}, 200, in(A), audit.ActionMetersPut, "tenant", in(A), w.owner, "meters", "pages=SUM(usage.ocr)"},
			{"start enrolling an authenticator app", func() response {
				r := ts.do("POST", "/v1/users/me/mfa/totp", w.adminTok, nil)
				totpSecret = r.str("secret")
				return r
			}, 200, in(""), audit.ActionMFAEnrolStart, "user", in(w.admin.ActorID()), w.admin, "factor", "totp"},
			{"confirm it", func() response {
				return ts.do("POST", "/v1/users/me/mfa/totp/confirm", w.adminTok, map[string]any{"code": nowCode(t, totpSecret)})
			}, 200, in(""), audit.ActionMFAEnrol, "user", in(w.admin.ActorID()), w.admin, "factor", "totp"},
			{"replace the recovery codes", func() response {
				return ts.do("POST", "/v1/users/me/mfa/recovery-codes", w.adminTok, map[string]any{"password": testPassword})
			}, 200, in(""), audit.ActionMFARecoveryRegenerate, "user", in(w.admin.ActorID()), w.admin, "factor", "recovery_code"},
			{"remove it", func() response {
				return ts.do("POST", "/v1/users/me/mfa/totp/disable", w.adminTok, map[string]any{"password": testPassword})
			}, 204, in(""), audit.ActionMFADisable, "user", in(w.admin.ActorID()), w.admin, "factor", "totp"},
			{"register a passkey", func() response {
				r := registerPasskey(t, ts, w.adminTok, passkeytest.New(passkeyOrigin))
				passkeyID = r.str("id")
				return r
			}, 201, in(""), audit.ActionMFAPasskeyRegister, "user", in(w.admin.ActorID()), w.admin, "factor", "webauthn"},
			{"remove it", func() response {
				return ts.do("POST", "/v1/users/me/passkeys/"+passkeyID+"/delete", w.adminTok, map[string]any{"password": testPassword})
			}, 204, in(""), audit.ActionMFAPasskeyDelete, "user", in(w.admin.ActorID()), w.admin, "factor", "webauthn"},
			{"change a password", func() response {
				return ts.do("POST", "/v1/auth/password/change", w.adminTok, map[string]any{"current_password": testPassword, "new_password": "a different long passphrase 42"})
			}, 204, in(""), audit.ActionPasswordChange, "user", in(w.admin.ActorID()), w.admin, "", ""},
			{"end a member's session", func() response {
				return ts.do("DELETE", "/v1/tenants/"+A+"/sessions/"+memberSID, w.ownerTok, nil)
			}, 204, in(A), audit.ActionSessionRevoke, "session", in(memberSID), w.owner, "reason", "revoked_by_admin"},
			{"end one's own other session", func() response {
				return ts.do("DELETE", "/v1/users/me/sessions/"+adminSID, w.adminTok, nil)
			}, 204, in(A), audit.ActionSessionRevoke, "session", in(adminSID), w.admin, "reason", "revoked_by_user"},
			{"sign out", func() response {
				return ts.do("POST", "/v1/auth/logout", w.adminTok, nil)
			}, 204, in(A), audit.ActionSessionLogout, "session", nil, w.admin, "reason", "logout"},
		}
		for _, a := range acts {
			before := auditHeads(t, ts)
			r := a.do()
			expect(t, r, a.status, "")
			after := auditHeads(t, ts)
			stream := a.stream()
			for s, seq := range after {
				if want := before[s] + map[bool]int64{true: 1}[s == stream]; seq != want {
					t.Fatalf("%s: stream %q went from %d to %d events, want %d", a.name, s, before[s], seq, want)
				}
			}
			evs, err := ts.store.ReadAudit(context.Background(), stream, before[stream], 10)
			if err != nil || len(evs) != 1 {
				t.Fatalf("%s: read %d events, %v", a.name, len(evs), err)
			}
			e := evs[0]
			if e.Action != a.action || e.TargetType != a.targetType || a.target != nil && e.TargetID != a.target() ||
				e.Outcome != audit.Success || e.ActorID != a.actor.ActorID() || e.CredentialKind != identity.CredentialSession ||
				e.CredentialID == "" || e.ClientIP != "127.0.0.1" || e.RequestID != r.header.Get("X-Request-Id") ||
				a.detailKey != "" && e.Detail[a.detailKey] != a.val {
				t.Fatalf("%s: recorded %+v", a.name, e)
			}
		}
		// The chains so written verify.
		for stream := range auditHeads(t, ts) {
			if rep, err := audit.Verify(context.Background(), ts.store, stream, audit.VerifyOptions{}); err != nil || rep.Err() != nil {
				t.Fatalf("stream %q: %v %v", stream, rep, err)
			}
		}
	})
}
