package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/tollgate/tollgate/config"
	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/ids"
)

// The scope matrix: every mutating route of the OpenAPI document the
// server serves, called on the holder's OWN objects by three credentials
// of one person — an API key scoped to tenant:read, their agent's token
// delegated by them and narrowed to tenant:read, and their own session.
// The two scoped credentials must be refused (403 and a stable code) on
// every route except those that need no permission at all, each listed
// with the reason. A route added to the document without a row here fails
// the test, so every new route is classified.

// scopeCaller is one of the three credentials of the holder.
type scopeCaller int

const (
	// scopedKey is the holder's API key scoped to tenant:read.
	scopedKey scopeCaller = iota
	// scopedDelegation is the holder's agent acting for the holder with a
	// token narrowed to tenant:read (the agent's own key is wide).
	scopedDelegation
	// holderSession is the holder's own session.
	holderSession
)

var scopeCallers = []scopeCaller{scopedKey, scopedDelegation, holderSession}

func (c scopeCaller) String() string {
	return [...]string{"tenant:read key", "tenant:read delegated token", "session"}[c]
}

// scopeFixture is one person — the holder, an admin of their tenant — with
// their objects: keys, an agent with a wide key, roles, a resource and a
// policy version. Every route gets a fresh one, since the session's calls
// change or end them.
type scopeFixture struct {
	tenant           string
	holder, stranger identity.User
	agent            string // the holder's agent's id
	session          string // the holder's access token
	otherSession     string // the id of another session of the holder's
	narrowKey        string // the holder's tenant:read key (the scoped key)
	delegated        string // the agent's token for the holder, tenant:read
	wideKeyID        string // the holder's other key: apikeys:write, members:write, tenant:read
	agentKeyID       string // the agent's key, as wide
	invitation       string // a pending invitation to the tenant
	policyVersion    int
	schemaVersion    int
	webhook          string // the tenant's webhook endpoint
	delivery         string // a delivery of it (its test message)
}

// wideScopes are the scopes of the holder's and the agent's wide keys.
var wideScopes = []string{"apikeys:write", "members:write", "tenant:read"}

func newScopeFixture(t *testing.T, ts *testServer, n int) *scopeFixture {
	t.Helper()
	ctx := context.Background()
	f := &scopeFixture{}
	owner := ts.user(fmt.Sprintf("owner%d@scopes.example", n), false)
	f.holder = ts.user(fmt.Sprintf("holder%d@scopes.example", n), false)
	f.stranger = ts.user(fmt.Sprintf("stranger%d@scopes.example", n), false)
	tn, err := ts.app.Identity.CreateTenant(ctx, owner.ActorID(), identity.NewTenant{Slug: fmt.Sprintf("scopes-%d", n)})
	if err != nil {
		t.Fatal(err)
	}
	f.tenant = tn.ID
	if _, err := ts.app.Identity.AddMember(ctx, identity.Caller{ActorID: owner.ActorID()}, f.tenant,
		identity.NewMember{ActorID: f.holder.ActorID(), Roles: []string{identity.RoleAdmin}}); err != nil {
		t.Fatal(err)
	}
	f.session = ts.login(f.holder.Email, f.tenant).str("access_token")
	f.otherSession = ts.login(f.holder.Email, f.tenant).str("session_id")
	_, f.narrowKey = createKey(t, ts, f.session, map[string]any{"name": "narrow", "scopes": []string{"tenant:read"}})
	f.wideKeyID, _ = createKey(t, ts, f.session, map[string]any{"name": "wide", "scopes": wideScopes})
	f.agent = createAgent(t, ts, f.session, f.tenant, "assistant")
	var agentKey string
	f.agentKeyID, agentKey = createKey(t, ts, f.session, map[string]any{"name": "agent's", "actor_id": "agent:" + f.agent, "scopes": wideScopes})
	f.delegated = exchange(t, ts, exchangeForm(f.session, agentKey, "scope", "tenant:read")).str("access_token")

	base := "/v1/tenants/" + f.tenant
	for role, perms := range map[string][]string{"auditor": {"audit:read", "tenant:read"}, "spare": {"tenant:read"}} {
		expect(t, ts.do("PUT", base+"/roles/"+role, f.session, map[string]any{"permissions": perms}), http.StatusOK, "")
	}
	expect(t, ts.do("PUT", resourcePath(f.tenant, "channel", "c1"), f.session,
		map[string]any{"attrs": map[string]any{"members": []string{f.holder.ActorID(), "agent:" + f.agent}}}), http.StatusOK, "")
	r := ts.do("PUT", base+"/policies", f.session, map[string]any{"text": ""})
	expect(t, r, http.StatusOK, "")
	f.policyVersion = int(r.body["version"].(float64))
	inv := ts.do("POST", base+"/invitations", f.session, map[string]any{"email": fmt.Sprintf("invitee%d@scopes.example", n), "roles": []string{"member"}})
	expect(t, inv, http.StatusAccepted, "")
	f.invitation = inv.str("id")
	r = ts.do("PUT", base+"/schema", f.session, map[string]any{"text": ""})
	expect(t, r, http.StatusOK, "")
	f.schemaVersion = int(r.body["version"].(float64))
	// The worker never runs here: the endpoint needs no receiver.
	r = ts.do("POST", base+"/webhooks", f.session, map[string]any{"url": "http://127.0.0.1:9/hook"})
	expect(t, r, http.StatusCreated, "")
	f.webhook = r.str("id")
	r = ts.do("POST", base+"/webhooks/"+f.webhook+"/test", f.session, nil)
	expect(t, r, http.StatusAccepted, "")
	f.delivery = r.str("id")
	return f
}

