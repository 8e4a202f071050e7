package httpapi_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	goredis "github.com/redis/go-redis/v9"

	"github.com/tollgate/tollgate/config"
	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/ids"
	"github.com/tollgate/tollgate/ratelimit"
	"github.com/tollgate/tollgate/session"
	"github.com/tollgate/tollgate/store/sqlite/sqlitetest"
)

// The rate-limit tests give each server limits tight enough to reach in a
// few requests, over periods (an hour) long enough that nothing refills
// while a test runs, so every count they assert is exact. All requests come
// from the loopback address: the per-IP tiers count every anonymous request
// of a server, sign-ins included.

// quotaExceededType is the problem type of a request over a limit.
const quotaExceededType = "https://iana.org/assignments/http-problem-types#quota-exceeded"

// expectQuotaExceeded fails unless r is a 429 quota-exceeded problem that
// names exactly policies, with a Retry-After of at least a second.
func expectQuotaExceeded(t *testing.T, r response, policies ...string) {
	t.Helper()
	expect(t, r, http.StatusTooManyRequests, "quota_exceeded")
	if r.str("type") != quotaExceededType || r.body["status"] != float64(429) {
		t.Fatalf("429 problem: %s", r.raw)
	}
	if got := r.strs("violated-policies"); !slices.Equal(got, policies) {
		t.Fatalf("violated-policies = %q, want %q; body %s", got, policies, r.raw)
	}
	if ra, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || ra < 1 {
		t.Fatalf("Retry-After = %q, want whole seconds ≥ 1", r.header.Get("Retry-After"))
	}
	if r.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("429 without Cache-Control: no-store: %v", r.header)
	}
}

// tierState is one policy of the RateLimit-Policy and RateLimit header
// fields: its quota q and window w, and the remaining r and reset t.
type tierState struct {
	name       string
	q, w, r, t int64
}

// parseLimitField reads a list of `"name";k=v;k=v` members.
func parseLimitField(t *testing.T, v string) (names []string, params []map[string]int64) {
	t.Helper()
	for member := range strings.SplitSeq(v, ", ") {
		parts := strings.Split(member, ";")
		name, err := strconv.Unquote(parts[0])
		if err != nil {
			t.Fatalf("member %q of %q: the name is not a string", member, v)
		}
		ps := map[string]int64{}
		for _, p := range parts[1:] {
			k, val, ok := strings.Cut(p, "=")
			n, err := strconv.ParseInt(val, 10, 64)
			if !ok || err != nil {
				t.Fatalf("member %q of %q: bad parameter %q", member, v, p)
			}
			ps[k] = n
		}
		names, params = append(names, name), append(params, ps)
	}
	return names, params
}

// tiers returns the policies r's header fields report, failing unless the
// two fields list the same policies in the same order with the parameters
// the draft defines.
func tiers(t *testing.T, r response) []tierState {
	t.Helper()
	policy, state := r.header.Get("RateLimit-Policy"), r.header.Get("RateLimit")
	if policy == "" || state == "" {
		if policy != state {
			t.Fatalf("RateLimit-Policy %q without RateLimit %q", policy, state)
		}
		return nil
	}
	pn, pp := parseLimitField(t, policy)
	sn, sp := parseLimitField(t, state)
	if !slices.Equal(pn, sn) {
		t.Fatalf("RateLimit-Policy %q and RateLimit %q list different policies", policy, state)
	}
	out := make([]tierState, len(pn))
	for i, name := range pn {
		if len(pp[i]) != 2 || len(sp[i]) != 2 {
			t.Fatalf("unexpected parameters: RateLimit-Policy %q, RateLimit %q", policy, state)
		}
		out[i] = tierState{name: name, q: pp[i]["q"], w: pp[i]["w"], r: sp[i]["r"], t: sp[i]["t"]}
		// A sliding window regains its whole quota only once the previous
		// window stops weighing, up to two periods (w) away.
		if s := out[i]; s.q < 1 || s.w < 1 || s.r < 0 || s.r > s.q || s.t < 0 || s.t > 2*s.w {
			t.Fatalf("implausible %s: %+v (RateLimit-Policy %q, RateLimit %q)", name, s, policy, state)
		}
	}
	return out
}

func tierNames(ts []tierState) []string {
	out := make([]string, len(ts))
	for i, s := range ts {
		out[i] = s.name
	}
	return out
}

// expectTiers fails unless r reports exactly the named policies, in order,
// and returns them.
// The header lists the tiers in the order they were applied
// (ratelimit.Tiers); the states are returned in the order of names.
func expectTiers(t *testing.T, r response, names ...string) []tierState {
	t.Helper()
	got := tiers(t, r)
	applied := slices.Clone(names)
	slices.SortFunc(applied, func(a, b string) int {
		return slices.Index(ratelimit.Tiers(), a) - slices.Index(ratelimit.Tiers(), b)
	})
	if !slices.Equal(tierNames(got), applied) {
		t.Fatalf("policies %q, want %q (RateLimit-Policy %q)", tierNames(got), applied, r.header.Get("RateLimit-Policy"))
	}
	out := make([]tierState, len(names))
	for i, n := range names {
		out[i] = got[slices.Index(applied, n)]
	}
	return out
}

