package ratelimit

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tollgate/tollgate/serviceaccount"
)

// want is what one check must answer: a Result within bounds, or an error.
type want struct {
	allowed   bool
	limit     int64
	remaining int64
	// reset: ResetAfter must be in (reset-time.Minute, reset]; the checks
	// of a step run a little after those before it.
	reset time.Duration
	// retry, for a denial: RetryAfter in (retry-time.Minute, retry].
	retry  time.Duration
	status int // an *Error of this status and code
	code   string
}

func checkWant(t *testing.T, res Result, err error, w want) {
	t.Helper()
	if w.status != 0 {
		wantError(t, err, w.status, w.code)
		if res != (Result{}) {
			t.Fatalf("a result with the error: %+v", res)
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	if res.Allowed != w.allowed || res.Limit != w.limit || res.Remaining != w.remaining || res.Unchecked {
		t.Fatalf("got %+v, want %+v", res, w)
	}
	if res.ResetAfter > w.reset || res.ResetAfter <= w.reset-time.Minute {
		t.Fatalf("ResetAfter %v, want about %v", res.ResetAfter, w.reset)
	}
	if res.RetryAfter > w.retry || (w.retry == 0) != (res.RetryAfter == 0) || w.retry > 0 && res.RetryAfter <= w.retry-time.Minute {
		t.Fatalf("RetryAfter %v, want about %v", res.RetryAfter, w.retry)
	}
	if w.allowed == false && res.RetryAfter <= 0 {
		t.Fatal("a denial without RetryAfter")
	}
}

// messages=3/1h is GCRA: one unit every 20 minutes, 3 at once.
const unit = 20 * time.Minute

func TestCheck(t *testing.T) {
	tg := newTollgate(t)
	c := tg.client(nil)
	steps := []struct {
		name, limit, key string
		opts             []Option
		want             want
	}{
		{"first", "messages", "user:1", nil, want{allowed: true, limit: 3, remaining: 2, reset: unit}},
		{"second", "messages", "user:1", nil, want{allowed: true, limit: 3, remaining: 1, reset: 2 * unit}},
		{"third", "messages", "user:1", nil, want{allowed: true, limit: 3, remaining: 0, reset: 3 * unit}},
		{"fourth denied", "messages", "user:1", nil, want{allowed: false, limit: 3, remaining: 0, reset: 3 * unit, retry: unit}},
		{"denied again", "messages", "user:1", nil, want{allowed: false, limit: 3, remaining: 0, reset: 3 * unit, retry: unit}},
		{"another key", "messages", "user:2", nil, want{allowed: true, limit: 3, remaining: 2, reset: unit}},
		{"cost 2", "messages", "user:3", []Option{Cost(2)}, want{allowed: true, limit: 3, remaining: 1, reset: 2 * unit}},
		{"cost 2 over what is left", "messages", "user:3", []Option{Cost(2)}, want{allowed: false, limit: 3, remaining: 1, reset: 2 * unit, retry: unit}},
		{"cost 1 fits", "messages", "user:3", []Option{Cost(1)}, want{allowed: true, limit: 3, remaining: 0, reset: 3 * unit}},
		{"another limit", "pair", "user:1", nil, want{allowed: true, limit: 2, remaining: 1, reset: 30 * time.Minute}},
		{"the whole quota", "pair", "user:2", []Option{Cost(2)}, want{allowed: true, limit: 2, remaining: 0, reset: time.Hour}},
		{"unknown limit", "nope", "user:1", nil, want{status: 404, code: CodeLimitNotFound}},
		{"cost above the quota", "messages", "user:4", []Option{Cost(4)}, want{status: 400, code: CodeInvalidCost}},
		{"cost 0", "messages", "user:4", []Option{Cost(0)}, want{status: 400, code: CodeInvalidCost}},
		{"no name", "", "user:4", nil, want{status: 400, code: CodeNameRequired}},
		{"no key", "messages", "", nil, want{status: 400, code: CodeInvalidLimit}},
		{"unknown tenant", "messages", "user:4", []Option{Tenant("01J00000000000000000000000")}, want{status: 404, code: CodeTenantNotFound}},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			res, err := c.Check(ctx, s.limit, s.key, s.opts...)
			checkWant(t, res, err, s.want)
		})
	}
	// The sentinel matches by status and code.
	_, err := c.Check(ctx, "nope", "user:1")
	if !errors.Is(err, ErrLimitNotFound) || errors.Is(err, &Error{Status: 400}) || errors.Is(err, ErrUnavailable) {
		t.Fatalf("%v does not match ErrLimitNotFound alone", err)
	}
}