// ownKey is the key a caller acts on as "its holder's": the holder's wide
// key, or for the delegated token its agent's (the key it acts for).
func (f *scopeFixture) ownKey(c scopeCaller) string {
	if c == scopedDelegation {
		return f.agentKeyID
	}
	return f.wideKeyID
}

// send calls the server as c.
func (f *scopeFixture) send(ts *testServer, c scopeCaller, method string, req scopeRequest) response {
	h := http.Header{}
	for k, v := range req.header {
		h[k] = v
	}
	switch c {
	case scopedKey:
		h.Set("X-API-Key", f.narrowKey)
	case scopedDelegation:
		h.Set("Authorization", "Bearer "+f.delegated)
	case holderSession:
		h.Set("Authorization", "Bearer "+f.session)
	}
	if req.stream {
		return ts.open(method, req.path, h)
	}
	return ts.send(method, req.path, h, req.body)
}

type scopeRequest struct {
	path   string
	body   any
	header http.Header
	// stream: the answer, when 200, is a stream that does not end; only
	// its status is read.
	stream bool
}

// outcome is a status and, when not "", a problem code.
type outcome struct {
	status int
	code   string
}

type scopeRow struct {
	// open says why the scoped credentials are not refused: the route
	// needs no permission in the tenant. "" means they must be refused.
	open string
	req  func(f *scopeFixture, c scopeCaller) scopeRequest
	want [3]outcome // by scopeCaller
}

// Outcomes of the rows.
func same(o outcome) [3]outcome { return [3]outcome{o, o, o} }

// deniedBut is a route that needs a permission the scoped credentials lack
// and the holder's session holds.
func deniedBut(status int) [3]outcome {
	d := outcome{http.StatusForbidden, "permission_denied"}
	return [3]outcome{d, d, {status, ""}}
}

// sessionOnly is a route only the person's own session may call.
func sessionOnly(status int) [3]outcome {
	d := outcome{http.StatusForbidden, "session_required"}
	return [3]outcome{d, d, {status, ""}}
}

func at(path string, body any) func(*scopeFixture, scopeCaller) scopeRequest {
	return func(*scopeFixture, scopeCaller) scopeRequest { return scopeRequest{path: path, body: body} }
}

