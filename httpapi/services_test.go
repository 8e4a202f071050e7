package httpapi_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/tollgate/tollgate/ids"
)

// registerService registers a service as the platform admin token and
// returns its client id and secret.
func registerService(t *testing.T, ts *testServer, admin, name string, scopes ...string) (clientID, clientSecret string) {
	t.Helper()
	if scopes == nil {
		scopes = []string{}
	}
	r := ts.do("POST", "/v1/services", admin, map[string]any{"name": name, "scopes": scopes, "tenants": []string{"*"}})
	expect(t, r, http.StatusCreated, "")
	return r.str("client_id"), r.str("client_secret")
}

// serviceToken runs the client credentials grant with HTTP Basic, failing
// unless it succeeds, and returns the access token.
func serviceToken(t *testing.T, ts *testServer, clientID, clientSecret string) string {
	t.Helper()
	r := ts.postForm("/oauth/token", basicAuth(clientID, clientSecret), url.Values{"grant_type": {"client_credentials"}})
	if r.status != http.StatusOK || r.str("access_token") == "" {
		t.Fatalf("client credentials: %d %s", r.status, r.raw)
	}
	return r.str("access_token")
}

func TestServiceRegistry(t *testing.T) {
	forEachBackend(t, func(t *testing.T, ts *testServer) {
		w := newWorld(t, ts)
		_, root := ts.platformAdmin("root@platform.example")
		created := ts.do("POST", "/v1/services", root, map[string]any{
			"name": "messaging", "description": "sends mail", "scopes": []string{"ratelimit:check", "authz:check", "authz:check"},
			"tenants": []string{w.tenantA}, "resource_types": []string{"tool", "channel"},
		})
		expect(t, created, http.StatusCreated, "")
		id, secret := created.str("id"), created.str("client_secret")
		if created.str("client_id") != id || created.str("actor_id") != "service:messaging" || created.str("status") != "active" ||
			!strings.HasPrefix(secret, "tgcs_live_") || created.header.Get("Cache-Control") != "no-store" ||
			created.header.Get("Location") != "/v1/services/"+id ||
			!slices.Equal(created.strs("scopes"), []string{"authz:check", "ratelimit:check"}) ||
			!slices.Equal(created.strs("tenants"), []string{w.tenantA}) || !slices.Equal(created.strs("resource_types"), []string{"channel", "tool"}) {
			t.Fatalf("create: %v %s", created.header, created.raw)
		}

		got := ts.do("GET", "/v1/services/"+id, root, nil)
		expect(t, got, http.StatusOK, "")
		list := ts.do("GET", "/v1/services", root, nil)
		expect(t, list, http.StatusOK, "")
		for _, r := range []response{got, list} {
			if strings.Contains(string(r.raw), secret) || strings.Contains(string(r.raw), "client_secret") {
				t.Fatalf("the secret leaked: %s", r.raw)
			}
		}
		if items := list.items(); len(items) != 1 || items[0]["name"] != "messaging" {
			t.Fatalf("list: %s", list.raw)
		}

		patched := ts.do("PATCH", "/v1/services/"+id, root, map[string]any{"description": "sends mail and SMS", "scopes": []string{"authz:check"}})
		expect(t, patched, http.StatusOK, "")
		if patched.str("description") != "sends mail and SMS" || !slices.Equal(patched.strs("scopes"), []string{"authz:check"}) || patched.str("name") != "messaging" {
			t.Fatalf("patch: %s", patched.raw)
		}

		// Pagination over several services.
		registerService(t, ts, root, "agent-runtime")
		registerService(t, ts, root, "tool-registry")
		seen := map[string]bool{}
		cursor := ""
		for pages := 0; ; pages++ {
			r := ts.do("GET", "/v1/services?limit=2&cursor="+cursor, root, nil)
			expect(t, r, http.StatusOK, "")
			for _, it := range r.items() {
				seen[it["name"].(string)] = true
			}
			if cursor = r.str("next_cursor"); cursor == "" {
				break
			}
			if pages > 10 {
				t.Fatal("pagination does not end")
			}
		}
		if len(seen) != 3 {
			t.Fatalf("listed %v", seen)
		}

		// Only a platform admin's own session manages services.
		for _, c := range []struct {
			method, path string
			body         any
		}{
			{"POST", "/v1/services", map[string]any{"name": "rogue"}},
			{"GET", "/v1/services", nil},
			{"GET", "/v1/services/" + id, nil},
			{"PATCH", "/v1/services/" + id, map[string]any{"status": "disabled"}},
			{"DELETE", "/v1/services/" + id, nil},
			{"POST", "/v1/services/" + id + "/rotate-secret", nil},
		} {
			t.Run(c.method+" "+c.path, func(t *testing.T) {
				expect(t, ts.do(c.method, c.path, w.ownerTok, c.body), http.StatusForbidden, "platform_admin_required")
				expect(t, ts.do(c.method, c.path, "", c.body), http.StatusUnauthorized, "missing_credential")
			})
		}
		// None of it changed the service.
		got = ts.do("GET", "/v1/services/"+id, root, nil)
		if got.str("status") != "active" {
			t.Fatalf("service changed: %s", got.raw)
		}
		serviceToken(t, ts, id, secret)
	})
}