// Tenant(id) counts keys within the tenant, under the tenant's plan.
func TestTenant(t *testing.T) {
	tg := newTollgate(t)
	c := tg.client(nil)
	acme, globex := tg.tenant("acme"), tg.tenant("globex")
	if _, err := tg.app.Limiter.SetTenantLimits(ctx, globex, map[string]string{"messages": "10/1h"}); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name   string
		tenant string // "" for none
		want   want
	}{
		{"acme 1", acme, want{allowed: true, limit: 3, remaining: 2, reset: unit}},
		{"acme 2", acme, want{allowed: true, limit: 3, remaining: 1, reset: 2 * unit}},
		{"acme 3", acme, want{allowed: true, limit: 3, remaining: 0, reset: 3 * unit}},
		{"acme denied", acme, want{allowed: false, limit: 3, remaining: 0, reset: 3 * unit, retry: unit}},
		{"no tenant: the same key is another", "", want{allowed: true, limit: 3, remaining: 2, reset: unit}},
		{"globex, with its own plan", globex, want{allowed: true, limit: 10, remaining: 9, reset: 6 * time.Minute}},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			var opts []Option
			if s.tenant != "" {
				opts = append(opts, Tenant(s.tenant))
			}
			res, err := c.Check(ctx, "messages", "user:1", opts...)
			checkWant(t, res, err, s.want)
		})
	}
}

// Client credentials Tollgate refuses are an *Error, not unavailability.
func TestCredentials(t *testing.T) {
	tg := newTollgate(t)
	id, secret := tg.service("messaging", serviceaccount.ScopeRateLimitCheck)
	noScopeID, noScopeSecret := tg.service("no-scope")
	otherID, _ := tg.service("other", serviceaccount.ScopeRateLimitCheck)
	disabledID, disabledSecret := tg.service("disabled", serviceaccount.ScopeRateLimitCheck)
	off := serviceaccount.Disabled
	if _, err := tg.app.Services.Update(ctx, tg.admin, disabledID, serviceaccount.Patch{Status: &off}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, id, secret string
		status           int
		code             string
	}{
		{"wrong secret", id, secret[:len(secret)-4] + "AAAA", 401, CodeInvalidClient},
		{"not a secret", id, "hunter2", 401, CodeInvalidClient},
		{"another service's id", otherID, secret, 401, CodeInvalidClient},
		{"disabled service", disabledID, disabledSecret, 401, CodeInvalidClient},
		{"without ratelimit:check", noScopeID, noScopeSecret, 403, CodeScopeRequired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{}
			c := tg.clientFor(tt.id, tt.secret, rec)
			for range 2 {
				_, err := c.Check(ctx, "messages", "user:1")
				wantError(t, err, tt.status, tt.code)
			}
			// A refused grant is not asked again at once.
			if n := countCalls(rec.take(), "POST /oauth/token"); n != 1 {
				t.Fatalf("%d token requests", n)
			}
		})
	}
	// The good credentials work.
	if _, err := tg.clientFor(id, secret, nil).Check(ctx, "messages", "user:1"); err != nil {
		t.Fatal(err)
	}
}

func countCalls(calls []string, prefix string) int {
	n := 0
	for _, c := range calls {
		if strings.HasPrefix(c, prefix) {
			n++
		}
	}
	return n
}