// scopeMatrix is every mutating route, by "METHOD /openapi/path".
func scopeMatrix() map[string]scopeRow {
	tenantPath := func(rest string) func(*scopeFixture, scopeCaller) scopeRequest {
		return func(f *scopeFixture, _ scopeCaller) scopeRequest {
			return scopeRequest{path: "/v1/tenants/" + f.tenant + rest}
		}
	}
	withBody := func(req func(*scopeFixture, scopeCaller) scopeRequest, body func(f *scopeFixture) any) func(*scopeFixture, scopeCaller) scopeRequest {
		return func(f *scopeFixture, c scopeCaller) scopeRequest {
			r := req(f, c)
			r.body = body(f)
			return r
		}
	}
	fixed := func(body any) func(*scopeFixture) any { return func(*scopeFixture) any { return body } }
	ownKey := func(rest string, body any) func(*scopeFixture, scopeCaller) scopeRequest {
		return func(f *scopeFixture, c scopeCaller) scopeRequest {
			return scopeRequest{path: "/v1/api-keys/" + f.ownKey(c) + rest, body: body}
		}
	}
	service := "/v1/services/" + ids.New()
	platformOnly := same(outcome{http.StatusForbidden, "platform_admin_required"})
	// The gateway asks about a registered channel the holder and their
	// agent are members of, so the default policies permit READ.
	gatewayNoPath := func(method string) func(*scopeFixture, scopeCaller) scopeRequest {
		return func(*scopeFixture, scopeCaller) scopeRequest {
			return scopeRequest{path: "/v1/gateway/auth", header: http.Header{"X-Original-Method": {method}, "X-Original-Uri": {"/docs/c1"}}}
		}
	}
	const (
		aboutItself = "answers a question about the caller itself (a policy decision) and changes nothing; the policies judge the principal, not the credential's scopes"
		gateway     = "forward auth: answers whether the caller may make the proxied request (a policy decision about the caller itself) and changes nothing"
	)
	permit := same(outcome{http.StatusOK, ""})

	return map[string]scopeRow{
		"POST /v1/auth/login": {
			open: "public sign-in: the password in the body is the credential; the request's own plays no part",
			req: func(f *scopeFixture, _ scopeCaller) scopeRequest {
				return scopeRequest{path: "/v1/auth/login", body: map[string]any{"email": f.holder.Email, "password": testPassword, "tenant": f.tenant}}
			},
			want: permit,
		},
		"POST /v1/auth/refresh": {
			open: "public: the refresh token in the body is the credential; the request's own plays no part",
			req:  at("/v1/auth/refresh", map[string]any{"refresh_token": "not-a-refresh-token"}),
			want: same(outcome{http.StatusUnauthorized, "invalid_refresh_token"}),
		},
		"POST /oauth/token": {
			open: "public token endpoint: the grant authenticates itself (client secret, or subject and actor tokens); the request's own credential plays no part",
			req: func(f *scopeFixture, _ scopeCaller) scopeRequest {
				// A form without a grant: the answer does not depend on who
				// sends it.
				return scopeRequest{path: "/oauth/token", body: "grant_type=password",
					header: http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}}
			},
			want: same(outcome{http.StatusBadRequest, ""}),
		},
		"POST /v1/auth/password/forgot": {
			open: "public: answers every address alike; the link goes to the mailbox, and the request's own credential plays no part",
			req:  at("/v1/auth/password/forgot", map[string]any{"email": "nobody@scopes.example"}),
			want: same(outcome{http.StatusAccepted, ""}),
		},
		"POST /v1/auth/password/reset": {
			open: "public: the reset token in the body is the credential; the request's own plays no part",
			req:  at("/v1/auth/password/reset", map[string]any{"token": "tgpwr_not-a-token", "new_password": "x"}),
			want: same(outcome{http.StatusBadRequest, "invalid_reset_token"}),
		},
		// The current password (wrong here) decides, after the session.
		"POST /v1/auth/password/change": {
			req:  at("/v1/auth/password/change", map[string]any{"current_password": "not the password", "new_password": "x"}),
			want: [3]outcome{{http.StatusForbidden, "session_required"}, {http.StatusForbidden, "session_required"}, {http.StatusForbidden, "wrong_password"}},
		},
		"POST /v1/auth/signup": {
			open: "public: sign-up takes no credential (off by default: the answer does not depend on the caller)",
			req:  at("/v1/auth/signup", map[string]any{"email": "new@scopes.example", "password": "a long enough passphrase"}),
			want: same(outcome{http.StatusForbidden, "signup_disabled"}),
		},
		"POST /v1/auth/verify": {
			open: "public: the verification token in the body is the credential; the request's own plays no part",
			req:  at("/v1/auth/verify", map[string]any{"token": "tgver_not-a-token"}),
			want: same(outcome{http.StatusBadRequest, "invalid_verification_token"}),
		},
		"POST /v1/auth/mfa": {
			open: "public: the mfa_token in the body is the credential; the request's own plays no part",
			req:  at("/v1/auth/mfa", map[string]any{"mfa_token": "tgmfa_not-a-token", "code": "123456"}),
			want: same(outcome{http.StatusBadRequest, "invalid_mfa_token"}),
		},
		"POST /v1/auth/mfa/totp/enrol": {
			open: "public: the mfa_token in the body is the credential; the request's own plays no part",
			req:  at("/v1/auth/mfa/totp/enrol", map[string]any{"mfa_token": "tgmfa_not-a-token"}),
			want: same(outcome{http.StatusBadRequest, "invalid_mfa_token"}),
		},
		"POST /v1/auth/mfa/totp/confirm": {
			open: "public: the mfa_token in the body is the credential; the request's own plays no part",
			req:  at("/v1/auth/mfa/totp/confirm", map[string]any{"mfa_token": "tgmfa_not-a-token", "code": "123456"}),
			want: same(outcome{http.StatusBadRequest, "invalid_mfa_token"}),
		},
		"POST /v1/users/me/mfa/totp": {req: at("/v1/users/me/mfa/totp", nil), want: sessionOnly(http.StatusOK)},
		// The factor the session has not got decides, after the session.
		"POST /v1/users/me/mfa/totp/confirm": {
			req:  at("/v1/users/me/mfa/totp/confirm", map[string]any{"code": "123456"}),
			want: [3]outcome{{http.StatusForbidden, "session_required"}, {http.StatusForbidden, "session_required"}, {http.StatusNotFound, "totp_not_enrolled"}},
		},
		"POST /v1/users/me/mfa/totp/disable": {
			req:  at("/v1/users/me/mfa/totp/disable", map[string]any{"password": "not the password"}),
			want: [3]outcome{{http.StatusForbidden, "session_required"}, {http.StatusForbidden, "session_required"}, {http.StatusNotFound, "totp_not_enrolled"}},
		},
		"POST /v1/auth/mfa/webauthn": {
			open: "public: the mfa_token in the body is the credential; the request's own plays no part",
			req:  at("/v1/auth/mfa/webauthn", map[string]any{"mfa_token": "tgmfa_not-a-token"}),
			want: same(outcome{http.StatusBadRequest, "invalid_mfa_token"}),
		},
		"POST /v1/auth/mfa/webauthn/enrol": {
			open: "public: the mfa_token in the body is the credential; the request's own plays no part",
			req:  at("/v1/auth/mfa/webauthn/enrol", map[string]any{"mfa_token": "tgmfa_not-a-token"}),
			want: same(outcome{http.StatusBadRequest, "invalid_mfa_token"}),
		},
		"POST /v1/auth/mfa/webauthn/confirm": {
			open: "public: the mfa_token in the body is the credential; the request's own plays no part",
			req:  at("/v1/auth/mfa/webauthn/confirm", map[string]any{"mfa_token": "tgmfa_not-a-token", "credential": map[string]any{"id": "x"}}),
			want: same(outcome{http.StatusBadRequest, "invalid_passkey"}),
		},
		"POST /v1/auth/passkey/begin": {
			open: "public: a passwordless sign-in begins before anyone is known",
			req:  at("/v1/auth/passkey/begin", nil),
			want: same(outcome{http.StatusOK, ""}),
		},
		"POST /v1/auth/passkey/finish": {
			open: "public: the passkey's answer is the credential; the request's own plays no part",
			req:  at("/v1/auth/passkey/finish", map[string]any{"credential": map[string]any{"id": "x"}}),
			want: same(outcome{http.StatusBadRequest, "invalid_passkey"}),
		},
		"POST /v1/users/me/passkeys/register/begin": {req: at("/v1/users/me/passkeys/register/begin", nil), want: sessionOnly(http.StatusOK)},
		// The answer the session has not got decides, after the session.
		"POST /v1/users/me/passkeys/register/finish": {
			req:  at("/v1/users/me/passkeys/register/finish", map[string]any{"credential": map[string]any{"id": "x"}}),
			want: [3]outcome{{http.StatusForbidden, "session_required"}, {http.StatusForbidden, "session_required"}, {http.StatusBadRequest, "invalid_passkey"}},
		},
		"POST /v1/users/me/passkeys/reauth/begin": {
			req:  at("/v1/users/me/passkeys/reauth/begin", nil),
			want: [3]outcome{{http.StatusForbidden, "session_required"}, {http.StatusForbidden, "session_required"}, {http.StatusNotFound, "passkey_not_found"}},
		},
		"PATCH /v1/users/me/passkeys/{id}": {
			req:  at("/v1/users/me/passkeys/"+ids.New(), map[string]any{"name": "mine"}),
			want: [3]outcome{{http.StatusForbidden, "session_required"}, {http.StatusForbidden, "session_required"}, {http.StatusNotFound, "passkey_not_found"}},
		},
		"POST /v1/users/me/passkeys/{id}/delete": {
			req:  at("/v1/users/me/passkeys/"+ids.New()+"/delete", map[string]any{"password": "not the password"}),
			want: [3]outcome{{http.StatusForbidden, "session_required"}, {http.StatusForbidden, "session_required"}, {http.StatusNotFound, "passkey_not_found"}},
		},
		"POST /v1/users/me/mfa/recovery-codes": {
			req:  at("/v1/users/me/mfa/recovery-codes", map[string]any{"password": "not the password"}),
			want: [3]outcome{{http.StatusForbidden, "session_required"}, {http.StatusForbidden, "session_required"}, {http.StatusNotFound, "totp_not_enrolled"}},
		},
		"POST /v1/auth/logout": {req: at("/v1/auth/logout", nil), want: sessionOnly(http.StatusNoContent)},
		"POST /v1/auth/switch-tenant": {req: func(f *scopeFixture, _ scopeCaller) scopeRequest {
			return scopeRequest{path: "/v1/auth/switch-tenant", body: map[string]any{"tenant_id": f.tenant}}
		}, want: sessionOnly(http.StatusOK)},
		"POST /v1/tenants": {
			req: func(f *scopeFixture, _ scopeCaller) scopeRequest {
				return scopeRequest{path: "/v1/tenants", body: map[string]any{"slug": "new-" + f.tenant}}
			},
			want: sessionOnly(http.StatusCreated),
		},
		"POST /v1/auth/introspect": {
			req: func(f *scopeFixture, _ scopeCaller) scopeRequest {
				return scopeRequest{path: "/v1/auth/introspect", body: map[string]any{"token": f.narrowKey}}
			},
			want: same(outcome{http.StatusForbidden, "introspection_not_allowed"}),
		},

		"POST /v1/api-keys":             {req: at("/v1/api-keys", map[string]any{"name": "another", "scopes": []string{"tenant:read"}}), want: deniedBut(http.StatusCreated)},
		"PATCH /v1/api-keys/{id}":       {req: ownKey("", map[string]any{"rate_limit": "5/1m"}), want: platformOnly},
		"DELETE /v1/api-keys/{id}":      {req: ownKey("", nil), want: deniedBut(http.StatusNoContent)},
		"POST /v1/api-keys/{id}/rotate": {req: ownKey("/rotate", nil), want: deniedBut(http.StatusOK)},

		"DELETE /v1/users/me/sessions/{id}": {
			req: func(f *scopeFixture, _ scopeCaller) scopeRequest {
				return scopeRequest{path: "/v1/users/me/sessions/" + f.otherSession}
			},
			want: sessionOnly(http.StatusNoContent),
		},
		"DELETE /v1/tenants/{id}/sessions/{sid}": {
			req: func(f *scopeFixture, c scopeCaller) scopeRequest {
				return tenantPath("/sessions/"+f.otherSession)(f, c)
			},
			want: deniedBut(http.StatusNoContent),
		},
		"PATCH /v1/users/{id}": {
			req: func(f *scopeFixture, _ scopeCaller) scopeRequest {
				return scopeRequest{path: "/v1/users/" + f.holder.ID, body: map[string]any{"status": "disabled"}}
			},
			want: platformOnly,
		},
		"POST /v1/ratelimit/check":         {req: at("/v1/ratelimit/check", map[string]any{"name": "x", "key": "y"}), want: same(outcome{http.StatusForbidden, "scope_required"})},
		"POST /v1/tenants/{id}/deletion":   {req: withBody(tenantPath("/deletion"), fixed(map[string]any{"confirm": "x"})), want: platformOnly},
		"DELETE /v1/tenants/{id}/deletion": {req: tenantPath("/deletion"), want: platformOnly},
		"PUT /v1/tenants/{id}/rate-limits": {req: withBody(tenantPath("/rate-limits"), fixed(map[string]any{"limits": map[string]any{}})), want: platformOnly},
		"PUT /v1/tenants/{id}/quotas":      {req: withBody(tenantPath("/quotas"), fixed(map[string]any{"quotas": []any{}})), want: platformOnly},
		"PUT /v1/tenants/{id}/meters":      {req: withBody(tenantPath("/meters"), fixed(map[string]any{"meters": []any{}})), want: deniedBut(http.StatusOK)},

		"POST /v1/services":                    {req: at("/v1/services", map[string]any{"name": "mine"}), want: platformOnly},
		"PATCH /v1/services/{id}":              {req: at(service, map[string]any{"description": "mine"}), want: platformOnly},
		"DELETE /v1/services/{id}":             {req: at(service, nil), want: platformOnly},
		"POST /v1/services/{id}/rotate-secret": {req: at(service+"/rotate-secret", nil), want: platformOnly},

		"PATCH /v1/tenants/{id}": {req: withBody(tenantPath(""), fixed(map[string]any{"name": "renamed"})), want: deniedBut(http.StatusOK)},
		"POST /v1/tenants/{id}/members": {
			req: withBody(tenantPath("/members"), func(f *scopeFixture) any {
				return map[string]any{"actor_id": f.stranger.ActorID(), "roles": []string{"member"}}
			}),
			want: deniedBut(http.StatusCreated),
		},
		"PATCH /v1/tenants/{id}/members/{actor_id}": {
			req: func(f *scopeFixture, c scopeCaller) scopeRequest {
				return withBody(tenantPath("/members/"+f.holder.ActorID()), fixed(map[string]any{"roles": []string{"admin"}}))(f, c)
			},
			want: deniedBut(http.StatusOK),
		},
		"DELETE /v1/tenants/{id}/members/{actor_id}": {
			req: func(f *scopeFixture, c scopeCaller) scopeRequest {
				return tenantPath("/members/"+f.holder.ActorID())(f, c)
			},
			want: deniedBut(http.StatusNoContent),
		},
		"POST /v1/tenants/{id}/invitations": {
			req: withBody(tenantPath("/invitations"), func(f *scopeFixture) any {
				return map[string]any{"email": "someone.new@scopes.example", "roles": []string{"member"}}
			}),
			want: deniedBut(http.StatusAccepted),
		},
		"DELETE /v1/tenants/{id}/invitations/{inv}": {
			req: func(f *scopeFixture, c scopeCaller) scopeRequest {
				return tenantPath("/invitations/"+f.invitation)(f, c)
			},
			want: deniedBut(http.StatusNoContent),
		},
		"POST /v1/tenants/{id}/invitations/{inv}/resend": {
			req: func(f *scopeFixture, c scopeCaller) scopeRequest {
				return tenantPath("/invitations/"+f.invitation+"/resend")(f, c)
			},
			want: deniedBut(http.StatusAccepted),
		},
		// Joining with an existing account takes the person's own session;
		// the token (malformed here) decides the rest.
		"POST /v1/invitations/accept": {
			req:  at("/v1/invitations/accept", map[string]any{"token": "tginv_not-a-token"}),
			want: sessionOnly(http.StatusBadRequest),
		},
		"PUT /v1/tenants/{id}/roles/{name}":    {req: withBody(tenantPath("/roles/auditor"), fixed(map[string]any{"permissions": []string{}})), want: deniedBut(http.StatusOK)},
		"DELETE /v1/tenants/{id}/roles/{name}": {req: tenantPath("/roles/spare"), want: deniedBut(http.StatusNoContent)},

		"POST /v1/tenants/{id}/agents": {req: withBody(tenantPath("/agents"), fixed(map[string]any{"name": "another"})), want: deniedBut(http.StatusCreated)},
		"PATCH /v1/tenants/{id}/agents/{agent_id}": {
			req: func(f *scopeFixture, c scopeCaller) scopeRequest {
				return withBody(tenantPath("/agents/"+f.agent), fixed(map[string]any{"status": "disabled"}))(f, c)
			},
			want: deniedBut(http.StatusOK),
		},
		"DELETE /v1/tenants/{id}/agents/{agent_id}": {
			req:  func(f *scopeFixture, c scopeCaller) scopeRequest { return tenantPath("/agents/"+f.agent)(f, c) },
			want: deniedBut(http.StatusNoContent),
		},

		"POST /v1/tenants/{id}/webhooks": {
			req: withBody(tenantPath("/webhooks"), fixed(map[string]any{"url": "https://hooks.example.com/in"})), want: deniedBut(http.StatusCreated),
		},
		"PATCH /v1/tenants/{id}/webhooks/{webhook_id}": {
			req: func(f *scopeFixture, c scopeCaller) scopeRequest {
				return withBody(tenantPath("/webhooks/"+f.webhook), fixed(map[string]any{"description": "mine"}))(f, c)
			},
			want: deniedBut(http.StatusOK),
		},
		"DELETE /v1/tenants/{id}/webhooks/{webhook_id}": {
			req:  func(f *scopeFixture, c scopeCaller) scopeRequest { return tenantPath("/webhooks/"+f.webhook)(f, c) },
			want: deniedBut(http.StatusNoContent),
		},
		"POST /v1/tenants/{id}/webhooks/{webhook_id}/rotate-secret": {
			req: func(f *scopeFixture, c scopeCaller) scopeRequest {
				return tenantPath("/webhooks/"+f.webhook+"/rotate-secret")(f, c)
			},
			want: deniedBut(http.StatusOK),
		},
		"POST /v1/tenants/{id}/webhooks/{webhook_id}/test": {
			req: func(f *scopeFixture, c scopeCaller) scopeRequest {
				return tenantPath("/webhooks/"+f.webhook+"/test")(f, c)
			},
			want: deniedBut(http.StatusAccepted),
		},
		"POST /v1/tenants/{id}/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver": {
			req: func(f *scopeFixture, c scopeCaller) scopeRequest {
				return tenantPath("/webhooks/"+f.webhook+"/deliveries/"+f.delivery+"/redeliver")(f, c)
			},
			want: deniedBut(http.StatusAccepted),
		},

		"POST /v1/authorize":        {open: aboutItself, req: at("/v1/authorize", ask("READ", "channel", "c1")), want: permit},
		"POST /v1/authorize/batch":  {open: aboutItself, req: at("/v1/authorize/batch", map[string]any{"requests": []any{ask("READ", "channel", "c1")}}), want: permit},
		"POST /v1/authorize/lookup": {open: aboutItself, req: at("/v1/authorize/lookup", map[string]any{"action": "READ", "resource_type": "channel"}), want: permit},
		"PUT /v1/tenants/{id}/resources/{type}/{rid}": {
			req: withBody(tenantPath("/resources/channel/c2"), fixed(map[string]any{"attrs": map[string]any{}})), want: deniedBut(http.StatusOK),
		},
		"DELETE /v1/tenants/{id}/resources/{type}/{rid}": {req: tenantPath("/resources/channel/c1"), want: deniedBut(http.StatusNoContent)},
		"POST /v1/tenants/{id}/resources:batch": {
			req: withBody(tenantPath("/resources:batch"), fixed(map[string]any{"resources": []any{map[string]any{"type": "channel", "id": "c3"}}})), want: deniedBut(http.StatusOK),
		},
		"PUT /v1/tenants/{id}/policies": {req: withBody(tenantPath("/policies"), fixed(map[string]any{"text": ""})), want: deniedBut(http.StatusOK)},
		"POST /v1/tenants/{id}/policies/versions/{n}/rollback": {
			req: func(f *scopeFixture, c scopeCaller) scopeRequest {
				return tenantPath(fmt.Sprintf("/policies/versions/%d/rollback", f.policyVersion))(f, c)
			},
			want: deniedBut(http.StatusOK),
		},
		"PUT /v1/tenants/{id}/schema": {req: withBody(tenantPath("/schema"), fixed(map[string]any{"text": ""})), want: deniedBut(http.StatusOK)},
		"POST /v1/tenants/{id}/schema/versions/{n}/rollback": {
			req: func(f *scopeFixture, c scopeCaller) scopeRequest {
				return tenantPath(fmt.Sprintf("/schema/versions/%d/rollback", f.schemaVersion))(f, c)
			},
			want: deniedBut(http.StatusOK),
		},
		"POST /v1/policies/validate": {
			req: func(f *scopeFixture, _ scopeCaller) scopeRequest {
				return scopeRequest{path: "/v1/policies/validate", body: map[string]any{"text": "", "tenant_id": f.tenant}}
			},
			want: deniedBut(http.StatusOK),
		},

		"POST /v1/usage/events": {
			req: func(f *scopeFixture, _ scopeCaller) scopeRequest {
				return scopeRequest{path: "/v1/usage/events", header: http.Header{"Content-Type": {"application/cloudevents+json"}},
					body: map[string]any{"specversion": "1.0", "id": "x", "source": "s", "type": "usage.llm", "subject": f.holder.ActorID(),
						"time": "2025-01-01T00:00:00Z", "data": map[string]any{"model": "m", "input_tokens": 1}}}
			},
			// Usage is reported by machines: a key needs usage:write, and
			// people's sessions and delegated tokens never report.
			want: [3]outcome{{http.StatusForbidden, "permission_denied"}, {http.StatusForbidden, "usage_writer_required"}, {http.StatusForbidden, "usage_writer_required"}},
		},

		"POST /v1/gateway/auth":          {open: gateway, req: gatewayNoPath("POST"), want: permit},
		"PUT /v1/gateway/auth":           {open: gateway, req: gatewayNoPath("PUT"), want: permit},
		"PATCH /v1/gateway/auth":         {open: gateway, req: gatewayNoPath("PATCH"), want: permit},
		"DELETE /v1/gateway/auth":        {open: gateway, req: gatewayNoPath("DELETE"), want: permit},
		"POST /v1/gateway/auth/{path}":   {open: gateway, req: at("/v1/gateway/auth/docs/c1", nil), want: permit},
		"PUT /v1/gateway/auth/{path}":    {open: gateway, req: at("/v1/gateway/auth/docs/c1", nil), want: permit},
		"PATCH /v1/gateway/auth/{path}":  {open: gateway, req: at("/v1/gateway/auth/docs/c1", nil), want: permit},
		"DELETE /v1/gateway/auth/{path}": {open: gateway, req: at("/v1/gateway/auth/docs/c1", nil), want: permit},
	}
}