// forEachLimiter runs fn on servers configured by edit on each store with
// counters in process and, when TOLLGATE_TEST_REDIS_URL is set, on SQLite
// with counters on that Redis under a prefix of its own.
func forEachLimiter(t *testing.T, edit func(*config.Config), fn func(t *testing.T, ts *testServer)) {
	t.Helper()
	forEachBackendWithConfig(t, edit, fn)
	t.Run("redis", func(t *testing.T) {
		redisURL := os.Getenv("TOLLGATE_TEST_REDIS_URL")
		if redisURL == "" {
			t.Skip("TOLLGATE_TEST_REDIS_URL not set: skipping rate limits on Redis")
		}
		t.Parallel()
		prefix := "tgtest-" + rand.Text()[:12]
		dropRedisKeys(t, redisURL, prefix)
		fn(t, newTestServerWithConfig(t, sqlitetest.Open(t), func(c *config.Config) {
			edit(c)
			c.RedisURL, c.RedisPrefix = redisURL, prefix
		}))
	})
}

// dropRedisKeys deletes the keys under prefix when the test ends.
func dropRedisKeys(t *testing.T, redisURL, prefix string) {
	t.Helper()
	opts, err := goredis.ParseURL(redisURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		client := goredis.NewClient(opts)
		defer client.Close()
		ctx := context.Background()
		iter := client.Scan(ctx, 0, "{"+prefix+":*", 100).Iterator()
		for iter.Next(ctx) {
			client.Del(ctx, iter.Val())
		}
		if err := iter.Err(); err != nil {
			t.Errorf("deleting the test's Redis keys: %v", err)
		}
	})
}

// directLogin opens a session without the HTTP sign-in, so without the
// per-IP tiers, and returns its access token.
func directLogin(t *testing.T, ts *testServer, email, tenant string) string {
	t.Helper()
	tok, err := ts.app.Sessions.Login(context.Background(), session.LoginRequest{Email: email, Password: testPassword, Tenant: tenant})
	if err != nil {
		t.Fatalf("login %s: %v", email, err)
	}
	return tok.AccessToken
}

// tenantOf creates a tenant owned by u, without a request.
func tenantOf(t *testing.T, ts *testServer, u identity.User, slug string) string {
	t.Helper()
	tn, err := ts.app.Identity.CreateTenant(context.Background(), u.ActorID(), identity.NewTenant{Slug: slug, Name: slug})
	if err != nil {
		t.Fatal(err)
	}
	return tn.ID
}

func deniedMetric(limit string) string {
	return fmt.Sprintf(`tollgate_ratelimit_denied_total{limit=%q}`, limit)
}

