package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tollgate/tollgate/apikey"
	"github.com/tollgate/tollgate/ids"
	"github.com/tollgate/tollgate/secret"
)

func TestAPIKeyLifecycle(t *testing.T) {
	forEachBackend(t, func(t *testing.T, ts *testServer) {
		w := newWorld(t, ts)
		created := ts.do("POST", "/v1/api-keys", w.memberTok, map[string]any{
			"name": "ci", "scopes": []string{"tenant:read", "members:read", "tenant:read"},
		})
		expect(t, created, http.StatusCreated, "")
		id, key := created.str("id"), created.str("key")
		if !strings.HasPrefix(key, "tg_live_"+id+"_") {
			t.Fatalf("key %q does not carry its id %s", key, id)
		}
		if created.header.Get("Cache-Control") != "no-store" || created.header.Get("Location") != "/v1/api-keys/"+id {
			t.Fatalf("create headers: %v", created.header)
		}
		if created.str("actor_id") != w.member.ActorID() || created.str("created_by") != w.member.ActorID() ||
			created.str("tenant_id") != w.tenantA || !slices.Equal(created.strs("scopes"), []string{"members:read", "tenant:read"}) {
			t.Fatalf("created: %s", created.raw)
		}

		// The secret is shown once: neither GET nor the list has it.
		got := ts.do("GET", "/v1/api-keys/"+id, w.memberTok, nil)
		expect(t, got, http.StatusOK, "")
		list := ts.do("GET", "/v1/api-keys", w.memberTok, nil)
		expect(t, list, http.StatusOK, "")
		for _, r := range []response{got, list} {
			if strings.Contains(string(r.raw), key) || strings.Contains(string(r.raw), `"key"`) {
				t.Fatalf("the secret leaked: %s", r.raw)
			}
		}
		if items := list.items(); len(items) != 1 || items[0]["id"] != id {
			t.Fatalf("list: %s", list.raw)
		}

		// The key authenticates as Authorization: Bearer and as X-API-Key.
		for name, r := range map[string]response{
			"bearer":    ts.do("GET", "/v1/auth/me", key, nil),
			"x-api-key": ts.withKey("GET", "/v1/auth/me", key, nil),
		} {
			expect(t, r, http.StatusOK, "")
			if r.str("credential") != "api_key" || r.str("actor_id") != w.member.ActorID() || r.str("actor_type") != "human" ||
				r.str("tenant_id") != w.tenantA || r.str("credential_id") != id || r.str("session_id") != "" ||
				!slices.Equal(r.strs("scopes"), []string{"members:read", "tenant:read"}) ||
				!slices.Equal(r.strs("permissions"), []string{"members:read", "tenant:read"}) {
				t.Fatalf("%s: me = %s", name, r.raw)
			}
		}
		both := http.Header{"Authorization": {"Bearer " + key}, "X-Api-Key": {key}}
		expect(t, ts.send("GET", "/v1/auth/me", both, nil), http.StatusUnauthorized, "ambiguous_credential")

		// Use is recorded in batches; a flush writes it.
		if err := ts.app.Credentials.FlushTouches(context.Background()); err != nil {
			t.Fatal(err)
		}
		if used := ts.do("GET", "/v1/api-keys/"+id, w.memberTok, nil); used.str("last_used_at") == "" {
			t.Fatalf("a used key without last_used_at: %s", used.raw)
		}

		// Revocation ends the key at once; its record says when.
		expect(t, ts.do("DELETE", "/v1/api-keys/"+id, w.memberTok, nil), http.StatusNoContent, "")
		expect(t, ts.withKey("GET", "/v1/auth/me", key, nil), http.StatusUnauthorized, "api_key_revoked")
		expect(t, ts.do("GET", "/v1/auth/me", key, nil), http.StatusUnauthorized, "api_key_revoked")
		got = ts.do("GET", "/v1/api-keys/"+id, w.memberTok, nil)
		expect(t, got, http.StatusOK, "")
		if got.str("revoked_at") == "" {
			t.Fatalf("revoked key without revoked_at: %s", got.raw)
		}
		expect(t, ts.do("DELETE", "/v1/api-keys/"+id, w.memberTok, nil), http.StatusNoContent, "")
		expect(t, ts.do("POST", "/v1/api-keys/"+id+"/rotate", w.memberTok, nil), http.StatusConflict, "api_key_revoked")
	})
}

