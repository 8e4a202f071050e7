package httpapi_test

import (
	"net/http"
	"net/url"
	"slices"
	"testing"
)

// exchange runs a token exchange, failing unless it succeeds, and returns
// the answer.
func exchange(t *testing.T, ts *testServer, form url.Values) response {
	t.Helper()
	r := ts.postForm("/oauth/token", nil, form)
	if r.status != http.StatusOK || r.str("access_token") == "" {
		t.Fatalf("token exchange: %d %s", r.status, r.raw)
	}
	return r
}

func TestTokenExchange(t *testing.T) {
	forEachBackend(t, func(t *testing.T, ts *testServer) {
		w := newWorld(t, ts)
		agent := createAgent(t, ts, w.memberTok, w.tenantA, "assistant")
		keyID, agentKey := createKey(t, ts, w.memberTok, map[string]any{
			"name": "assistant", "actor_id": "agent:" + agent, "scopes": []string{"agents:read", "members:read", "tenant:read"},
		})

		r := exchange(t, ts, exchangeForm(w.memberTok, agentKey))
		if r.str("token_type") != "Bearer" || r.str("issued_token_type") != tokenTypeAccess ||
			r.str("scope") != "agents:read members:read tenant:read" || r.header.Get("Cache-Control") != "no-store" {
			t.Fatalf("exchange: %v %s", r.header, r.raw)
		}
		delegated := r.str("access_token")

		// sub is the human, act.sub the agent (RFC 8693 §4.1); the token
		// names the agent's key and the human's session, and ends no later
		// than the human's token.
		c, subject := jwtClaims(t, delegated), jwtClaims(t, w.memberTok)
		act, _ := c["act"].(map[string]any)
		if c["sub"] != w.member.ActorID() || act == nil || act["sub"] != "agent:"+agent || act["act"] != nil ||
			c["tid"] != w.tenantA || c["act_type"] != "agent" || c["cid"] != keyID || c["sid"] != subject["sid"] {
			t.Fatalf("delegated claims: %v", c)
		}
		if exp, sexp := c["exp"].(float64), subject["exp"].(float64); exp > sexp || exp < c["iat"].(float64)+1 {
			t.Fatalf("delegated exp %v, subject exp %v", exp, sexp)
		}
		if r.body["expires_in"].(float64) > 900 {
			t.Fatalf("expires_in %v exceeds the access token TTL", r.body["expires_in"])
		}

		me := ts.do("GET", "/v1/auth/me", delegated, nil)
		expect(t, me, http.StatusOK, "")
		if me.str("actor_id") != "agent:"+agent || me.str("on_behalf_of") != w.member.ActorID() || me.str("actor_type") != "agent" ||
			me.str("credential") != "delegation" || me.str("tenant_id") != w.tenantA || me.str("credential_id") != keyID ||
			!slices.Equal(me.strs("permissions"), []string{"agents:read", "members:read", "tenant:read"}) {
			t.Fatalf("delegated me: %s", me.raw)
		}
		expect(t, ts.do("GET", "/v1/tenants/"+w.tenantA+"/members", delegated, nil), http.StatusOK, "")
		expect(t, ts.do("GET", "/v1/tenants/"+w.tenantA+"/roles", delegated, nil), http.StatusForbidden, "permission_denied")
		// Only the person acts as the person.
		for _, c := range []struct {
			method, path string
			body         any
		}{
			{"POST", "/v1/auth/logout", nil},
			{"POST", "/v1/auth/switch-tenant", map[string]string{"tenant_id": w.tenantB}},
			{"POST", "/v1/tenants", map[string]string{"slug": "delegated"}},
		} {
			expect(t, ts.do(c.method, c.path, delegated, c.body), http.StatusForbidden, "session_required")
		}
		expect(t, ts.do("GET", "/v1/tenants/"+w.tenantB, delegated, nil), http.StatusNotFound, "tenant_not_found")

		// A scope narrows the token; what neither holds is invalid_scope.
		narrow := exchange(t, ts, exchangeForm(w.memberTok, agentKey, "scope", "tenant:read"))
		if narrow.str("scope") != "tenant:read" || jwtClaims(t, narrow.str("access_token"))["scope"] != "tenant:read" {
			t.Fatalf("narrowed: %s", narrow.raw)
		}
		expectOAuth(t, ts.postForm("/oauth/token", nil, exchangeForm(w.memberTok, agentKey, "scope", "tenant:read roles:read")), 400, "invalid_scope")
		expectOAuth(t, ts.postForm("/oauth/token", nil, exchangeForm(w.memberTok, agentKey, "scope", "members:write")), 400, "invalid_scope")

		const issued = `tollgate_oauth_token_requests_total{grant_type="token_exchange",outcome="issued"}`
		if got := ts.metric(issued); got != 2 {
			t.Fatalf("%s = %v, want 2", issued, got)
		}

		// Revoking the agent's key ends every token delegated with it.
		expect(t, ts.do("DELETE", "/v1/api-keys/"+keyID, w.memberTok, nil), http.StatusNoContent, "")
		expect(t, ts.do("GET", "/v1/auth/me", delegated, nil), http.StatusUnauthorized, "token_revoked")
		expect(t, ts.do("GET", "/v1/auth/me", narrow.str("access_token"), nil), http.StatusUnauthorized, "token_revoked")
		expectOAuth(t, ts.postForm("/oauth/token", nil, exchangeForm(w.memberTok, agentKey)), 400, "invalid_grant")
		// The human's own session is untouched.
		expect(t, ts.do("GET", "/v1/auth/me", w.memberTok, nil), http.StatusOK, "")
	})
}