func TestRateLimitHeaders(t *testing.T) {
	edit := func(c *config.Config) {
		// GCRA tiers give exact numbers: w is the time to refill the
		// whole quota (q×period/rate), r counts down by one per request.
		c.RateLimitIP = "30/1h"
		c.RateLimitTenant = "50/1h"
		c.RateLimitActor = "20/1h burst=5"
		c.RateLimitService = "10/1h sliding_window"
	}
	forEachLimiter(t, edit, func(t *testing.T, ts *testServer) {
		w := newWorld(t, ts)

		// An authenticated request counts against its tenant, then its
		// actor; the tenant's count is shared, the actor's is not.
		want := []struct {
			tok            string
			tenantR, actor int64
		}{{w.ownerTok, 49, 4}, {w.ownerTok, 48, 3}, {w.memberTok, 47, 4}, {w.ownerTok, 46, 2}}
		for i, c := range want {
			r := ts.do("GET", "/v1/auth/me", c.tok, nil)
			expect(t, r, http.StatusOK, "")
			got := expectTiers(t, r, "tenant", "actor")
			if g := got[0]; g.q != 50 || g.w != 3600 || g.r != c.tenantR {
				t.Fatalf("request %d: tenant %+v, want q=50 w=3600 r=%d", i, g, c.tenantR)
			}
			if g := got[1]; g.q != 5 || g.w != 900 || g.r != c.actor {
				t.Fatalf("request %d: actor %+v, want q=5 w=900 r=%d", i, g, c.actor)
			}
			if got[0].t < 1 || got[1].t < 1 {
				t.Fatalf("request %d: a counted policy resets in 0s: %+v", i, got)
			}
		}
		// An API key counts on its own, not as its holder.
		_, key := createKey(t, ts, w.memberTok, readKey("headers"))
		got := expectTiers(t, ts.withKey("GET", "/v1/auth/me", key, nil), "tenant", "actor")
		if got[0].r != 44 || got[1].r != 4 {
			t.Fatalf("API key: %+v", got)
		}

		// Anonymous requests count against the client's IP, whether the
		// route needs no credential or the credential was refused. Four
		// sign-ins have counted already.
		var ipLeft []int64
		for _, r := range []response{
			ts.do("GET", "/.well-known/jwks.json", "", nil),
			ts.do("GET", "/openapi.json", "", nil),
			ts.do("POST", "/v1/auth/refresh", "", map[string]string{"refresh_token": "tgr_junk"}),
			ts.do("GET", "/v1/auth/me", "junk", nil),
			ts.do("GET", "/v1/tenants", "", nil),
		} {
			if r.status != http.StatusOK && r.status != http.StatusUnauthorized {
				t.Fatalf("anonymous request: %d %s", r.status, r.raw)
			}
			s := expectTiers(t, r, "ip")[0]
			if s.q != 30 || s.w != 3600 {
				t.Fatalf("ip policy %+v", s)
			}
			ipLeft = append(ipLeft, s.r)
		}
		if !slices.Equal(ipLeft, []int64{25, 24, 23, 22, 21}) {
			t.Fatalf("ip remaining %v, want 25 down to 21", ipLeft)
		}
		// A sign-in counts against the ip tier only: the sign-in tiers count
		// failures, which a successful one is not (TestSignInThrottling).
		// The token endpoint counts against the token tier too.
		login := ts.do("POST", "/v1/auth/login", "", map[string]string{"email": w.owner.Email, "password": testPassword})
		expect(t, login, http.StatusOK, "")
		if got := expectTiers(t, login, "ip"); got[0].r != 20 {
			t.Fatalf("login: %+v", got)
		}
		tok := ts.postForm("/oauth/token", basicAuth("nobody", "nothing"), url.Values{"grant_type": {"client_credentials"}})
		expectOAuth(t, tok, http.StatusUnauthorized, "invalid_client")
		expectTiers(t, tok, "ip", "token")

		// A tenantless session counts against its actor only; a service
		// against the service tier only.
		_, root := ts.platformAdmin("root@platform.example")
		id, secret := registerService(t, ts, root, "headers")
		r := ts.do("GET", "/v1/auth/me", root, nil)
		if got := expectTiers(t, r, "actor"); got[0].r != 3 {
			t.Fatalf("platform admin: %+v", got)
		}
		svc := serviceToken(t, ts, id, secret)
		// (A sliding window's r is not asserted exactly: it would be off by
		// one if an hour boundary passed between the requests.)
		s := expectTiers(t, ts.do("GET", "/v1/auth/me", svc, nil), "service")[0]
		if s.q != 10 || s.w != 3600 || s.r >= 10 {
			t.Fatalf("service: %+v", s)
		}

		// Probes and metrics are never limited and carry no fields.
		for _, path := range []string{"/healthz", "/readyz", "/metrics"} {
			r := ts.do("GET", path, "", nil)
			expect(t, r, http.StatusOK, "")
			if r.header.Get("RateLimit-Policy") != "" || r.header.Get("RateLimit") != "" {
				t.Fatalf("%s carries rate-limit fields: %v", path, r.header)
			}
		}
	})
}