func TestServiceBadInput(t *testing.T) {
	forEachBackend(t, func(t *testing.T, ts *testServer) {
		ts.user("someone@example.com", false)
		_, root := ts.platformAdmin("root@platform.example")
		id, _ := registerService(t, ts, root, "messaging", "authz:check")
		for _, c := range []struct {
			name, method, path string
			body               any
			status             int
			code               string
		}{
			{"taken name", "POST", "/v1/services", map[string]any{"name": "messaging", "tenants": []string{"*"}}, 409, "service_name_taken"},
			{"missing name", "POST", "/v1/services", map[string]any{"scopes": []string{}}, 400, "invalid_service_name"},
			{"secret in body", "POST", "/v1/services", map[string]any{"name": "x-svc", "client_secret": "mine"}, 400, "unknown_field"},
			{"empty body", "POST", "/v1/services", "", 400, "invalid_json"},
			{"rename", "PATCH", "/v1/services/" + id, map[string]any{"name": "other"}, 400, "unknown_field"},
			{"missing service", "GET", "/v1/services/" + ids.New(), nil, 404, "service_not_found"},
			{"negative grace", "POST", "/v1/services/" + id + "/rotate-secret", map[string]any{"grace_period_seconds": -5}, 400, "invalid_grace_period"},
		} {
			t.Run(c.name, func(t *testing.T) {
				expect(t, ts.do(c.method, c.path, root, c.body), c.status, c.code)
			})
		}
		got := ts.do("GET", "/v1/services/"+id, root, nil)
		if got.str("status") != "active" || !slices.Equal(got.strs("scopes"), []string{"authz:check"}) {
			t.Fatalf("bad input changed the service: %s", got.raw)
		}
		if n := len(ts.do("GET", "/v1/services", root, nil).items()); n != 1 {
			t.Fatalf("bad input created services: %d", n)
		}
	})
}

