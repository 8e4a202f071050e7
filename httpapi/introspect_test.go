package httpapi_test

import (
	"bytes"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// introspectForm asks about token with a form body, as RFC 7662 §2.1 does.
func introspectForm(ts *testServer, caller, token string) response {
	ts.t.Helper()
	return ts.postForm("/v1/auth/introspect", http.Header{"Authorization": {"Bearer " + caller}}, url.Values{"token": {token}})
}

func TestIntrospect(t *testing.T) {
	forEachBackend(t, func(t *testing.T, ts *testServer) {
		w := newWorld(t, ts)
		_, root := ts.platformAdmin("root@platform.example")
		svcID, svcSecret := registerService(t, ts, root, "gateway", "authz:check")
		svc := serviceToken(t, ts, svcID, svcSecret)
		keyID, key := createKey(t, ts, w.memberTok, map[string]any{"name": "k", "scopes": []string{"tenant:read"}})
		agent := createAgent(t, ts, w.memberTok, w.tenantA, "assistant")
		_, agentKey := createKey(t, ts, w.memberTok, map[string]any{"name": "a", "actor_id": "agent:" + agent, "scopes": []string{"tenant:read"}})
		delegated := exchange(t, ts, exchangeForm(w.memberTok, agentKey)).str("access_token")

		// A service asks, as JSON and as a form.
		for name, r := range map[string]response{
			"json": ts.do("POST", "/v1/auth/introspect", svc, map[string]string{"token": w.memberTok}),
			"form": introspectForm(ts, svc, w.memberTok),
		} {
			expect(t, r, http.StatusOK, "")
			actor, _ := r.body["actor"].(map[string]any)
			if r.body["active"] != true || r.str("token_type") != "access_token" || r.str("sub") != w.member.ActorID() ||
				r.str("tid") != w.tenantA || r.body["exp"] != jwtClaims(t, w.memberTok)["exp"] ||
				actor == nil || actor["actor_id"] != w.member.ActorID() || actor["credential"] != "session" ||
				r.header.Get("Cache-Control") != "no-store" {
				t.Fatalf("%s: %v %s", name, r.header, r.raw)
			}
			if scope := strings.Fields(r.str("scope")); len(scope) != 4 {
				t.Fatalf("%s: member's scope %q", name, r.str("scope"))
			}
		}

		k := ts.do("POST", "/v1/auth/introspect", svc, map[string]string{"token": "  " + key + "\n"})
		expect(t, k, http.StatusOK, "")
		if k.body["active"] != true || k.str("token_type") != "api_key" || k.str("sub") != w.member.ActorID() ||
			k.str("scope") != "tenant:read" || k.body["exp"] != nil || k.body["actor"].(map[string]any)["credential_id"] != keyID {
			t.Fatalf("key: %s", k.raw)
		}
		d := introspectForm(ts, svc, delegated)
		expect(t, d, http.StatusOK, "")
		if d.str("sub") != w.member.ActorID() || d.body["actor"].(map[string]any)["actor_id"] != "agent:"+agent ||
			d.body["actor"].(map[string]any)["on_behalf_of"] != w.member.ActorID() {
			t.Fatalf("delegated: %s", d.raw)
		}
		// Services may introspect each other's tokens too.
		if s := ts.do("POST", "/v1/auth/introspect", svc, map[string]string{"token": svc}); s.str("sub") != "service:gateway" {
			t.Fatalf("service: %s", s.raw)
		}

		// A platform admin may ask too.
		admin := ts.do("POST", "/v1/auth/introspect", root, map[string]string{"token": key})
		expect(t, admin, http.StatusOK, "")
		if admin.body["active"] != true {
			t.Fatalf("admin: %s", admin.raw)
		}

		// Anything inactive answers exactly {"active":false}, revealing nothing
		// (which tokens are inactive is credential.TestIntrospectAnswers).
		for name, tok := range map[string]string{"garbage": "not a token", "tampered key": flipLast(key)} {
			for how, r := range map[string]response{
				"json": ts.do("POST", "/v1/auth/introspect", svc, map[string]string{"token": tok}),
				"form": introspectForm(ts, svc, tok),
			} {
				expect(t, r, http.StatusOK, "")
				if got := string(bytes.TrimSpace(r.raw)); got != `{"active":false}` {
					t.Fatalf("%s (%s): %s", name, how, got)
				}
			}
		}

		// Nobody else may ask.
		for name, caller := range map[string]string{
			"member": w.memberTok, "owner": w.ownerTok, "member's key": key, "delegated": delegated,
		} {
			t.Run(name, func(t *testing.T) {
				expect(t, ts.send("POST", "/v1/auth/introspect", http.Header{"X-Api-Key": {caller}},
					map[string]string{"token": w.adminTok}), http.StatusForbidden, "introspection_not_allowed")
				expect(t, introspectForm(ts, caller, w.adminTok), http.StatusForbidden, "introspection_not_allowed")
			})
		}
		expect(t, ts.do("POST", "/v1/auth/introspect", "", map[string]string{"token": w.adminTok}), http.StatusUnauthorized, "missing_credential")

		for _, c := range []struct {
			name   string
			header http.Header
			body   any
			status int
			code   string
		}{
			{"no token", nil, map[string]string{}, 400, "token_required"},
			{"blank token", nil, map[string]string{"token": "   "}, 400, "token_required"},
			{"empty body", nil, "", 400, "invalid_json"},
			{"unknown field", nil, map[string]string{"token": "x", "tokn": "x"}, 400, "unknown_field"},
			{"token not a string", nil, `{"token": 1}`, 400, "invalid_type"},
			{"plain text", http.Header{"Content-Type": {"text/plain"}}, "token=x", 415, "unsupported_media_type"},
			{"malformed form", http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, "token=%zz", 400, "invalid_form"},
			{"empty form", http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, "", 400, "token_required"},
			{"huge form", http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, "token=" + strings.Repeat("a", 70<<10), 413, "body_too_large"},
		} {
			t.Run(c.name, func(t *testing.T) {
				h := http.Header{"Authorization": {"Bearer " + svc}}
				for k, v := range c.header {
					h[k] = v
				}
				expect(t, ts.send("POST", "/v1/auth/introspect", h, c.body), c.status, c.code)
			})
		}
	})
}

// flipLast changes a key's last character (never to itself).
func flipLast(key string) string {
	if strings.HasSuffix(key, "x") {
		return key[:len(key)-1] + "y"
	}
	return key[:len(key)-1] + "x"
}