func TestRateLimitExhaustion(t *testing.T) {
	cases := []struct {
		name string
		edit func(*config.Config)
		run  func(t *testing.T, ts *testServer)
	}{
		{"ip tier", func(c *config.Config) { c.RateLimitIP = "3/1h" }, func(t *testing.T, ts *testServer) {
			for i := range 3 {
				r := ts.do("GET", "/.well-known/jwks.json", "", nil)
				expect(t, r, http.StatusOK, "")
				if s := expectTiers(t, r, "ip")[0]; s.r != int64(2-i) {
					t.Fatalf("request %d: %+v", i, s)
				}
			}
			r := ts.do("GET", "/.well-known/jwks.json", "", nil)
			expectQuotaExceeded(t, r, "ip")
			if s := expectTiers(t, r, "ip")[0]; s.r != 0 || s.q != 3 {
				t.Fatalf("refused: %+v", s)
			}
			// Every anonymous route shares the count.
			expectQuotaExceeded(t, ts.do("POST", "/v1/auth/refresh", "", map[string]string{"refresh_token": "tgr_junk"}), "ip")
			expectQuotaExceeded(t, ts.do("POST", "/v1/auth/login", "", map[string]string{"email": "a@example.com", "password": "x"}), "ip")
			// Probes and metrics never are limited.
			for range 5 {
				for _, path := range []string{"/healthz", "/readyz", "/metrics"} {
					expect(t, ts.do("GET", path, "", nil), http.StatusOK, "")
				}
			}
			if got := ts.metric(deniedMetric("ip")); got != 3 {
				t.Fatalf("denied ip = %v, want 3", got)
			}
			// A valid credential is not anonymous.
			u := ts.user("someone@example.com", false)
			tok := directLogin(t, ts, u.Email, "")
			expect(t, ts.do("GET", "/v1/auth/me", tok, nil), http.StatusOK, "")
		}},

		{"refused credentials count against the ip tier", func(c *config.Config) { c.RateLimitIP = "3/1h" }, func(t *testing.T, ts *testServer) {
			u := ts.user("someone@example.com", false)
			tenant := tenantOf(t, ts, u, "guessed")
			tok := directLogin(t, ts, u.Email, tenant)
			expect(t, ts.do("GET", "/v1/auth/me", "not-a-token", nil), http.StatusUnauthorized, "invalid_token")
			expect(t, ts.withKey("GET", "/v1/tenants", "tg_live_"+ids.New()+"_guess", nil), http.StatusUnauthorized, "invalid_api_key")
			expect(t, ts.do("GET", "/v1/tenants/"+tenant, "", nil), http.StatusUnauthorized, "missing_credential")
			// Guessing further is refused before the credential is looked at.
			expectQuotaExceeded(t, ts.do("GET", "/v1/auth/me", "not-a-token", nil), "ip")
			expectQuotaExceeded(t, ts.do("GET", "/v1/tenants/"+tenant, "", nil), "ip")
			if got := ts.metric(deniedMetric("ip")); got != 2 {
				t.Fatalf("denied ip = %v, want 2", got)
			}
			// The valid credential is unaffected.
			r := ts.do("GET", "/v1/tenants/"+tenant, tok, nil)
			expect(t, r, http.StatusOK, "")
			expectTiers(t, r, "tenant", "actor")
		}},

		{"tenant tier", func(c *config.Config) { c.RateLimitTenant = "3/1h" }, func(t *testing.T, ts *testServer) {
			w := newWorld(t, ts)
			for i, tok := range []string{w.ownerTok, w.memberTok, w.ownerTok} {
				r := ts.do("GET", "/v1/tenants/"+w.tenantA, tok, nil)
				expect(t, r, http.StatusOK, "")
				if s := expectTiers(t, r, "tenant", "actor")[0]; s.r != int64(2-i) {
					t.Fatalf("request %d: %+v", i, s)
				}
			}
			// The tenant's whole quota is used, whoever asks next.
			for _, tok := range []string{w.adminTok, w.memberTok} {
				r := ts.do("GET", "/v1/auth/me", tok, nil)
				expectQuotaExceeded(t, r, "tenant")
				// The actor tier counts first; the tenant tier refused.
				expectTiers(t, r, "actor", "tenant")
			}
			// That another tenant counts apart is ratelimit.TestActorTiers
			// (the tenant tier is keyed by the tenant).
			if got := ts.metric(deniedMetric("tenant")); got != 2 {
				t.Fatalf("denied tenant = %v, want 2", got)
			}
			// Anonymous traffic has its own tier.
			expect(t, ts.do("GET", "/.well-known/jwks.json", "", nil), http.StatusOK, "")
		}},

		{"actor tier", func(c *config.Config) { c.RateLimitActor = "2/1h" }, func(t *testing.T, ts *testServer) {
			w := newWorld(t, ts)
			// Two keys of one person: creating them spends the person's
			// session's quota, not the keys'.
			_, key1 := createKey(t, ts, w.memberTok, readKey("one"))
			createKey(t, ts, w.memberTok, readKey("two"))
			expectQuotaExceeded(t, ts.do("GET", "/v1/auth/me", w.memberTok, nil), "actor")
			for i := range 2 {
				r := ts.withKey("GET", "/v1/tenants/"+w.tenantA, key1, nil)
				expect(t, r, http.StatusOK, "")
				if s := expectTiers(t, r, "tenant", "actor")[1]; s.r != int64(1-i) || s.q != 2 {
					t.Fatalf("key one, request %d: %+v", i, s)
				}
			}
			r := ts.withKey("GET", "/v1/tenants/"+w.tenantA, key1, nil)
			expectQuotaExceeded(t, r, "actor")
			// The refused request stopped at the actor tier: the tenant's
			// quota was not charged for it.
			expectTiers(t, r, "actor")
			// That the other key and other people count apart is
			// ratelimit.TestActorTiers ("an API key is its own actor").
			if got := ts.metric(deniedMetric("actor")); got != 2 {
				t.Fatalf("denied actor = %v, want 2", got)
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			forEachLimiter(t, c.edit, c.run)
		})
	}
}

func TestTenantRateLimits(t *testing.T) {
	edit := func(c *config.Config) {
		// The tenant tier is off until a plan turns it on, so requests
		// before the plan leave no count behind.
		c.RateLimitTenant, c.RateLimitActor = "off", "1000/1h"
		c.RateLimits = "messages=10/1m"
	}
	forEachBackendWithConfig(t, edit, func(t *testing.T, ts *testServer) {
		w := newWorld(t, ts)
		_, root := ts.platformAdmin("root@platform.example")
		path := func(tenant string) string { return "/v1/tenants/" + tenant + "/rate-limits" }
		configured := map[string]any{"tenant": "off", "actor": "1000/1h", "messages": "10/1m"}

		for name, tok := range map[string]string{"member": w.memberTok, "platform admin": root} {
			r := ts.do("GET", path(w.tenantA), tok, nil)
			expect(t, r, http.StatusOK, "")
			if lim, _ := r.body["limits"].(map[string]any); r.str("tenant_id") != w.tenantA || lim == nil || len(lim) != 0 ||
				!maps.Equal(r.body["effective"].(map[string]any), configured) || r.body["updated_at"] != nil {
				t.Fatalf("%s: %s", name, r.raw)
			}
		}
		expect(t, ts.do("GET", path(w.tenantA), w.outBTok, nil), http.StatusNotFound, "tenant_not_found")

		// Only platform admins change plans; tenants cannot raise their own.
		plan := map[string]any{"limits": map[string]string{"tenant": "2/h gcra"}}
		expect(t, ts.do("PUT", path(w.tenantA), w.ownerTok, plan), http.StatusForbidden, "platform_admin_required")
		expect(t, ts.do("PUT", path(w.tenantA), w.outBTok, plan), http.StatusNotFound, "tenant_not_found")

		for _, c := range []struct {
			name        string
			body        any
			code, field string
		}{
			{"ip", map[string]any{"limits": map[string]string{"ip": "1/1h"}}, "limit_not_overridable", "limits.ip"},
			{"bad spec", map[string]any{"limits": map[string]string{"tenant": "fast"}}, "invalid_rate_limit", "limits.tenant"},
			{"missing limits", map[string]any{}, "limits_required", "limits"},
			{"null limits", `{"limits": null}`, "limits_required", "limits"},
			{"wrong type", `{"limits": {"tenant": 5}}`, "invalid_type", ""},
			{"unknown field", `{"limits": {}, "tier": "gold"}`, "unknown_field", ""},
		} {
			t.Run(c.name, func(t *testing.T) {
				r := ts.do("PUT", path(w.tenantA), root, c.body)
				expect(t, r, http.StatusBadRequest, c.code)
				if c.field != "" && r.str("field") != c.field {
					t.Fatalf("field = %q, want %q", r.str("field"), c.field)
				}
			})
		}
		// None of that changed the plan.
		if r := ts.do("GET", path(w.tenantA), root, nil); len(r.body["limits"].(map[string]any)) != 0 {
			t.Fatalf("after refused changes: %s", r.raw)
		}

		// Tenant B uses its tenant before it has a plan (the tier is off),
		// so that the plan must replace what this replica has cached.
		expectTiers(t, ts.do("GET", "/v1/auth/me", w.outBTok, nil), "actor")
		set := ts.do("PUT", path(w.tenantB), root, map[string]any{"limits": map[string]string{
			"tenant": "2/h gcra", "actor": "500/1h fail=open", "reports": "1/1h",
		}})
		expect(t, set, http.StatusOK, "")
		wantLimits := map[string]any{"tenant": "2/1h", "actor": "500/1h", "reports": "1/1h"}
		wantEffective := map[string]any{"tenant": "2/1h", "actor": "500/1h", "reports": "1/1h", "messages": "10/1m"}
		if set.str("tenant_id") != w.tenantB || !maps.Equal(set.body["limits"].(map[string]any), wantLimits) ||
			!maps.Equal(set.body["effective"].(map[string]any), wantEffective) || set.str("updated_at") == "" {
			t.Fatalf("put: %s", set.raw)
		}
		if got := ts.do("GET", path(w.tenantB), root, nil); !maps.Equal(got.body["limits"].(map[string]any), wantLimits) ||
			!maps.Equal(got.body["effective"].(map[string]any), wantEffective) || got.str("updated_at") == "" {
			t.Fatalf("get after put: %s", got.raw)
		}
		// The plan applies from the next request.
		for i := range 2 {
			r := ts.do("GET", "/v1/auth/me", w.outBTok, nil)
			expect(t, r, http.StatusOK, "")
			got := expectTiers(t, r, "tenant", "actor")
			if got[0].q != 2 || got[0].w != 3600 || got[0].r != int64(1-i) || got[1].q != 500 {
				t.Fatalf("request %d under the plan: %+v", i, got)
			}
		}
		expectQuotaExceeded(t, ts.do("GET", "/v1/auth/me", w.outBTok, nil), "tenant")
		// Tenant A keeps the configured policies.
		for range 3 {
			expectTiers(t, ts.do("GET", "/v1/auth/me", w.ownerTok, nil), "actor")
		}

		// {} removes the plan.
		cleared := ts.do("PUT", path(w.tenantB), root, map[string]any{"limits": map[string]string{}})
		expect(t, cleared, http.StatusOK, "")
		if len(cleared.body["limits"].(map[string]any)) != 0 || !maps.Equal(cleared.body["effective"].(map[string]any), configured) {
			t.Fatalf("cleared: %s", cleared.raw)
		}
		r := ts.do("GET", "/v1/auth/me", w.outBTok, nil)
		expect(t, r, http.StatusOK, "")
		if got := expectTiers(t, r, "actor"); got[0].q != 1000 {
			t.Fatalf("after the plan: %+v", got)
		}
	})
}

func TestAPIKeyRateLimit(t *testing.T) {
	forEachBackend(t, func(t *testing.T, ts *testServer) {
		w := newWorld(t, ts)
		_, root := ts.platformAdmin("root@platform.example")
		keyID, key := createKey(t, ts, w.memberTok, readKey("noisy"))
		_, other := createKey(t, ts, w.memberTok, readKey("quiet"))
		introspected := func() map[string]any {
			t.Helper()
			r := ts.do("POST", "/v1/auth/introspect", root, map[string]string{"token": key})
			expect(t, r, http.StatusOK, "")
			ac, _ := r.body["actor"].(map[string]any)
			if r.body["active"] != true || ac == nil {
				t.Fatalf("introspection: %s", r.raw)
			}
			return ac
		}
		// The key is resolved, and cached, before it gets a limit.
		if ac := introspected(); ac["rate_limit"] != nil {
			t.Fatalf("a key without its own limit: %v", ac)
		}
		path := "/v1/api-keys/" + keyID
		limit := map[string]any{"rate_limit": "2/h"}

		// Nobody but a platform admin sets a key's limit, not even for
		// their own key; a key one cannot see does not exist.
		expect(t, ts.do("PATCH", path, w.memberTok, limit), http.StatusForbidden, "platform_admin_required")
		expect(t, ts.do("PATCH", path, w.outBTok, limit), http.StatusNotFound, "api_key_not_found")
		for _, c := range []struct {
			name        string
			body        any
			code, field string
		}{
			{"empty", map[string]any{}, "nothing_to_change", "rate_limit"},
			{"null", `{"rate_limit": null}`, "nothing_to_change", "rate_limit"},
			{"bad spec", map[string]any{"rate_limit": "lots"}, "invalid_rate_limit", "rate_limit"},
			{"wrong type", `{"rate_limit": 5}`, "invalid_type", ""},
			{"unknown field", `{"rate_limit": "1/1h", "name": "x"}`, "unknown_field", ""},
		} {
			t.Run(c.name, func(t *testing.T) {
				r := ts.do("PATCH", path, root, c.body)
				expect(t, r, http.StatusBadRequest, c.code)
				if c.field != "" && r.str("field") != c.field {
					t.Fatalf("field = %q, want %q", r.str("field"), c.field)
				}
			})
		}

		set := ts.do("PATCH", path, root, limit)
		expect(t, set, http.StatusOK, "")
		if set.str("id") != keyID || set.str("rate_limit") != "2/1h" || set.str("actor_id") != w.member.ActorID() {
			t.Fatalf("patch: %s", set.raw)
		}
		if got := ts.do("GET", path, w.memberTok, nil); got.str("rate_limit") != "2/1h" {
			t.Fatalf("get: %s", got.raw)
		}
		list := ts.do("GET", "/v1/api-keys", w.memberTok, nil)
		expect(t, list, http.StatusOK, "")
		for _, it := range list.items() {
			if want := map[bool]any{true: "2/1h", false: nil}[it["id"] == keyID]; it["rate_limit"] != want {
				t.Fatalf("list: %s", list.raw)
			}
		}
		if ac := introspected(); ac["rate_limit"] != "2/1h" {
			t.Fatalf("introspection after the change: %v", ac)
		}

		// The key's own limit replaces the actor tier for the key alone.
		me := ts.withKey("GET", "/v1/auth/me", key, nil)
		expect(t, me, http.StatusOK, "")
		if me.str("rate_limit") != "2/1h" {
			t.Fatalf("me: %s", me.raw)
		}
		if s := expectTiers(t, me, "tenant", "actor")[1]; s.q != 2 || s.w != 3600 || s.r != 1 {
			t.Fatalf("actor under the key's limit: %+v", s)
		}
		expect(t, ts.withKey("GET", "/v1/tenants/"+w.tenantA, key, nil), http.StatusOK, "")
		expectQuotaExceeded(t, ts.withKey("GET", "/v1/tenants/"+w.tenantA, key, nil), "actor")
		for _, r := range []response{
			ts.do("GET", "/v1/tenants/"+w.tenantA, w.memberTok, nil),
			ts.withKey("GET", "/v1/tenants/"+w.tenantA, other, nil),
		} {
			expect(t, r, http.StatusOK, "")
			if s := expectTiers(t, r, "tenant", "actor")[1]; s.q != 100000 {
				t.Fatalf("the holder's other credentials: %+v", s)
			}
		}

		// "" removes it: the configured policy applies to the key again.
		cleared := ts.do("PATCH", path, root, map[string]any{"rate_limit": ""})
		expect(t, cleared, http.StatusOK, "")
		if _, has := cleared.body["rate_limit"]; has {
			t.Fatalf("cleared: %s", cleared.raw)
		}
		if ac := introspected(); ac["rate_limit"] != nil {
			t.Fatalf("introspection after removal: %v", ac)
		}
		// (What the key used under its own limit still counts, so whether
		// this request is allowed depends on the time it took to get here.)
		if s := tiers(t, ts.withKey("GET", "/v1/auth/me", key, nil))[0]; s.name != "actor" || s.q != 100000 {
			t.Fatalf("actor after removal: %+v", s)
		}

		// A key's limit can be given at creation.
		registerService(t, ts, root, "reports")
		created := ts.do("POST", "/v1/api-keys", root, map[string]any{
			"name": "reports in A", "tenant_id": w.tenantA, "actor_id": "service:reports", "scopes": []string{"tenant:read"},
			"rate_limit": "5/m burst=2 fail=closed",
		})
		expect(t, created, http.StatusCreated, "")
		if created.str("rate_limit") != "5/1m burst=2 fail=closed" {
			t.Fatalf("created: %s", created.raw)
		}
	})
}

func TestRateLimitCheck(t *testing.T) {
	edit := func(c *config.Config) { c.RateLimits = "messages=3/1h, exports=2/1h sliding_window" }
	forEachBackendWithConfig(t, edit, func(t *testing.T, ts *testServer) {
		w := newWorld(t, ts)
		_, root := ts.platformAdmin("root@platform.example")
		svc := newServiceToken(t, ts, root, "messaging", "ratelimit:check")
		check := func(body any) response {
			t.Helper()
			return ts.do("POST", "/v1/ratelimit/check", svc, body)
		}
		type decision struct {
			allowed                        bool
			limit, remaining               int64
			retryAfter, resetAfter, window float64
		}
		decide := func(body map[string]any) decision {
			t.Helper()
			r := check(body)
			expect(t, r, http.StatusOK, "")
			if _, has := r.body["unchecked"]; has {
				t.Fatalf("a checked decision says unchecked: %s", r.raw)
			}
			num := func(k string) float64 {
				v, ok := r.body[k].(float64)
				if !ok {
					t.Fatalf("%s missing: %s", k, r.raw)
				}
				return v
			}
			return decision{r.body["allowed"] == true, int64(num("limit")), int64(num("remaining")), num("retry_after"), num("reset_after"), num("window")}
		}

		// Three allowed, then a denial: an answer, not an error.
		for want := int64(2); want >= 0; want-- {
			d := decide(map[string]any{"name": "messages", "key": "user:1"})
			if !d.allowed || d.limit != 3 || d.remaining != want || d.retryAfter != 0 || d.resetAfter <= 0 || d.window != 3600 {
				t.Fatalf("want remaining %d: %+v", want, d)
			}
		}
		if d := decide(map[string]any{"name": "messages", "key": "user:1"}); d.allowed || d.remaining != 0 || d.retryAfter <= 0 {
			t.Fatalf("past the limit: %+v", d)
		}
		// Sliding windows too (their counts are not asserted: an hour
		// boundary between requests would shift them).
		if d := decide(map[string]any{"name": "exports", "key": "user:1"}); !d.allowed || d.limit != 2 || d.remaining > 1 {
			t.Fatalf("exports: %+v", d)
		}

		for _, c := range []struct {
			name        string
			body        any
			status      int
			code, field string
		}{
			{"unknown limit", map[string]any{"name": "nope", "key": "k"}, 404, "limit_not_found", ""},
			{"cost above the quota", map[string]any{"name": "messages", "key": "k", "cost": 4}, 400, "invalid_cost", "cost"},
			{"missing key", map[string]any{"name": "messages"}, 400, "invalid_limit", "key"},
			{"wrong type", `{"name": "messages", "key": "k", "cost": "2"}`, 400, "invalid_type", ""},
			{"unknown field", `{"name": "messages", "key": "k", "limit": 5}`, 400, "unknown_field", ""},
		} {
			t.Run(c.name, func(t *testing.T) {
				r := check(c.body)
				expect(t, r, c.status, c.code)
				if c.field != "" && r.str("field") != c.field {
					t.Fatalf("field = %q, want %q", r.str("field"), c.field)
				}
			})
		}
		// Nothing above consumed from "k".
		if d := decide(map[string]any{"name": "messages", "key": "k"}); d.remaining != 2 {
			t.Fatalf("refused checks consumed: %+v", d)
		}

		// Only services holding ratelimit:check may ask.
		other := newServiceToken(t, ts, root, "gateway", "authz:check")
		for name, r := range map[string]response{
			"service without the scope": ts.do("POST", "/v1/ratelimit/check", other, map[string]any{"name": "messages", "key": "k"}),
			"a person":                  ts.do("POST", "/v1/ratelimit/check", w.ownerTok, map[string]any{"name": "messages", "key": "k"}),
			"bad body, no scope":        ts.do("POST", "/v1/ratelimit/check", other, "{"),
		} {
			t.Run(name, func(t *testing.T) { expect(t, r, http.StatusForbidden, "scope_required") })
		}
		expect(t, ts.do("POST", "/v1/ratelimit/check", "", map[string]any{"name": "messages", "key": "k"}), http.StatusUnauthorized, "missing_credential")
	})
}

// newServiceToken registers a service as the platform admin token admin
// and returns an access token of the service from the client credentials
// grant.
func newServiceToken(t *testing.T, ts *testServer, admin, name string, scopes ...string) string {
	t.Helper()
	id, secret := registerService(t, ts, admin, name, scopes...)
	return serviceToken(t, ts, id, secret)
}

// TestRateLimitBackendDown runs against a Redis that refuses connections
// (nothing listens on port 1): the tenant and actor tiers fail open, limits
// configured fail=closed fail closed, and both are counted.
func TestRateLimitBackendDown(t *testing.T) {
	edit := func(c *config.Config) {
		c.RedisURL = "redis://127.0.0.1:1/0"
		c.RateLimits = "messages=10/1m, exports=5/1h fail=closed"
	}
	forEachBackendWithConfig(t, edit, func(t *testing.T, ts *testServer) {
		failures := func(limit, mode string) float64 {
			return ts.metric(fmt.Sprintf(`tollgate_ratelimit_backend_failures_total{limit=%q,mode=%q}`, limit, mode))
		}
		owner := ts.user("owner@a.example", false)
		tok := directLogin(t, ts, owner.Email, tenantOf(t, ts, owner, "tenant-a"))

		// Authenticated requests go through, uncounted and without fields.
		tenantOpen, actorOpen := failures("tenant", "open"), failures("actor", "open")
		for range 3 {
			r := ts.do("GET", "/v1/auth/me", tok, nil)
			expect(t, r, http.StatusOK, "")
			expectTiers(t, r)
		}
		if failures("tenant", "open") < tenantOpen+3 || failures("actor", "open") < actorOpen+3 {
			t.Fatalf("open failures: tenant %v, actor %v", failures("tenant", "open"), failures("actor", "open"))
		}
		// So do anonymous ones (the ip tier fails open)...
		ipOpen := failures("ip", "open")
		r := ts.do("GET", "/.well-known/jwks.json", "", nil)
		expect(t, r, http.StatusOK, "")
		expectTiers(t, r)
		if failures("ip", "open") <= ipOpen {
			t.Fatal("the ip tier's failure was not counted")
		}
		// Sign-ins fail closed: TestSignInBackendDown.
		expect(t, ts.do("GET", "/healthz", "", nil), http.StatusOK, "")

		// A service's limits fail as they are configured.
		root := ts.user("root@platform.example", true)
		svc := newServiceToken(t, ts, directLogin(t, ts, root.Email, ""), "messaging", "ratelimit:check")
		d := ts.do("POST", "/v1/ratelimit/check", svc, map[string]any{"name": "messages", "key": "k"})
		expect(t, d, http.StatusOK, "")
		if d.body["allowed"] != true || d.body["unchecked"] != true {
			t.Fatalf("fail-open limit: %s", d.raw)
		}
		expect(t, ts.do("POST", "/v1/ratelimit/check", svc, map[string]any{"name": "exports", "key": "k"}), http.StatusServiceUnavailable, "ratelimit_unavailable")
		if failures("exports", "closed") < 1 || failures("messages", "open") < 1 {
			t.Fatal("the named limits' failures were not counted")
		}
	})
}

// TestRateLimitChangesReachReplicas: a tenant's plan and a key's own limit
// changed on one replica apply on the other, which had them cached, as soon
// as the bus delivers the change.
func TestRateLimitChangesReachReplicas(t *testing.T) {
	one, two := natsReplicas(t)
	w := newWorld(t, one)
	_, root := one.platformAdmin("root@platform.example")
	keyID, key := createKey(t, one, w.memberTok, readKey("replicated"))
	// Replica two caches the tenant's (empty) plan and the key.
	expectTiers(t, two.withKey("GET", "/v1/auth/me", key, nil), "tenant", "actor")

	expect(t, one.do("PUT", "/v1/tenants/"+w.tenantA+"/rate-limits", root,
		map[string]any{"limits": map[string]string{"tenant": "40/1h"}}), http.StatusOK, "")
	withinPropagation(t, "replica two applies the tenant's plan", func() bool {
		return expectTiers(t, two.do("GET", "/v1/auth/me", w.ownerTok, nil), "tenant", "actor")[0].q == 40
	})
	expect(t, one.do("PATCH", "/v1/api-keys/"+keyID, root, map[string]any{"rate_limit": "30/1h"}), http.StatusOK, "")
	withinPropagation(t, "replica two applies the key's limit", func() bool {
		return expectTiers(t, two.withKey("GET", "/v1/auth/me", key, nil), "tenant", "actor")[1].q == 30
	})
}