func TestClientCredentials(t *testing.T) {
	forEachBackend(t, func(t *testing.T, ts *testServer) {
		_, root := ts.platformAdmin("root@platform.example")
		id, sec := registerService(t, ts, root, "messaging", "authz:check", "ratelimit:check")
		otherID, otherSecret := registerService(t, ts, root, "other")

		check := func(t *testing.T, r response, scope string) string {
			t.Helper()
			expect(t, r, http.StatusOK, "")
			if r.str("token_type") != "Bearer" || r.body["expires_in"] != float64(900) || r.str("scope") != scope ||
				r.header.Get("Cache-Control") != "no-store" {
				t.Fatalf("token response: %v %s", r.header, r.raw)
			}
			tok := r.str("access_token")
			me := ts.do("GET", "/v1/auth/me", tok, nil)
			expect(t, me, http.StatusOK, "")
			if me.str("actor_type") != "service" || me.str("credential") != "client_credentials" ||
				me.str("actor_id") != "service:messaging" || me.str("tenant_id") != "" ||
				me.str("credential_id") == "" || me.str("session_id") != "" ||
				strings.Join(me.strs("scopes"), " ") != scope || strings.Join(me.strs("permissions"), " ") != scope {
				t.Fatalf("service me: %s", me.raw)
			}
			c := jwtClaims(t, tok)
			if c["sub"] != "service:messaging" || c["act_type"] != "service" || c["act"] != nil || c["tid"] != nil {
				t.Fatalf("service token claims: %v", c)
			}
			return tok
		}
		grant := url.Values{"grant_type": {"client_credentials"}}
		check(t, ts.postForm("/oauth/token", basicAuth(id, sec), grant), "authz:check ratelimit:check")
		check(t, ts.postForm("/oauth/token", nil, url.Values{
			"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {sec},
		}), "authz:check ratelimit:check")
		// Basic may come with the same client_id in the form.
		check(t, ts.postForm("/oauth/token", basicAuth(id, sec), url.Values{"grant_type": {"client_credentials"}, "client_id": {id}}), "authz:check ratelimit:check")
		// A scope narrows the token; none at all is an empty scope.
		check(t, ts.postForm("/oauth/token", basicAuth(id, sec), url.Values{"grant_type": {"client_credentials"}, "scope": {"authz:check"}}), "authz:check")
		check(t, ts.postForm("/oauth/token", basicAuth(id, sec), url.Values{"grant_type": {"client_credentials"}, "scope": {"ratelimit:check authz:check ratelimit:check"}}), "authz:check ratelimit:check")
		check(t, ts.postForm("/oauth/token", basicAuth(id, sec), url.Values{"grant_type": {"client_credentials"}, "scope": {""}}), "")

		const issued = `tollgate_oauth_token_requests_total{grant_type="client_credentials",outcome="issued"}`
		before := ts.metric(issued)
		for _, c := range []struct {
			name   string
			header http.Header
			form   url.Values
			status int
			code   string
			// basic: the answer must challenge for HTTP Basic.
			basic bool
		}{
			{"wrong secret, Basic", basicAuth(id, otherSecret), grant, 401, "invalid_client", true},
			{"wrong secret, form", nil, url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {otherSecret}}, 401, "invalid_client", false},
			{"no secret", nil, url.Values{"grant_type": {"client_credentials"}, "client_id": {id}}, 401, "invalid_client", false},
			{"no client at all", nil, grant, 401, "invalid_client", false},
			{"Basic and a form secret", basicAuth(id, sec), url.Values{"grant_type": {"client_credentials"}, "client_secret": {sec}}, 400, "invalid_request", false},
			{"Basic and another client_id", basicAuth(id, sec), url.Values{"grant_type": {"client_credentials"}, "client_id": {otherID}}, 401, "invalid_client", true},
			{"Basic not URL-encoded", http.Header{"Authorization": {"Basic JTpa"}}, grant, 401, "invalid_client", true},
			{"scope not granted", basicAuth(id, sec), url.Values{"grant_type": {"client_credentials"}, "scope": {"authz:check tenant:read"}}, 400, "invalid_scope", false},
			{"unsupported grant", basicAuth(id, sec), url.Values{"grant_type": {"password"}, "username": {"a"}, "password": {"b"}}, 400, "unsupported_grant_type", false},
			{"implicit grant", basicAuth(id, sec), url.Values{"grant_type": {"implicit"}}, 400, "unsupported_grant_type", false},
			{"missing grant type", basicAuth(id, sec), url.Values{"scope": {"authz:check"}}, 400, "invalid_request", false},
			{"repeated grant type", basicAuth(id, sec), url.Values{"grant_type": {"client_credentials", "client_credentials"}}, 400, "invalid_request", false},
			{"repeated secret", nil, url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {sec, sec}}, 400, "invalid_request", false},
			{"overlong parameter", basicAuth(id, sec), url.Values{"grant_type": {"client_credentials"}, "scope": {strings.Repeat("a", 9<<10)}}, 400, "invalid_request", false},
			{"too many scopes", basicAuth(id, sec), url.Values{"grant_type": {"client_credentials"}, "scope": {strings.Repeat("authz:check ", 65)}}, 400, "invalid_scope", false},
		} {
			t.Run(c.name, func(t *testing.T) {
				r := ts.postForm("/oauth/token", c.header, c.form)
				expectOAuth(t, r, c.status, c.code)
				if r.str("access_token") != "" || r.body["code"] != nil {
					t.Fatalf("error carries more: %s", r.raw)
				}
				challenge := r.header.Get("WWW-Authenticate")
				if c.basic && !strings.HasPrefix(challenge, "Basic ") {
					t.Fatalf("invalid_client after HTTP Basic without a Basic challenge: %q", challenge)
				}
				if !c.basic && challenge != "" {
					t.Fatalf("a challenge without HTTP Basic: %q", challenge)
				}
			})
		}
		if got := ts.metric(issued); got != before {
			t.Fatalf("refused requests counted as issued: %v then %v", before, got)
		}

		// Only forms are accepted, bounded.
		r := ts.do("POST", "/oauth/token", "", map[string]string{"grant_type": "client_credentials", "client_id": id, "client_secret": sec})
		expect(t, r, http.StatusUnsupportedMediaType, "unsupported_media_type")
		huge := "grant_type=client_credentials&pad=" + strings.Repeat("a", 70<<10)
		r = ts.send("POST", "/oauth/token", http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, huge)
		expect(t, r, http.StatusRequestEntityTooLarge, "body_too_large")
		r = ts.send("POST", "/oauth/token", http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, "grant_type=%zz")
		expectOAuth(t, r, http.StatusBadRequest, "invalid_request")
	})
}