func TestAPIKeyExpiresAt(t *testing.T) {
	forEachBackend(t, func(t *testing.T, ts *testServer) {
		w := newWorld(t, ts)
		at := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
		id, key := createKey(t, ts, w.memberTok, map[string]any{"name": "temporary", "scopes": []string{"tenant:read"}, "expires_at": at})
		got := ts.do("GET", "/v1/api-keys/"+id, w.memberTok, nil)
		if got.str("expires_at") != at.Format(time.RFC3339) {
			t.Fatalf("expires_at = %q, want %s", got.str("expires_at"), at.Format(time.RFC3339))
		}
		me := ts.withKey("GET", "/v1/auth/me", key, nil)
		expect(t, me, http.StatusOK, "")
		if me.str("expires_at") != at.Format(time.RFC3339) {
			t.Fatalf("me expires_at = %q, want %s", me.str("expires_at"), at.Format(time.RFC3339))
		}
	})
}

func TestAPIKeyRotation(t *testing.T) {
	forEachBackend(t, func(t *testing.T, ts *testServer) {
		w := newWorld(t, ts)
		id, k1 := createKey(t, ts, w.memberTok, map[string]any{"name": "deploy", "scopes": []string{"tenant:read"}})
		expect(t, ts.withKey("GET", "/v1/auth/me", k1, nil), http.StatusOK, "")

		// Without grace the old secret stops at once.
		r := ts.do("POST", "/v1/api-keys/"+id+"/rotate", w.memberTok, map[string]any{"grace_period_seconds": 0})
		expect(t, r, http.StatusOK, "")
		k2 := r.str("key")
		if r.str("id") != id || k2 == k1 || !strings.HasPrefix(k2, "tg_live_"+id+"_") || r.str("rotated_at") == "" ||
			r.str("previous_secret_expires_at") != "" || r.header.Get("Cache-Control") != "no-store" {
			t.Fatalf("rotate: %v %s", r.header, r.raw)
		}
		// The old secret stopping at once is
		// apikey.TestRotateWithoutGraceStopsTheOldSecretAtOnce; both working
		// until the grace ends is apikey.TestRotateWithGraceKeepsTheOldSecretUntilItEnds.
		r = ts.do("POST", "/v1/api-keys/"+id+"/rotate", w.memberTok, map[string]any{"grace_period_seconds": 60})
		expect(t, r, http.StatusOK, "")
		k3 := r.str("key")
		if r.str("previous_secret_expires_at") == "" {
			t.Fatalf("rotate with grace: %s", r.raw)
		}
		// The secret is in the rotate answer only.
		if got := ts.do("GET", "/v1/api-keys/"+id, w.memberTok, nil); strings.Contains(string(got.raw), k3) {
			t.Fatalf("the secret leaked: %s", got.raw)
		}

		// An empty body takes the configured default, which is no grace.
		r = ts.do("POST", "/v1/api-keys/"+id+"/rotate", w.memberTok, nil)
		expect(t, r, http.StatusOK, "")
		for _, k := range []string{k2, k3} {
			expect(t, ts.withKey("GET", "/v1/auth/me", k, nil), http.StatusUnauthorized, "invalid_api_key")
		}
		k4 := r.str("key")
		expect(t, ts.withKey("GET", "/v1/auth/me", k4, nil), http.StatusOK, "")

		for _, c := range []struct {
			name   string
			body   any
			status int
			code   string
		}{
			{"grace as a string", `{"grace_period_seconds": "60"}`, 400, "invalid_type"},
			{"fractional grace", `{"grace_period_seconds": 1.5}`, 400, "invalid_type"},
			{"unknown field", `{"grace": 60}`, 400, "unknown_field"},
			{"malformed", `{"grace_period_seconds":`, 400, "invalid_json"},
		} {
			t.Run(c.name, func(t *testing.T) {
				expect(t, ts.do("POST", "/v1/api-keys/"+id+"/rotate", w.memberTok, c.body), c.status, c.code)
			})
		}
		// None of the refused rotations changed the secret.
		expect(t, ts.withKey("GET", "/v1/auth/me", k4, nil), http.StatusOK, "")
	})
}

