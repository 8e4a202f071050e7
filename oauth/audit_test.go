package oauth_test

import (
	"testing"

	"github.com/tollgate/tollgate/audit"
	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/secret"
	"github.com/tollgate/tollgate/serviceaccount"
)

// TestAuditEvents checks that each grant, granted or refused, records one
// event in the right stream with who asked.
func TestAuditEvents(t *testing.T) {
	cases := []struct {
		name string
		act  func(t *testing.T, e *env, w world) audit.Event
	}{
		{"client credentials", func(t *testing.T, e *env, w world) audit.Event {
			svc, raw := e.service(t, w.root, "mail", serviceaccount.ScopeAuthzCheck)
			e.rec.Take()
			e.mustToken(t, ccPost(svc.ID, raw), basic{})
			return audit.Event{Action: audit.ActionClientCredentials, Outcome: audit.Success, ActorID: svc.ActorID(),
				CredentialKind: identity.CredentialClientCredentials, CredentialID: secretID(t, raw, secret.ClientSecretPrefix),
				TargetType: "service", TargetID: svc.ActorID(), Detail: map[string]string{"scope": "authz:check"}}
		}},
		{"client credentials with a wrong secret", func(t *testing.T, e *env, w world) audit.Event {
			svc, _ := e.service(t, w.root, "mail", serviceaccount.ScopeAuthzCheck)
			e.rec.Take()
			_, err := e.token(ccPost(svc.ID, "tgs_wrong"), basic{})
			wantOAuthError(t, err, "invalid_client", 401, false)
			return audit.Event{Action: audit.ActionClientCredentials, Outcome: audit.Failure, Reason: "invalid_client",
				TargetType: "service", Detail: map[string]string{"client_id": svc.ID}}
		}},
		{"token exchange: in the human's tenant, the agent acting for them", func(t *testing.T, e *env, w world) audit.Event {
			ann := e.login(t, w.ann, "alpha")
			key, raw := e.agentKey(t, w.ann, w.annBot, nil, "tenant:read")
			e.rec.Take()
			e.mustToken(t, exchange(ann.AccessToken, raw), basic{})
			return audit.Event{TenantID: w.alpha.ID, Action: audit.ActionTokenExchange, Outcome: audit.Success,
				ActorID: "agent:" + w.annBot.ID, OnBehalfOf: w.ann.ActorID(), CredentialKind: identity.CredentialAPIKey, CredentialID: key.ID,
				TargetType: "user", TargetID: w.ann.ActorID(), Detail: map[string]string{"scope": "tenant:read"}}
		}},
		{"token exchange with an agent of another tenant names no agent", func(t *testing.T, e *env, w world) audit.Event {
			ann := e.login(t, w.ann, "alpha")
			_, raw := e.agentKey(t, w.carl, w.carlBeta, nil, "tenant:read")
			e.rec.Take()
			_, err := e.token(exchange(ann.AccessToken, raw), basic{})
			wantOAuthError(t, err, "invalid_grant", 400, false)
			return audit.Event{TenantID: w.alpha.ID, Action: audit.ActionTokenExchange, Outcome: audit.Failure, Reason: "invalid_grant",
				OnBehalfOf: w.ann.ActorID(), TargetType: "user", TargetID: w.ann.ActorID()}
		}},
		{"token exchange with a bad subject token: the platform stream", func(t *testing.T, e *env, w world) audit.Event {
			_, raw := e.agentKey(t, w.ann, w.annBot, nil, "tenant:read")
			e.rec.Take()
			_, err := e.token(exchange("not-a-token", raw), basic{})
			wantOAuthError(t, err, "invalid_grant", 400, false)
			return audit.Event{Action: audit.ActionTokenExchange, Outcome: audit.Failure, Reason: "invalid_grant", TargetType: "user"}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			w := newWorld(t, e)
			want := c.act(t, e, w)
			got := e.rec.Take()
			if len(got) != 1 {
				t.Fatalf("recorded %d events: %+v", len(got), got)
			}
			g := got[0]
			if g.TenantID != want.TenantID || g.Action != want.Action || g.Outcome != want.Outcome || g.Reason != want.Reason ||
				g.ActorID != want.ActorID || g.OnBehalfOf != want.OnBehalfOf || g.CredentialKind != want.CredentialKind ||
				g.CredentialID != want.CredentialID || g.TargetType != want.TargetType || g.TargetID != want.TargetID {
				t.Fatalf("recorded\n %+v\nwant\n %+v", g, want)
			}
			for k, v := range want.Detail {
				if g.Detail[k] != v {
					t.Fatalf("detail %s = %q, want %q", k, g.Detail[k], v)
				}
			}
		})
	}
}