func TestServiceSecretRotation(t *testing.T) {
	forEachBackend(t, func(t *testing.T, ts *testServer) {
		_, root := ts.platformAdmin("root@platform.example")
		id, s1 := registerService(t, ts, root, "messaging", "authz:check")
		t1 := serviceToken(t, ts, id, s1)

		// With grace, the old secret and its tokens keep working.
		r := ts.do("POST", "/v1/services/"+id+"/rotate-secret", root, map[string]any{"grace_period_seconds": 60})
		expect(t, r, http.StatusOK, "")
		s2 := r.str("client_secret")
		if s2 == "" || s2 == s1 || r.header.Get("Cache-Control") != "no-store" || r.str("client_id") != id {
			t.Fatalf("rotate: %v %s", r.header, r.raw)
		}
		t2 := serviceToken(t, ts, id, s2)
		t1b := serviceToken(t, ts, id, s1)
		// Each token names the secret it was obtained with.
		cred := func(tok string) string { return ts.do("GET", "/v1/auth/me", tok, nil).str("credential_id") }
		if c1, c1b, c2 := cred(t1), cred(t1b), cred(t2); c1 == "" || c1 != c1b || c2 == c1 {
			t.Fatalf("credential ids: %q %q %q", c1, c1b, c2)
		}
		for _, tok := range []string{t1, t1b, t2} {
			expect(t, ts.do("GET", "/v1/auth/me", tok, nil), http.StatusOK, "")
		}

		// Without grace, every earlier secret stops, and so do its tokens.
		r = ts.do("POST", "/v1/services/"+id+"/rotate-secret", root, map[string]any{"grace_period_seconds": 0})
		expect(t, r, http.StatusOK, "")
		s3 := r.str("client_secret")
		for _, tok := range []string{t1, t1b, t2} {
			expect(t, ts.do("GET", "/v1/auth/me", tok, nil), http.StatusUnauthorized, "token_revoked")
		}
		t3 := serviceToken(t, ts, id, s3)
		expect(t, ts.do("GET", "/v1/auth/me", t3, nil), http.StatusOK, "")

		// An empty body takes the configured default: no grace.
		r = ts.do("POST", "/v1/services/"+id+"/rotate-secret", root, nil)
		expect(t, r, http.StatusOK, "")
		expect(t, ts.do("GET", "/v1/auth/me", t3, nil), http.StatusUnauthorized, "token_revoked")
		serviceToken(t, ts, id, r.str("client_secret"))
	})
}

