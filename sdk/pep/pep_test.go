package pep

import (
	"errors"
	"net/http"
	"slices"
	"testing"

	"github.com/tollgate/tollgate/bus"
	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/serviceaccount"
)

func TestAuthorize(t *testing.T) {
	tg := newTollgate(t)
	c, _ := tg.client(nil)
	cases := []struct {
		name    string
		req     Request
		permit  bool
		reasons []string
		errors  bool // the decision carries errors
	}{
		{"member sends", tg.req(tg.alice, "SEND_MESSAGE", "general"), true, []string{"channel_member"}, false},
		{"member reads", tg.req(tg.alice, "READ", "general"), true, []string{"channel_member"}, false},
		{"member may not manage", tg.req(tg.alice, "MANAGE", "general"), false, []string{"default_deny"}, false},
		{"non-member", tg.req(tg.bob, "SEND_MESSAGE", "general"), false, []string{"default_deny"}, false},
		{"unknown channel", tg.req(tg.alice, "SEND_MESSAGE", "nope"), false, []string{"default_deny"}, false},
		{"unknown action", tg.req(tg.alice, "FLY", "general"), false, []string{"invalid_request"}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d, err := c.Authorize(ctx, tc.req)
			if err != nil {
				t.Fatal(err)
			}
			if d.Permit != tc.permit || !slices.Equal(d.Reasons, tc.reasons) || (len(d.Errors) > 0) != tc.errors {
				t.Fatalf("got %s, want permit %v reasons %v", fmtDecision(d), tc.permit, tc.reasons)
			}
			if want := map[bool]string{true: "permit", false: "deny"}[tc.permit]; d.Decision != want {
				t.Fatalf("Decision %q, want %q", d.Decision, want)
			}
			if d.DecisionID == "" || d.Cached || d.Stale {
				t.Fatalf("got %s", fmtDecision(d))
			}
		})
	}
}

func TestAuthorizeErrors(t *testing.T) {
	tg := newTollgate(t)
	c, _ := tg.client(nil)
	noScopeID, noScopeSecret := tg.service("no-scope", serviceaccount.ScopeRateLimitCheck)
	noScope, _ := tg.client(func(cfg *Config) { cfg.ClientID, cfg.ClientSecret = noScopeID, noScopeSecret })
	wrongSecret, _ := tg.client(func(cfg *Config) { cfg.ClientSecret = "wrong" })
	tools, toolsSecret, err := tg.app.Services.Register(ctx, tg.admin, serviceaccount.NewService{Name: "tools-only",
		Scopes: []string{serviceaccount.ScopeAuthzCheck}, Tenants: []string{identity.Everything}, ResourceTypes: []string{"tool"}})
	if err != nil {
		t.Fatal(err)
	}
	toolsOnly, _ := tg.client(func(cfg *Config) { cfg.ClientID, cfg.ClientSecret = tools.ID, toolsSecret })
	ok := tg.req(tg.alice, "READ", "general")
	cases := []struct {
		name   string
		c      *Client
		req    Request
		status int    // an *Error of this status and code
		code   string //
		target error  // else errors.Is(err, target)
	}{
		{"no tenant", c, Request{Principal: tg.alice, Action: "READ"}, 0, "", ErrInvalidRequest},
		{"no principal", c, Request{TenantID: tg.tenant, Action: "READ"}, 0, "", ErrInvalidRequest},
		{"no action", c, Request{TenantID: tg.tenant, Principal: tg.alice}, 0, "", ErrInvalidRequest},
		{"bad context", c, Request{TenantID: tg.tenant, Principal: tg.alice, Action: "READ", Context: map[string]any{"f": func() {}}}, 0, "", ErrInvalidRequest},
		{"unknown tenant", c, Request{TenantID: "t_nope", Principal: tg.alice, Action: "READ", Resource: ok.Resource}, 404, CodeTenantNotFound, nil},
		{"service without authz:check", noScope, ok, 403, CodeScopeRequired, nil},
		{"service registered for tools only", toolsOnly, ok, 403, CodeResourceTypeNotRegistered, nil},
		{"wrong secret", wrongSecret, ok, 401, CodeInvalidClient, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d, err := tc.c.Authorize(ctx, tc.req)
			if d.Permit || d.Decision != "" {
				t.Fatalf("a decision with the error: %s", fmtDecision(d))
			}
			if tc.target != nil {
				if !errors.Is(err, tc.target) {
					t.Fatalf("got %v, want %v", err, tc.target)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) || e.Status != tc.status || e.Code != tc.code {
				t.Fatalf("got %v, want %d %s", err, tc.status, tc.code)
			}
			if errors.Is(err, ErrUnavailable) {
				t.Fatalf("%v matches ErrUnavailable", err)
			}
		})
	}
}