// A check that cannot be answered matches ErrUnavailable; the next one,
// once Tollgate is back, is answered.
func TestUnavailable(t *testing.T) {
	tests := []struct {
		name string
		// warm checks once before breaking Tollgate, so that the token is
		// cached.
		warm    bool
		breakIt func(tg *tollgate)
		// is, when set, must also match the error.
		is     error
		status int // a *Error of this status, matching ErrUnavailable
		mend   func(tg *tollgate)
	}{
		{name: "stopped before the first check", breakIt: func(tg *tollgate) { tg.srv.Close() }},
		{name: "stopped after a check", warm: true, breakIt: func(tg *tollgate) { tg.srv.Close() }},
		{name: "too slow for the token", breakIt: func(tg *tollgate) { tg.held.Store(true) },
			is: context.DeadlineExceeded, mend: func(tg *tollgate) { tg.held.Store(false) }},
		{name: "too slow for the check", warm: true, breakIt: func(tg *tollgate) { tg.held.Store(true) },
			is: context.DeadlineExceeded, mend: func(tg *tollgate) { tg.held.Store(false) }},
		{name: "a proxy answers 502", warm: true, status: http.StatusBadGateway,
			breakIt: func(tg *tollgate) {
				tg.serve(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
					http.Error(w, "upstream gone", http.StatusBadGateway)
				}))
			},
			mend: func(tg *tollgate) { tg.serve(tg.app.API) }},
		{name: "an answer too large", warm: true,
			breakIt: func(tg *tollgate) {
				tg.serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if r.URL.Path != "/v1/ratelimit/check" {
						tg.app.API.ServeHTTP(w, r)
						return
					}
					_, _ = w.Write([]byte(`{"allowed":true,"limit":3,"remaining":2,"reset_after":1,"retry_after":0,"pad":"`))
					_, _ = w.Write([]byte(strings.Repeat("x", 64<<10)))
					_, _ = w.Write([]byte(`"}`))
				}))
			},
			mend: func(tg *tollgate) { tg.serve(tg.app.API) }},
		{name: "an answer without a decision", warm: true,
			breakIt: func(tg *tollgate) {
				tg.serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if r.URL.Path != "/v1/ratelimit/check" {
						tg.app.API.ServeHTTP(w, r)
						return
					}
					_, _ = w.Write([]byte(`{"limit":3}`))
				}))
			},
			mend: func(tg *tollgate) { tg.serve(tg.app.API) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tg := newTollgate(t)
			id, secret := tg.service("messaging", serviceaccount.ScopeRateLimitCheck)
			c, err := New(Config{URL: tg.srv.URL, ClientID: id, ClientSecret: secret, Timeout: 200 * time.Millisecond, Log: discard})
			if err != nil {
				t.Fatal(err)
			}
			if tt.warm {
				if _, err := c.Check(ctx, "messages", "user:1"); err != nil {
					t.Fatal(err)
				}
			}
			tt.breakIt(tg)
			_, err = c.Check(ctx, "messages", "user:1")
			if tt.status != 0 {
				wantError(t, err, tt.status, "")
			} else {
				wantUnavailable(t, err)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Fatalf("%v does not match %v", err, tt.is)
			}
			if tt.mend == nil {
				return
			}
			tt.mend(tg)
			// The token fetch may have failed within the last second; its
			// failure is served until then, so ask again until answered.
			deadline := time.Now().Add(10 * time.Second)
			for {
				res, err := c.Check(ctx, "messages", "user:9")
				if err == nil {
					if !res.Allowed || res.Remaining != 2 {
						t.Fatalf("after recovery: %+v", res)
					}
					break
				}
				if !errors.Is(err, ErrUnavailable) || time.Now().After(deadline) {
					t.Fatalf("after recovery: %v", err)
				}
				time.Sleep(10 * time.Millisecond)
			}
		})
	}
}

// The caller's own deadline bounds a check too.
func TestCallerDeadline(t *testing.T) {
	tg := newTollgate(t)
	c := tg.client(nil)
	tg.held.Store(true)
	cctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	_, err := c.Check(cctx, "messages", "user:1")
	wantUnavailable(t, err)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("%v does not match context.DeadlineExceeded", err)
	}
}