func TestAPIKeyCreateBadInput(t *testing.T) {
	forEachBackend(t, func(t *testing.T, ts *testServer) {
		w := newWorld(t, ts)
		cases := []struct {
			name   string
			body   any
			status int
			code   string
		}{
			{"unknown scope", map[string]any{"name": "k", "scopes": []string{"everything"}}, 400, "unknown_scope"},
			{"expires_at not a time", `{"name": "k", "expires_at": "tomorrow"}`, 400, ""},
			{"scopes not a list", `{"name": "k", "scopes": "tenant:read"}`, 400, "invalid_type"},
			{"unknown field", `{"name": "k", "admin": true}`, 400, "unknown_field"},
			{"empty body", "", 400, "invalid_json"},
			{"tenant of someone else", map[string]any{"name": "k", "tenant_id": w.tenantB}, 404, "tenant_not_found"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				expect(t, ts.do("POST", "/v1/api-keys", w.memberTok, c.body), c.status, c.code)
			})
		}
		plain := http.Header{"Authorization": {"Bearer " + w.memberTok}, "Content-Type": {"text/plain"}}
		expect(t, ts.send("POST", "/v1/api-keys", plain, `{"name": "k"}`), http.StatusUnsupportedMediaType, "unsupported_media_type")

		// None of it made a key.
		list := ts.do("GET", "/v1/api-keys?include_revoked=true", w.ownerTok, nil)
		expect(t, list, http.StatusOK, "")
		if n := len(list.items()); n != 0 {
			t.Fatalf("bad input created %d keys: %s", n, list.raw)
		}
	})
}

// TestAPIKeyFollowsHolderRights checks that a key's permissions are its
// scopes intersected with what its holder may do now.
func TestAPIKeyFollowsHolderRights(t *testing.T) {
	forEachBackend(t, func(t *testing.T, ts *testServer) {
		w := newWorld(t, ts)
		_, key := createKey(t, ts, w.adminTok, map[string]any{"name": "admin", "scopes": []string{"members:write", "tenant:read"}})
		agent := createAgent(t, ts, w.adminTok, w.tenantA, "admin's agent")
		_, agentKey := createKey(t, ts, w.adminTok, map[string]any{
			"name": "agent", "actor_id": "agent:" + agent, "scopes": []string{"members:write", "tenant:read"},
		})

		// Leaving the tenant ends the holder's keys and their agents' keys.
		expect(t, ts.do("DELETE", "/v1/tenants/"+w.tenantA+"/members/"+w.admin.ActorID(), w.ownerTok, nil), http.StatusNoContent, "")
		expect(t, ts.withKey("GET", "/v1/auth/me", key, nil), http.StatusUnauthorized, "api_key_holder_inactive")
		expect(t, ts.withKey("GET", "/v1/auth/me", agentKey, nil), http.StatusUnauthorized, "api_key_holder_inactive")

		// A disabled user's keys stop at once.
		_, root := ts.platformAdmin("root@platform.example")
		_, mkey := createKey(t, ts, w.memberTok, map[string]any{"name": "member", "scopes": []string{"tenant:read"}})
		expect(t, ts.withKey("GET", "/v1/auth/me", mkey, nil), http.StatusOK, "")
		expect(t, ts.do("PATCH", "/v1/users/"+w.member.ID, root, map[string]any{"status": "disabled"}), http.StatusOK, "")
		expect(t, ts.withKey("GET", "/v1/auth/me", mkey, nil), http.StatusUnauthorized, "actor_disabled")
		expect(t, ts.do("PATCH", "/v1/users/"+w.member.ID, root, map[string]any{"status": "active"}), http.StatusOK, "")
		expect(t, ts.withKey("GET", "/v1/auth/me", mkey, nil), http.StatusOK, "")
	})
}