// scopeGatewayTable maps every method on /docs/{id} to READ on a channel.
const scopeGatewayTable = `
routes:
  - {method: POST,   path: "/docs/{id}", action: READ, resource: {type: channel, id: "{id}"}}
  - {method: PUT,    path: "/docs/{id}", action: READ, resource: {type: channel, id: "{id}"}}
  - {method: PATCH,  path: "/docs/{id}", action: READ, resource: {type: channel, id: "{id}"}}
  - {method: DELETE, path: "/docs/{id}", action: READ, resource: {type: channel, id: "{id}"}}
`

// servedMutatingRoutes reads the OpenAPI document the server serves and
// returns its POST, PUT, PATCH and DELETE operations as "METHOD /path".
func servedMutatingRoutes(t *testing.T, ts *testServer) []string {
	t.Helper()
	r := ts.do("GET", "/openapi.json", "", nil)
	expect(t, r, http.StatusOK, "")
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(r.raw, &doc); err != nil {
		t.Fatal(err)
	}
	var out []string
	for path, item := range doc.Paths {
		for method := range item {
			if m := strings.ToUpper(method); slices.Contains([]string{"POST", "PUT", "PATCH", "DELETE"}, m) {
				out = append(out, m+" "+path)
			}
		}
	}
	slices.Sort(out)
	return out
}