func TestServiceDisableAndDelete(t *testing.T) {
	forEachBackend(t, func(t *testing.T, ts *testServer) {
		w := newWorld(t, ts)
		_, root := ts.platformAdmin("root@platform.example")
		id, secret := registerService(t, ts, root, "messaging", "authz:check")
		tok := serviceToken(t, ts, id, secret)

		// A platform admin may give the service a key in a tenant; its
		// permissions are its scopes.
		keyed := ts.do("POST", "/v1/api-keys", root, map[string]any{
			"name": "messaging in A", "tenant_id": w.tenantA, "actor_id": "service:messaging", "scopes": []string{"members:read", "tenant:read"},
		})
		expect(t, keyed, http.StatusCreated, "")
		key := keyed.str("key")
		me := ts.withKey("GET", "/v1/auth/me", key, nil)
		expect(t, me, http.StatusOK, "")
		if me.str("actor_type") != "service" || me.str("actor_id") != "service:messaging" || me.str("credential") != "api_key" ||
			!slices.Equal(me.strs("permissions"), []string{"members:read", "tenant:read"}) {
			t.Fatalf("service key me: %s", me.raw)
		}

		// Disabling ends its tokens and keys at once; enabling restores them.
		expect(t, ts.do("PATCH", "/v1/services/"+id, root, map[string]any{"status": "disabled"}), http.StatusOK, "")
		expect(t, ts.do("GET", "/v1/auth/me", tok, nil), http.StatusUnauthorized, "actor_disabled")
		expect(t, ts.withKey("GET", "/v1/auth/me", key, nil), http.StatusUnauthorized, "actor_disabled")
		expectOAuth(t, ts.postForm("/oauth/token", basicAuth(id, secret), url.Values{"grant_type": {"client_credentials"}}), 401, "invalid_client")
		expect(t, ts.do("PATCH", "/v1/services/"+id, root, map[string]any{"status": "active"}), http.StatusOK, "")
		expect(t, ts.do("GET", "/v1/auth/me", tok, nil), http.StatusOK, "")
		expect(t, ts.withKey("GET", "/v1/auth/me", key, nil), http.StatusOK, "")

		// Deleting ends everything it held.
		expect(t, ts.do("DELETE", "/v1/services/"+id, root, nil), http.StatusNoContent, "")
		expect(t, ts.do("GET", "/v1/auth/me", tok, nil), http.StatusUnauthorized, "token_revoked")
		expect(t, ts.withKey("GET", "/v1/auth/me", key, nil), http.StatusUnauthorized, "api_key_revoked")
		expectOAuth(t, ts.postForm("/oauth/token", basicAuth(id, secret), url.Values{"grant_type": {"client_credentials"}}), 401, "invalid_client")
		expect(t, ts.do("GET", "/v1/services/"+id, root, nil), http.StatusNotFound, "service_not_found")
		expect(t, ts.do("DELETE", "/v1/services/"+id, root, nil), http.StatusNotFound, "service_not_found")
	})
}