func TestAPIKeyList(t *testing.T) {
	forEachBackend(t, func(t *testing.T, ts *testServer) {
		w := newWorld(t, ts)
		var mine []string
		for i := range 3 {
			id, _ := createKey(t, ts, w.memberTok, map[string]any{"name": fmt.Sprintf("member %d", i)})
			mine = append(mine, id)
		}
		slices.Sort(mine)
		agent := createAgent(t, ts, w.memberTok, w.tenantA, "member's agent")
		agentKeyID, _ := createKey(t, ts, w.memberTok, map[string]any{"name": "agent", "actor_id": "agent:" + agent, "scopes": []string{"tenant:read"}})
		adminKeyID, _ := createKey(t, ts, w.adminTok, map[string]any{"name": "admin"})

		all := listAll(t, ts, w.ownerTok, "/v1/api-keys", "id")
		want := append(slices.Clone(mine), agentKeyID, adminKeyID)
		slices.Sort(want)
		if !slices.Equal(all, want) {
			t.Fatalf("owner lists %v, want %v", all, want)
		}
		if got := listAll(t, ts, w.ownerTok, "/v1/api-keys?actor_id="+w.member.ActorID(), "id"); !slices.Equal(got, mine) {
			t.Fatalf("filtered by member: %v, want %v", got, mine)
		}
		// Revoked keys are listed only when asked for.
		expect(t, ts.do("DELETE", "/v1/api-keys/"+mine[1], w.adminTok, nil), http.StatusNoContent, "")
		if got := listAll(t, ts, w.memberTok, "/v1/api-keys?actor_id="+w.member.ActorID()+"&include_revoked=true", "id"); !slices.Equal(got, mine) {
			t.Fatalf("include_revoked lists %v, want %v", got, mine)
		}

		for _, c := range []struct{ query, code string }{
			{"include_revoked=yes", "invalid_include_revoked"},
			{"limit=0", "invalid_limit"},
			{"limit=101", "invalid_limit"},
			{"limit=two", "invalid_limit"},
			{"cursor=" + strings.Repeat("z", 300), "invalid_cursor"},
		} {
			t.Run(c.query, func(t *testing.T) {
				expect(t, ts.do("GET", "/v1/api-keys?"+c.query, w.ownerTok, nil), http.StatusBadRequest, c.code)
			})
		}
		for _, id := range []string{ids.New(), "not-an-id", "%27%20OR%201=1"} {
			expect(t, ts.do("GET", "/v1/api-keys/"+id, w.ownerTok, nil), http.StatusNotFound, "api_key_not_found")
		}
	})
}