// TestScopesBindOnOwnObjects runs the scope matrix.
func TestScopesBindOnOwnObjects(t *testing.T) {
	matrix := scopeMatrix()
	// The table itself: a scoped credential is refused with 403 and a code
	// unless the row says why the route needs no permission.
	for route, row := range matrix {
		for _, c := range []scopeCaller{scopedKey, scopedDelegation} {
			if o := row.want[c]; row.open == "" && (o.status != http.StatusForbidden || o.code == "") {
				t.Errorf("%s: the %s must be refused with 403 and a code, or the row must say why the route needs no permission; want %v", route, c, o)
			}
		}
	}
	routes := writeRoutes(t, "routes.yaml", scopeGatewayTable)
	forEachBackendWithConfig(t, func(c *config.Config) { c.GatewayRoutes = routes }, func(t *testing.T, ts *testServer) {
		served := servedMutatingRoutes(t, ts)
		if len(served) == 0 {
			t.Fatal("the served OpenAPI document has no mutating route")
		}
		for _, route := range served {
			if _, ok := matrix[route]; !ok {
				t.Errorf("%s is in the OpenAPI document but not in the scope matrix: classify it", route)
			}
		}
		for route := range matrix {
			if !slices.Contains(served, route) {
				t.Errorf("the scope matrix has %s, which the OpenAPI document does not", route)
			}
		}
		for n, route := range served {
			row, ok := matrix[route]
			if !ok {
				continue
			}
			runScopeRow(t, ts, n, route, row)
		}
		t.Logf("scope matrix: %d routes × %d callers", len(served), len(scopeCallers))
	})
}