// A 401 from the check drops the service's token and retries once with a
// new one.
func TestTokenRefusedRetriedOnce(t *testing.T) {
	tests := []struct {
		name string
		// refuse makes Tollgate refuse the token the client holds.
		refuse func(t *testing.T, tg *tollgate, serviceID string)
		calls  []string
		status int // 0: the retry is answered; else an *Error
		code   string
	}{
		{
			// A replica with another issuer refuses tokens of the old one,
			// while the client credentials, in the shared store, still work.
			name: "issuer changed",
			refuse: func(_ *testing.T, tg *tollgate, _ string) {
				tg.serve(tg.replica("http://tollgate-2.test").API)
			},
			calls: []string{"POST /v1/ratelimit/check 401", "POST /oauth/token 200", "POST /v1/ratelimit/check 200"},
		},
		{
			// Rotating the secret without grace revokes it and its tokens:
			// the retry's grant is refused and not retried again.
			name: "secret rotated without grace",
			refuse: func(t *testing.T, tg *tollgate, id string) {
				if _, _, err := tg.app.Services.RotateSecret(ctx, tg.admin, id, 0); err != nil {
					t.Fatal(err)
				}
			},
			calls:  []string{"POST /v1/ratelimit/check 401", "POST /oauth/token 401"},
			status: 401, code: CodeInvalidClient,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tg := newTollgate(t)
			id, secret := tg.service("messaging", serviceaccount.ScopeRateLimitCheck)
			rec := &recorder{}
			c := tg.clientFor(id, secret, rec)
			if _, err := c.Check(ctx, "messages", "user:1"); err != nil {
				t.Fatal(err)
			}
			if got, want := rec.take(), []string{"POST /oauth/token 200", "POST /v1/ratelimit/check 200"}; !slices.Equal(got, want) {
				t.Fatalf("calls %q, want %q", got, want)
			}
			tt.refuse(t, tg, id)
			res, err := c.Check(ctx, "messages", "user:1")
			if tt.status == 0 {
				if err != nil || !res.Allowed {
					t.Fatalf("got %+v, %v", res, err)
				}
			} else {
				wantError(t, err, tt.status, tt.code)
			}
			if got := rec.take(); !slices.Equal(got, tt.calls) {
				t.Fatalf("calls %q, want %q", got, tt.calls)
			}
		})
	}
}

// Concurrent first checks share one token request.
func TestTokenShared(t *testing.T) {
	tg := newTollgate(t)
	rec := &recorder{}
	c := tg.client(rec)
	const n = 8
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			_, err := c.Check(ctx, "messages", "user:"+string(rune('a'+i)))
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	calls := rec.take()
	if countCalls(calls, "POST /oauth/token") != 1 || countCalls(calls, "POST /v1/ratelimit/check 200") != n {
		t.Fatalf("calls %q", calls)
	}
}

func TestConfig(t *testing.T) {
	bad := []struct {
		name string
		cfg  Config
	}{
		{"relative URL", Config{URL: "/tollgate", ClientID: "x", ClientSecret: "y"}},
		{"other scheme", Config{URL: "ftp://tollgate", ClientID: "x", ClientSecret: "y"}},
		{"query", Config{URL: "http://tollgate?x=1", ClientID: "x", ClientSecret: "y"}},
		{"user info", Config{URL: "http://u:p@tollgate", ClientID: "x", ClientSecret: "y"}},
		{"no client id", Config{ClientSecret: "y"}},
		{"no client secret", Config{ClientID: "x"}},
		{"negative timeout", Config{ClientID: "x", ClientSecret: "y", Timeout: -1}},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New(tt.cfg); err == nil || !strings.HasPrefix(err.Error(), "ratelimit: ") {
				t.Fatalf("got %v", err)
			}
		})
	}
	c, err := New(Config{ClientID: "x", ClientSecret: "y"})
	if err != nil {
		t.Fatal(err)
	}
	if c.checkURL != DefaultURL+"/v1/ratelimit/check" || c.timeout != DefaultTimeout || c.client.Timeout != DefaultTimeout {
		t.Fatalf("defaults: %q %v %v", c.checkURL, c.timeout, c.client.Timeout)
	}
	c, err = New(Config{URL: "https://tollgate.example/", ClientID: "x", ClientSecret: "y"})
	if err != nil || c.checkURL != "https://tollgate.example/v1/ratelimit/check" {
		t.Fatalf("trailing slash: %v", err)
	}
}

func TestSeconds(t *testing.T) {
	for _, tt := range []struct {
		in   float64
		want time.Duration
	}{
		{0, 0}, {0.001, time.Millisecond}, {1.2, 1200 * time.Millisecond}, {3600, time.Hour},
		{0.1 + 0.2, 300 * time.Millisecond}, {1e300, time.Duration(1<<63 - 1)},
	} {
		if got := seconds(tt.in); got != tt.want {
			t.Errorf("seconds(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
}