// TestTollgateFailures: what Tollgate (or something in front of it) may
// answer besides a decision. Every failure is an error: no decision.
func TestTollgateFailures(t *testing.T) {
	tg := newTollgate(t)
	cases := []struct {
		name    string
		respond func(n int32) *http.Response
		calls   int32
		unavail bool // errors.Is(err, ErrUnavailable); else a permit
		status  int  // of an *Error
	}{
		{"503", func(int32) *http.Response { return answer(503, `{"code":"unavailable","detail":"down"}`) }, 1, true, 503},
		{"429", func(int32) *http.Response { return answer(429, `{}`) }, 1, true, 429},
		{"502 from a proxy", func(int32) *http.Response { return answer(502, `<html>bad gateway</html>`) }, 1, true, 502},
		{"not JSON", func(int32) *http.Response { return answer(200, `<html>`) }, 1, true, 0},
		{"no decision", func(int32) *http.Response { return answer(200, `{"reasons":[]}`) }, 1, true, 0},
		{"an unknown decision", func(int32) *http.Response { return answer(200, `{"decision":"maybe"}`) }, 1, true, 0},
		{"a token refused once is renewed", func(n int32) *http.Response {
			if n == 1 {
				return answer(401, `{"code":"invalid_token"}`)
			}
			return nil
		}, 2, false, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, tr := tg.client(nil)
			tr.respond = tc.respond
			d, err := c.Authorize(ctx, tg.req(tg.alice, "READ", "general"))
			if n := tr.authorize.Load(); n != tc.calls {
				t.Fatalf("%d calls, want %d", n, tc.calls)
			}
			if !tc.unavail {
				if err != nil || !d.Permit {
					t.Fatalf("got %s %v", fmtDecision(d), err)
				}
				return
			}
			if !errors.Is(err, ErrUnavailable) || d.Permit || d.Decision != "" {
				t.Fatalf("got %s %v, want ErrUnavailable", fmtDecision(d), err)
			}
			var e *Error
			if errors.As(err, &e) != (tc.status != 0) || e != nil && e.Status != tc.status {
				t.Fatalf("got %v, want status %d", err, tc.status)
			}
			if st := c.Stats(); st.Unavailable != 1 {
				t.Fatalf("Stats %+v", st)
			}
		})
	}
}

func TestNew(t *testing.T) {
	closed := bus.NewLocal()
	_ = closed.Close()
	ok := Config{ClientID: "svc", ClientSecret: "secret"}
	cases := []struct {
		name   string
		adjust func(*Config)
		fails  bool
	}{
		{"defaults", func(*Config) {}, false},
		{"no client id", func(c *Config) { c.ClientID = "" }, true},
		{"no secret", func(c *Config) { c.ClientSecret = "" }, true},
		{"a bad URL", func(c *Config) { c.URL = "ftp://x" }, true},
		{"a negative timeout", func(c *Config) { c.Timeout = -1 }, true},
		{"a negative StaleFor", func(c *Config) { c.StaleFor = -1 }, true},
		{"a negative size", func(c *Config) { c.CacheSize = -1 }, true},
		{"a closed bus", func(c *Config) { c.Events = closed }, true},
		{"cache disabled", func(c *Config) { c.CacheTTL = -1 }, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := ok
			tc.adjust(&cfg)
			c, err := New(ctx, cfg)
			if (err != nil) != tc.fails {
				t.Fatalf("New: %v", err)
			}
			if c != nil {
				c.Close()
				c.Close()
			}
		})
	}
	c, err := New(ctx, ok)
	if err != nil {
		t.Fatal(err)
	}
	if c.authorizeURL != DefaultURL+"/v1/authorize" || c.timeout != DefaultTimeout || c.ttl != DefaultCacheTTL ||
		c.staleFor != 0 || c.cache.Capacity() < DefaultCacheSize {
		t.Fatalf("defaults: %+v", c)
	}
}