// auditReadMatrix extends the scope matrix to the audit log's reads: they
// change nothing, but what they reveal is bound by audit:read, which the
// tenant:read credentials lack and the holder (an admin) holds. Every
// operation of the served document under /v1/audit or naming audit must
// have a row.
func auditReadMatrix() map[string]scopeRow {
	denied := outcome{http.StatusForbidden, "audit_read_denied"}
	inTenant := func(path string) func(*scopeFixture, scopeCaller) scopeRequest {
		return func(f *scopeFixture, _ scopeCaller) scopeRequest {
			return scopeRequest{path: path + "?tenant_id=" + f.tenant}
		}
	}
	return map[string]scopeRow{
		"GET /v1/audit":        {req: inTenant("/v1/audit"), want: [3]outcome{denied, denied, {http.StatusOK, ""}}},
		"GET /v1/audit/export": {req: inTenant("/v1/audit/export"), want: [3]outcome{denied, denied, {http.StatusOK, ""}}},
		"GET /.well-known/audit-keys.json": {open: "publishes public keys to anyone, as the JWKS does",
			req: at("/.well-known/audit-keys.json", nil), want: same(outcome{http.StatusOK, ""})},
	}
}

func TestScopesBindOnAuditReads(t *testing.T) {
	matrix := auditReadMatrix()
	forEachBackend(t, func(t *testing.T, ts *testServer) {
		r := ts.do("GET", "/openapi.json", "", nil)
		var doc struct {
			Paths map[string]map[string]json.RawMessage `json:"paths"`
		}
		if err := json.Unmarshal(r.raw, &doc); err != nil {
			t.Fatal(err)
		}
		for path, item := range doc.Paths {
			for method := range item {
				route := strings.ToUpper(method) + " " + path
				if _, ok := matrix[route]; !ok && strings.Contains(path, "audit") {
					t.Errorf("%s is in the OpenAPI document but not in the audit read matrix: classify it", route)
				}
			}
		}
		n := 1000
		for route, row := range matrix {
			n++
			runScopeRow(t, ts, n, route, row)
		}
	})
}

