package httpapi_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
)

func TestLoginRefreshLogout(t *testing.T) {
	forEachBackend(t, func(t *testing.T, ts *testServer) {
		w := newWorld(t, ts)
		login := ts.login(w.member.Email, "")
		if login.str("token_type") != "Bearer" || login.body["expires_in"].(float64) != 900 {
			t.Fatalf("login response: %s", login.raw)
		}
		access, refresh := login.str("access_token"), login.str("refresh_token")
		if !strings.HasPrefix(refresh, "tgr_") || len(refresh) < 40 {
			t.Fatalf("refresh token %q", refresh)
		}

		me := ts.do("GET", "/v1/auth/me", access, nil)
		expect(t, me, http.StatusOK, "")
		if me.str("actor_id") != w.member.ActorID() || me.str("tenant_id") != w.tenantA ||
			me.str("actor_type") != "human" || me.str("credential") != "session" {
			t.Fatalf("me = %s", me.raw)
		}
		if perms := me.body["permissions"].([]any); !slices.Contains(perms, any("tenant:read")) || slices.Contains(perms, any("members:write")) {
			t.Fatalf("member permissions = %v", perms)
		}

		// Refresh rotates: a new pair, and the old refresh token is spent.
		r1 := ts.do("POST", "/v1/auth/refresh", "", map[string]string{"refresh_token": refresh})
		expect(t, r1, http.StatusOK, "")
		if r1.str("refresh_token") == refresh || r1.str("session_id") != login.str("session_id") {
			t.Fatalf("refresh did not rotate within the session: %s", r1.raw)
		}
		expect(t, ts.do("GET", "/v1/auth/me", r1.str("access_token"), nil), http.StatusOK, "")

		// Reusing the spent token is theft: the whole family dies, including
		// the token that was legitimately rotated to and its access tokens.
		expect(t, ts.do("POST", "/v1/auth/refresh", "", map[string]string{"refresh_token": refresh}), http.StatusUnauthorized, "invalid_refresh_token")
		expect(t, ts.do("POST", "/v1/auth/refresh", "", map[string]string{"refresh_token": r1.str("refresh_token")}), http.StatusUnauthorized, "invalid_refresh_token")
		expect(t, ts.do("GET", "/v1/auth/me", r1.str("access_token"), nil), http.StatusUnauthorized, "token_revoked")
		expect(t, ts.do("GET", "/v1/auth/me", access, nil), http.StatusUnauthorized, "token_revoked")

		// Logout ends one session; others survive.
		a, b := ts.login(w.member.Email, ""), ts.login(w.member.Email, "")
		expect(t, ts.do("POST", "/v1/auth/logout", a.str("access_token"), nil), http.StatusNoContent, "")
		expect(t, ts.do("GET", "/v1/auth/me", a.str("access_token"), nil), http.StatusUnauthorized, "token_revoked")
		expect(t, ts.do("POST", "/v1/auth/refresh", "", map[string]string{"refresh_token": a.str("refresh_token")}), http.StatusUnauthorized, "invalid_refresh_token")
		expect(t, ts.do("GET", "/v1/auth/me", b.str("access_token"), nil), http.StatusOK, "")

		// Logout all ends every session of the user.
		c := ts.login(w.member.Email, "")
		expect(t, ts.do("POST", "/v1/auth/logout", c.str("access_token"), map[string]bool{"all": true}), http.StatusNoContent, "")
		for _, tok := range []string{b.str("access_token"), c.str("access_token"), w.memberTok} {
			expect(t, ts.do("GET", "/v1/auth/me", tok, nil), http.StatusUnauthorized, "token_revoked")
		}
		// Other users are untouched.
		expect(t, ts.do("GET", "/v1/auth/me", w.adminTok, nil), http.StatusOK, "")
	})
}