func TestTokenExchangeRefused(t *testing.T) {
	forEachBackend(t, func(t *testing.T, ts *testServer) {
		w := newWorld(t, ts)
		agent := createAgent(t, ts, w.memberTok, w.tenantA, "member's agent")
		_, agentKey := createKey(t, ts, w.memberTok, map[string]any{"name": "k", "actor_id": "agent:" + agent, "scopes": []string{"tenant:read"}})
		bAgent := createAgent(t, ts, w.outBTok, w.tenantB, "b's agent")
		_, bAgentKey := createKey(t, ts, w.outBTok, map[string]any{"name": "k", "actor_id": "agent:" + bAgent, "scopes": []string{"tenant:read"}})
		_, otherTok := addMember(t, ts, w.ownerTok, w.tenantA, "other@a.example", "member")
		for _, c := range []struct {
			name   string
			form   url.Values
			status int
			code   string
		}{
			{"agent of another tenant", exchangeForm(w.memberTok, bAgentKey), 400, "invalid_grant"},
			{"B's owner to A's agent", exchangeForm(w.outBTok, agentKey), 400, "invalid_grant"},
			{"neither owner nor agents:write", exchangeForm(otherTok, agentKey), 400, "unauthorized_client"},
			{"subject token is garbage", exchangeForm("e30.e30.e30", agentKey), 400, "invalid_grant"},
			{"missing subject token", exchangeForm(w.memberTok, agentKey, "subject_token", ""), 400, "invalid_request"},
			{"unknown grant urn", exchangeForm(w.memberTok, agentKey, "grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"), 400, "unsupported_grant_type"},
		} {
			t.Run(c.name, func(t *testing.T) {
				r := ts.postForm("/oauth/token", nil, c.form)
				expectOAuth(t, r, c.status, c.code)
				if r.str("access_token") != "" {
					t.Fatalf("refused exchange issued a token: %s", r.raw)
				}
			})
		}
		const refused = `tollgate_oauth_token_requests_total{grant_type="token_exchange",outcome="unauthorized_client"}`
		if got := ts.metric(refused); got != 1 {
			t.Fatalf("%s = %v, want 1", refused, got)
		}
	})
}