// TestServiceNameReuse checks that a new service taking the name of a
// deleted one — and so its actor id — inherits nothing from it.
func TestServiceNameReuse(t *testing.T) {
	forEachBackend(t, func(t *testing.T, ts *testServer) {
		_, root := ts.platformAdmin("root@platform.example")
		id, secret := registerService(t, ts, root, "messaging", "authz:check")
		old := serviceToken(t, ts, id, secret)
		expect(t, ts.do("DELETE", "/v1/services/"+id, root, nil), http.StatusNoContent, "")

		id2, secret2 := registerService(t, ts, root, "messaging", "authz:check")
		if id2 == id {
			t.Fatal("a new service reused the client id")
		}
		expect(t, ts.do("GET", "/v1/auth/me", old, nil), http.StatusUnauthorized, "token_revoked")
		expect(t, ts.do("GET", "/v1/auth/me", serviceToken(t, ts, id2, secret2), nil), http.StatusOK, "")
		expectOAuth(t, ts.postForm("/oauth/token", basicAuth(id2, secret), url.Values{"grant_type": {"client_credentials"}}), 401, "invalid_client")

		// Deleted while disabled: the new service must not stay blocked.
		expect(t, ts.do("PATCH", "/v1/services/"+id2, root, map[string]any{"status": "disabled"}), http.StatusOK, "")
		expect(t, ts.do("DELETE", "/v1/services/"+id2, root, nil), http.StatusNoContent, "")
		id3, secret3 := registerService(t, ts, root, "messaging", "authz:check")
		me := ts.do("GET", "/v1/auth/me", serviceToken(t, ts, id3, secret3), nil)
		if me.status == http.StatusUnauthorized && me.str("code") == "actor_disabled" {
			t.Fatalf("a new service inherited the block of a deleted disabled one of the same name: %s", me.raw)
		}
		expect(t, me, http.StatusOK, "")
	})
}

// TestServiceReach replays the attack the reach closes — a service writing
// a permit-all into a tenant it does not serve — and narrows a service
// under a token already issued.
func TestServiceReach(t *testing.T) {
	forEachBackend(t, func(t *testing.T, ts *testServer) {
		w := newWorld(t, ts)
		_, root := ts.platformAdmin("root@platform.example")
		r := ts.do("POST", "/v1/services", root, map[string]any{
			"name": "rogue", "scopes": []string{"authz:check", "authz:write"}, "tenants": []string{w.tenantB},
		})
		expect(t, r, http.StatusCreated, "")
		id := r.str("id")
		tok := serviceToken(t, ts, id, r.str("client_secret"))
		permitAll := map[string]any{"text": `@id("all") permit (principal, action, resource);`}
		ask := func(tenant string) map[string]any {
			return map[string]any{"tenant_id": tenant, "principal": w.outB.ActorID(), "action": "MANAGE_TENANT",
				"resource": map[string]any{"type": "tenant", "id": tenant}}
		}

		expect(t, ts.do("PUT", "/v1/tenants/"+w.tenantA+"/policies", tok, permitAll), http.StatusForbidden, "tenant_not_registered")
		expect(t, ts.do("POST", "/v1/authorize", tok, ask(w.tenantA)), http.StatusForbidden, "tenant_not_registered")
		if d := ts.do("POST", "/v1/authorize", ts.login("owner@a.example", w.tenantA).str("access_token"),
			map[string]any{"action": "MANAGE_TENANT", "resource": map[string]any{"type": "tenant", "id": w.tenantA}}); d.str("decision") != "permit" {
			t.Fatalf("A's owner managing A: %s", d.raw)
		}
		expect(t, ts.do("PUT", "/v1/tenants/"+w.tenantB+"/policies", tok, permitAll), http.StatusOK, "")

		// Narrowed to tenant A and tools, the same token loses B and may no
		// longer write policies anywhere.
		expect(t, ts.do("PATCH", "/v1/services/"+id, root, map[string]any{
			"tenants": []string{w.tenantA}, "resource_types": []string{"tool"},
		}), http.StatusOK, "")
		expect(t, ts.do("POST", "/v1/authorize", tok, ask(w.tenantB)), http.StatusForbidden, "tenant_not_registered")
		expect(t, ts.do("PUT", "/v1/tenants/"+w.tenantA+"/policies", tok, permitAll), http.StatusForbidden, "resource_type_not_registered")
		expect(t, ts.do("PUT", "/v1/tenants/"+w.tenantA+"/resources/channel/general", tok, map[string]any{}), http.StatusForbidden, "resource_type_not_registered")
		expect(t, ts.do("PUT", "/v1/tenants/"+w.tenantA+"/resources/tool/search", tok, map[string]any{}), http.StatusOK, "")
	})
}