// TestAPIKeyBadSecrets checks that malformed, altered and dead keys are
// refused with one error each and counted.
func TestAPIKeyBadSecrets(t *testing.T) {
	forEachBackend(t, func(t *testing.T, ts *testServer) {
		w := newWorld(t, ts)
		revokedID, revoked := createKey(t, ts, w.memberTok, map[string]any{"name": "revoked"})
		expect(t, ts.do("DELETE", "/v1/api-keys/"+revokedID, w.memberTok, nil), http.StatusNoContent, "")
		_, key := createKey(t, ts, w.memberTok, map[string]any{"name": "good"})
		forged, _ := secret.Generate(secret.KeyPrefix, secret.EnvLive, ids.New())

		lastChanged := []byte(key)
		lastChanged[len(lastChanged)-1] = map[bool]byte{true: '0', false: '1'}[lastChanged[len(lastChanged)-1] != '0']

		const rejected = `tollgate_credential_rejections_total{code="invalid_api_key",kind="api_key"}`
		before := ts.metric(rejected)
		invalid := []struct{ name, key string }{
			{"wrong checksum", string(lastChanged)},
			{"unknown id with a valid checksum", forged},
		}
		for _, c := range invalid {
			t.Run(c.name, func(t *testing.T) {
				expect(t, ts.withKey("GET", "/v1/auth/me", c.key, nil), http.StatusUnauthorized, "invalid_api_key")
				expect(t, ts.do("GET", "/v1/auth/me", c.key, nil), http.StatusUnauthorized, "invalid_api_key")
			})
		}
		if got := ts.metric(rejected); got != before+float64(2*len(invalid)) {
			t.Fatalf("%s = %v, want %v", rejected, got, before+float64(2*len(invalid)))
		}

		// Strings without the key prefix are taken for access tokens.
		for _, c := range []struct{ name, key string }{
			{"other prefix", "tx" + key[2:]},
			{"upper-case prefix", "TG" + key[2:]},
			{"client secret shape", "tgcs" + key[2:]},
		} {
			t.Run(c.name, func(t *testing.T) {
				expect(t, ts.withKey("GET", "/v1/auth/me", c.key, nil), http.StatusUnauthorized, "invalid_token")
			})
		}

		const dead = `tollgate_credential_rejections_total{code="api_key_revoked",kind="api_key"}`
		before = ts.metric(dead)
		expect(t, ts.withKey("GET", "/v1/auth/me", revoked, nil), http.StatusUnauthorized, "api_key_revoked")
		if got := ts.metric(dead); got != before+1 {
			t.Fatalf("%s = %v, want %v", dead, got, before+1)
		}
		// The good key is unaffected by all of it.
		expect(t, ts.withKey("GET", "/v1/auth/me", key, nil), http.StatusOK, "")
	})
}

// TestAPIKeyIsBounded checks that a key acts in its own tenant only and
// cannot do what only a signed-in person may.
func TestAPIKeyIsBounded(t *testing.T) {
	forEachBackend(t, func(t *testing.T, ts *testServer) {
		w := newWorld(t, ts)
		// The admin of A is also a member of B; a key of A still sees A only.
		expect(t, ts.do("POST", "/v1/tenants/"+w.tenantB+"/members", w.outBTok,
			map[string]any{"actor_id": w.admin.ActorID(), "roles": []string{"member"}}), http.StatusCreated, "")
		_, key := createKey(t, ts, w.adminTok, map[string]any{"name": "a", "scopes": []string{"tenant:read", "members:read", "apikeys:read", "apikeys:write", "agents:read"}})

		for _, c := range []struct {
			method, path string
			body         any
			status       int
			code         string
		}{
			{"POST", "/v1/auth/switch-tenant", map[string]string{"tenant_id": w.tenantB}, 403, "session_required"},
			{"POST", "/v1/auth/logout", nil, 403, "session_required"},
			{"POST", "/v1/auth/logout", map[string]bool{"all": true}, 403, "session_required"},
			{"POST", "/v1/tenants", map[string]string{"slug": "via-a-key"}, 403, "session_required"},
			{"GET", "/v1/tenants/" + w.tenantB, nil, 404, "tenant_not_found"},
			{"GET", "/v1/tenants?all=true", nil, 403, "platform_admin_required"},
			{"GET", "/v1/services", nil, 403, "platform_admin_required"},
		} {
			t.Run(c.method+" "+c.path, func(t *testing.T) {
				expect(t, ts.withKey(c.method, c.path, key, c.body), c.status, c.code)
			})
		}
		list := ts.withKey("GET", "/v1/tenants", key, nil)
		expect(t, list, http.StatusOK, "")
		if items := list.items(); len(items) != 1 || items[0]["id"] != w.tenantA {
			t.Fatalf("a key of A lists %s", list.raw)
		}
		// The sessions it could have ended are alive.
		expect(t, ts.do("GET", "/v1/auth/me", w.adminTok, nil), http.StatusOK, "")
	})
}

