package httpapi_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/tollgate/tollgate/config"
)

// The sign-in tiers with their default policies, as an operator who sets
// nothing gets them, with requests arriving through a trusted proxy on the
// loopback address so that X-Forwarded-For names the client.
func defaultSignInTiers(c *config.Config) {
	d := config.Defaults()
	c.RateLimitIP, c.RateLimitLogin = d.RateLimitIP, d.RateLimitLogin
	c.RateLimitLoginAccount, c.RateLimitLoginAccountIP = d.RateLimitLoginAccount, d.RateLimitLoginAccountIP
	c.TrustedProxies = "127.0.0.1, ::1"
}

// signIn posts a sign-in of email with password from the client address ip.
func signIn(ts *testServer, ip, email, password string) response {
	ts.t.Helper()
	h := http.Header{"X-Forwarded-For": {ip}}
	return ts.send("POST", "/v1/auth/login", h, map[string]string{"email": email, "password": password})
}

const wrongPassword = "not the password at all"

// TestSignInThrottling checks the sign-in tiers at their defaults where they
// meet requests: the client address from X-Forwarded-For, the 429 problem,
// the metrics. Which attempts count against which tier, for known and
// unknown accounts, is session.TestLoginThrottlesFailures.
func TestSignInThrottling(t *testing.T) {
	const office, home, owner = "203.0.113.7", "198.51.100.20", "owner@example.com"
	ok := func(t *testing.T, r response) {
		t.Helper()
		expect(t, r, http.StatusOK, "")
	}
	wrong := func(t *testing.T, r response) {
		t.Helper()
		expect(t, r, http.StatusUnauthorized, "invalid_credentials")
	}
	cases := []struct {
		name string
		run  func(t *testing.T, ts *testServer)
	}{
		{"five wrong guesses block further attempts from that address", func(t *testing.T, ts *testServer) {
			ts.user(owner, false)
			ts.user("colleague@example.com", false)
			for range 5 {
				wrong(t, signIn(ts, office, owner, wrongPassword))
			}
			r := signIn(ts, office, owner, wrongPassword)
			expectQuotaExceeded(t, r, "login_account_ip")
			if r.str("detail") != "too many requests under the login_account_ip rate limit; retry after the time in Retry-After" {
				t.Fatalf("detail: %s", r.raw)
			}
			// The right password from the throttled address waits too, however
			// the address is written: it is refused before any password is
			// checked.
			for _, email := range []string{owner, " Owner@EXAMPLE.com"} {
				r := signIn(ts, office, email, testPassword)
				expectQuotaExceeded(t, r, "login_account_ip")
				// The refusal carries the fields of the tier it passed.
				expectTiers(t, r, "ip")
			}
			// Other accounts from that address are not affected.
			ok(t, signIn(ts, office, "colleague@example.com", testPassword))
			if got := ts.metric(deniedMetric("login_account_ip")); got != 3 {
				t.Fatalf("denied login_account_ip = %v, want 3", got)
			}
			if got := ts.metric(`tollgate_login_attempts_total{outcome="rate_limited"}`); got != 3 {
				t.Fatalf("rate-limited logins = %v, want 3", got)
			}
			if got := ts.metric(`tollgate_login_attempts_total{outcome="invalid_credentials"}`); got != 5 {
				t.Fatalf("failed logins = %v, want 5", got)
			}
		}},

		{"guesses at many accounts from one address reach the per-address tier", func(t *testing.T, ts *testServer) {
			ts.user(owner, false)
			for i := range 20 {
				wrong(t, signIn(ts, office, fmt.Sprintf("sprayed%d@example.com", i), wrongPassword))
			}
			expectQuotaExceeded(t, signIn(ts, office, "sprayed99@example.com", wrongPassword), "login")
			expectQuotaExceeded(t, signIn(ts, office, owner, testPassword), "login")
			ok(t, signIn(ts, home, owner, testPassword))
			if got := ts.metric(deniedMetric("login")); got != 2 {
				t.Fatalf("denied login = %v, want 2", got)
			}
			// Other anonymous requests from the address are not sign-ins.
			h := http.Header{"X-Forwarded-For": {office}}
			expect(t, ts.send("GET", "/.well-known/jwks.json", h, nil), http.StatusOK, "")
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			forEachLimiter(t, defaultSignInTiers, c.run)
		})
	}
}

// TestSignInBackendDown runs against a Redis that refuses connections: each
// sign-in tier that fails closed refuses sign-ins with 503 (the defaults all
// do), and one that fails open lets them through to the next; every
// failure is counted under its tier.
func TestSignInBackendDown(t *testing.T) {
	const closed, open = "100000/1h fail=closed", "100000/1h fail=open"
	cases := []struct {
		name                 string
		login, account, pair string
		want                 int
		closedFailures       []string
		openFailures         []string
	}{
		{"defaults", "", "", "", http.StatusServiceUnavailable, []string{"login"}, nil},
		{"per IP fails closed", closed, open, open, http.StatusServiceUnavailable, []string{"login"}, nil},
		{"per account fails closed", open, closed, open, http.StatusServiceUnavailable, []string{"login_account"}, []string{"login"}},
		{"per (account, IP) fails closed", open, open, closed, http.StatusServiceUnavailable, []string{"login_account_ip"}, []string{"login", "login_account"}},
		// Failing open everywhere, a wrong password is answered, and its
		// charges fail (and are counted) too.
		{"all fail open", open, open, open, http.StatusUnauthorized, nil, []string{"login", "login_account", "login_account_ip"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			edit := func(cfg *config.Config) {
				defaultSignInTiers(cfg)
				cfg.RedisURL = "redis://127.0.0.1:1/0"
				for _, s := range []struct {
					dst  *string
					spec string
				}{
					{&cfg.RateLimitLogin, c.login}, {&cfg.RateLimitLoginAccount, c.account}, {&cfg.RateLimitLoginAccountIP, c.pair},
				} {
					if s.spec != "" {
						*s.dst = s.spec
					}
				}
			}
			forEachBackendWithConfig(t, edit, func(t *testing.T, ts *testServer) {
				ts.user("owner@example.com", false)
				r := signIn(ts, "203.0.113.7", "owner@example.com", wrongPassword)
				if r.status != c.want {
					t.Fatalf("status %d, want %d: %s", r.status, c.want, r.raw)
				}
				if c.want == http.StatusServiceUnavailable {
					expect(t, r, c.want, "ratelimit_unavailable")
					if r.header.Get("Retry-After") != "" || r.body["violated-policies"] != nil {
						t.Fatalf("503 looks like a 429: %v %s", r.header, r.raw)
					}
				}
				for mode, names := range map[string][]string{"closed": c.closedFailures, "open": c.openFailures} {
					for _, name := range names {
						series := fmt.Sprintf(`tollgate_ratelimit_backend_failures_total{limit=%q,mode=%q}`, name, mode)
						if ts.metric(series) < 1 {
							t.Errorf("%s not counted", series)
						}
					}
				}
			})
		})
	}
}