// usageReadMatrix extends the scope matrix to the usage reads: what they
// reveal is bound by the policies' VIEW_USAGE and by usage:read, which the
// tenant:read credentials lack; the holder, an admin, views the tenant's
// usage. Every GET of the served document under /v1/usage must have a row.
func usageReadMatrix() map[string]scopeRow {
	denied := outcome{http.StatusForbidden, "usage_view_denied"}
	want := [3]outcome{denied, denied, {http.StatusOK, ""}}
	inTenant := func(path, query string, stream bool) func(*scopeFixture, scopeCaller) scopeRequest {
		return func(f *scopeFixture, _ scopeCaller) scopeRequest {
			return scopeRequest{path: path + "?tenant_id=" + f.tenant + query, stream: stream}
		}
	}
	return map[string]scopeRow{
		"GET /v1/usage":         {req: inTenant("/v1/usage", "&meter=tool_runs&from=2025-01-01T00:00:00Z&to=2025-01-02T00:00:00Z", false), want: want},
		"GET /v1/usage/summary": {req: inTenant("/v1/usage/summary", "", false), want: want},
		"GET /v1/usage/export":  {req: inTenant("/v1/usage/export", "", false), want: want},
		"GET /v1/usage/stream":  {req: inTenant("/v1/usage/stream", "&meter=tool_runs", true), want: want},
	}
}