// TestAPIKeysCrossTenant checks that nothing of tenant B's keys is reachable
// from tenant A, whatever A's credential, and that B is left unchanged.
func TestAPIKeysCrossTenant(t *testing.T) {
	forEachBackend(t, func(t *testing.T, ts *testServer) {
		w := newWorld(t, ts)
		bKeyID, bKey := createKey(t, ts, w.outBTok, map[string]any{"name": "b", "scopes": []string{"tenant:read"}})
		missing := ids.New()
		// A's member and A's key as callers are
		// apikey.TestCrossTenantCallersLearnNothing; here the owner of A.
		callers := []struct {
			name string
			send func(method, path string, body any) response
		}{
			{"owner of A", func(m, p string, b any) response { return ts.do(m, p, w.ownerTok, b) }},
		}
		for _, c := range callers {
			t.Run(c.name, func(t *testing.T) {
				for _, rt := range []struct{ method, path string }{
					{"GET", "/v1/api-keys/%s"},
					{"DELETE", "/v1/api-keys/%s"},
					{"POST", "/v1/api-keys/%s/rotate"},
				} {
					foreign := c.send(rt.method, fmt.Sprintf(rt.path, bKeyID), nil)
					absent := c.send(rt.method, fmt.Sprintf(rt.path, missing), nil)
					expect(t, foreign, http.StatusNotFound, "api_key_not_found")
					expect(t, absent, http.StatusNotFound, "api_key_not_found")
					if foreign.str("detail") != absent.str("detail") {
						t.Fatalf("%s: foreign and missing keys differ: %s vs %s", rt.method, foreign.raw, absent.raw)
					}
				}
				expect(t, c.send("GET", "/v1/api-keys?tenant_id="+w.tenantB, nil), http.StatusNotFound, "tenant_not_found")
				expect(t, c.send("POST", "/v1/api-keys", map[string]any{"name": "x", "tenant_id": w.tenantB}), http.StatusNotFound, "tenant_not_found")
				// Filtering by B's holder looks in A, where they hold nothing.
				r := c.send("GET", "/v1/api-keys?actor_id="+w.outB.ActorID(), nil)
				expect(t, r, http.StatusOK, "")
				if len(r.items()) != 0 {
					t.Fatalf("lists B's keys: %s", r.raw)
				}
			})
		}
		// B's key is untouched: not revoked, not rotated.
		expect(t, ts.withKey("GET", "/v1/auth/me", bKey, nil), http.StatusOK, "")
		got := ts.do("GET", "/v1/api-keys/"+bKeyID, w.outBTok, nil)
		expect(t, got, http.StatusOK, "")
		if got.str("revoked_at") != "" || got.str("rotated_at") != "" {
			t.Fatalf("B's key changed: %s", got.raw)
		}
	})
}

// TestAPIKeyExpiry checks a key past its end. The store is written
// directly, so that nothing waits for a clock.
func TestAPIKeyExpiry(t *testing.T) {
	forEachBackend(t, func(t *testing.T, ts *testServer) {
		w := newWorld(t, ts)
		past := time.Now().Add(-time.Hour).UTC().Truncate(time.Microsecond)
		id := ids.New()
		key, hash := secret.Generate(secret.KeyPrefix, secret.EnvLive, id)
		if err := ts.store.CreateAPIKey(context.Background(), apikey.Key{
			ID: id, TenantID: w.tenantA, ActorID: w.member.ActorID(), CreatedBy: w.member.ActorID(), Name: "expired",
			Scopes: []string{"tenant:read"}, Hash: hash, ExpiresAt: &past, CreatedAt: past.Add(-time.Hour),
		}); err != nil {
			t.Fatal(err)
		}
		const series = `tollgate_credential_rejections_total{code="api_key_expired",kind="api_key"}`
		before := ts.metric(series)
		expect(t, ts.withKey("GET", "/v1/auth/me", key, nil), http.StatusUnauthorized, "api_key_expired")
		expect(t, ts.do("GET", "/v1/auth/me", key, nil), http.StatusUnauthorized, "api_key_expired")
		if got := ts.metric(series); got != before+2 {
			t.Fatalf("%s = %v, want %v", series, got, before+2)
		}
		// Its record is still there to see, and an expired key is listed.
		got := ts.do("GET", "/v1/api-keys/"+id, w.memberTok, nil)
		expect(t, got, http.StatusOK, "")
		if got.str("expires_at") == "" || got.str("revoked_at") != "" {
			t.Fatalf("expired key: %s", got.raw)
		}
	})
}