func TestLoginFailuresLookAlike(t *testing.T) {
	forEachBackend(t, func(t *testing.T, ts *testServer) {
		ts.user("known@example.com", false)
		wrong := ts.do("POST", "/v1/auth/login", "", map[string]string{"email": "known@example.com", "password": "not the password"})
		unknown := ts.do("POST", "/v1/auth/login", "", map[string]string{"email": "nobody@example.com", "password": "not the password"})
		expect(t, wrong, http.StatusUnauthorized, "invalid_credentials")
		expect(t, unknown, http.StatusUnauthorized, "invalid_credentials")
		if wrong.str("detail") != unknown.str("detail") {
			t.Fatalf("wrong password and unknown email differ: %s vs %s", wrong.raw, unknown.raw)
		}
	})
}

func TestLoginBadInput(t *testing.T) {
	forEachBackend(t, func(t *testing.T, ts *testServer) {
		ts.user("user@example.com", false)
		cases := []struct {
			name   string
			body   any
			status int
			code   string
		}{
			{"empty body", "", 400, "invalid_json"},
			{"malformed", `{"email": "user@example.com",`, 400, "invalid_json"},
			{"not an object", `["user@example.com"]`, 400, "invalid_type"},
			{"wrong type", `{"email": 42, "password": "x"}`, 400, "invalid_type"},
			{"unknown field", `{"email": "user@example.com", "password": "x", "admin": true}`, 400, "unknown_field"},
			{"trailing data", `{"email": "user@example.com", "password": "x"} {}`, 400, "invalid_json"},
			{"bad email", `{"email": "no-at-sign", "password": "x"}`, 400, "invalid_email"},
			{"huge body", `{"email": "` + strings.Repeat("a", 2<<20) + `"}`, 413, "body_too_large"},
			{"foreign tenant", `{"email": "user@example.com", "password": "` + testPassword + `", "tenant": "someone-else"}`, 403, "tenant_access_denied"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				expect(t, ts.do("POST", "/v1/auth/login", "", c.body), c.status, c.code)
			})
		}
		// None of it changed the store: the account still signs in.
		ts.login("user@example.com", "")
	})
}

func TestSwitchTenant(t *testing.T) {
	forEachBackend(t, func(t *testing.T, ts *testServer) {
		w := newWorld(t, ts)
		// The admin of A joins B as a member.
		expect(t, ts.do("POST", "/v1/tenants/"+w.tenantB+"/members", w.outBTok,
			map[string]any{"actor_id": w.admin.ActorID(), "roles": []string{"member"}}), http.StatusCreated, "")

		sw := ts.do("POST", "/v1/auth/switch-tenant", w.adminTok, map[string]string{"tenant_id": w.tenantB})
		expect(t, sw, http.StatusOK, "")
		me := ts.do("GET", "/v1/auth/me", sw.str("access_token"), nil)
		if me.str("tenant_id") != w.tenantB || me.body["roles"].([]any)[0] != "member" {
			t.Fatalf("after switch: %s", me.raw)
		}
		// The old session is over.
		expect(t, ts.do("GET", "/v1/auth/me", w.adminTok, nil), http.StatusUnauthorized, "token_revoked")

		// A tenant the caller does not belong to, and garbage, are refused.
		expect(t, ts.do("POST", "/v1/auth/switch-tenant", w.memberTok, map[string]string{"tenant_id": w.tenantB}), http.StatusForbidden, "tenant_access_denied")
		expect(t, ts.do("POST", "/v1/auth/switch-tenant", w.memberTok, map[string]string{"tenant_id": "'; --"}), http.StatusForbidden, "tenant_access_denied")
	})
}

func TestAuthenticationRequired(t *testing.T) {
	forEachBackend(t, func(t *testing.T, ts *testServer) {
		for _, c := range []struct{ method, path string }{
			{"GET", "/v1/auth/me"}, {"POST", "/v1/auth/logout"}, {"GET", "/v1/tenants"}, {"POST", "/v1/tenants"},
		} {
			r := ts.do(c.method, c.path, "", nil)
			expect(t, r, http.StatusUnauthorized, "missing_credential")
			if !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") {
				t.Fatalf("%s %s: no WWW-Authenticate", c.method, c.path)
			}
		}
	})
}