func TestScopesBindOnUsageReads(t *testing.T) {
	matrix := usageReadMatrix()
	forEachBackend(t, func(t *testing.T, ts *testServer) {
		r := ts.do("GET", "/openapi.json", "", nil)
		var doc struct {
			Paths map[string]map[string]json.RawMessage `json:"paths"`
		}
		if err := json.Unmarshal(r.raw, &doc); err != nil {
			t.Fatal(err)
		}
		for path, item := range doc.Paths {
			if _, ok := item["get"]; ok && strings.HasPrefix(path, "/v1/usage") {
				if _, ok := matrix["GET "+path]; !ok {
					t.Errorf("GET %s is in the OpenAPI document but not in the usage read matrix: classify it", path)
				}
			}
		}
		n := 2000
		for route, row := range matrix {
			n++
			runScopeRow(t, ts, n, route, row)
		}
	})
}

// runScopeRow sends route's request as each caller, on a fixture of its
// own (numbered n), and checks each answer against the row.
func runScopeRow(t *testing.T, ts *testServer, n int, route string, row scopeRow) {
	t.Helper()
	method, _, _ := strings.Cut(route, " ")
	t.Run(route, func(t *testing.T) {
		f := newScopeFixture(t, ts, n)
		// The session goes last: it may change or end the objects (and its
		// logout ends the delegated token).
		for _, c := range scopeCallers {
			r := f.send(ts, c, method, row.req(f, c))
			want := row.want[c]
			if r.status != want.status || (want.code != "" && r.str("code") != want.code) {
				t.Errorf("%s: %d %s, want %d %s", c, r.status, r.raw, want.status, want.code)
			}
		}
	})
}
