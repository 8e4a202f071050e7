package ratelimit_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/ratelimit"
)

// memTenants is an in-memory TenantStore.
type memTenants struct {
	mu     sync.Mutex
	m      map[string]ratelimit.TenantLimits
	reads  int
	writes int
	// setErr, when set, is what SetTenantRateLimits returns.
	setErr error
	getErr error
}

func newMemTenants() *memTenants { return &memTenants{m: map[string]ratelimit.TenantLimits{}} }

func (s *memTenants) TenantRateLimits(_ context.Context, tenantID string) (ratelimit.TenantLimits, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reads++
	if s.getErr != nil {
		return ratelimit.TenantLimits{}, s.getErr
	}
	tl, ok := s.m[tenantID]
	if !ok {
		return ratelimit.TenantLimits{TenantID: tenantID, Limits: map[string]string{}}, nil
	}
	tl.Limits = maps.Clone(tl.Limits)
	return tl, nil
}

func (s *memTenants) SetTenantRateLimits(_ context.Context, tl ratelimit.TenantLimits) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.setErr != nil {
		return s.setErr
	}
	s.writes++
	tl.Limits = maps.Clone(tl.Limits)
	s.m[tl.TenantID] = tl
	return nil
}

// put stores overrides directly, as another replica (or an operator with
// SQL) would, bypassing the Limiter.
func (s *memTenants) put(tenantID string, limits map[string]string) {
	s.mu.Lock()
	s.m[tenantID] = ratelimit.TenantLimits{TenantID: tenantID, Limits: limits}
	s.mu.Unlock()
}

func (s *memTenants) readCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reads
}

// failure is one call of LimiterDeps.Failed.
type failure struct {
	name       string
	letThrough bool
}

type limiterEnv struct {
	l       *ratelimit.Limiter
	tenants *memTenants
	clock   *fakeClock
	backend ratelimit.Backend

	mu       sync.Mutex
	failures []failure
	changed  []string
	denied   []string
}

func (e *limiterEnv) takeDenied() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	d := e.denied
	e.denied = nil
	return d
}

func (e *limiterEnv) takeFailures() []failure {
	e.mu.Lock()
	defer e.mu.Unlock()
	f := e.failures
	e.failures = nil
	return f
}

func (e *limiterEnv) takeChanged() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	c := e.changed
	e.changed = nil
	return c
}

const testTTL = 30 * time.Second

// newLimiterEnv builds a Limiter on backend (Local when nil) with the
// configured policies given as specs.
func newLimiterEnv(t *testing.T, backend ratelimit.Backend, specs map[string]string) *limiterEnv {
	t.Helper()
	if backend == nil {
		backend = ratelimit.NewLocal(ratelimit.LocalOptions{})
	}
	policies := make(map[string]ratelimit.Policy, len(specs))
	for name, spec := range specs {
		p, err := ratelimit.ParsePolicy(name, spec)
		if err != nil {
			t.Fatalf("policy %s %q: %v", name, spec, err)
		}
		policies[name] = p
	}
	e := &limiterEnv{tenants: newMemTenants(), clock: newFakeClock(), backend: backend}
	e.l = ratelimit.NewLimiter(ratelimit.LimiterDeps{
		Backend:  backend,
		Tenants:  e.tenants,
		Policies: policies,
		Failed: func(name string, letThrough bool) {
			e.mu.Lock()
			e.failures = append(e.failures, failure{name, letThrough})
			e.mu.Unlock()
		},
		Denied: func(name string) {
			e.mu.Lock()
			e.denied = append(e.denied, name)
			e.mu.Unlock()
		},
		Changed: func(_ context.Context, tenantID string) {
			e.mu.Lock()
			e.changed = append(e.changed, tenantID)
			e.mu.Unlock()
		},
		Now: e.clock.Now,
	}, ratelimit.LimiterOptions{OverrideTTL: testTTL})
	return e
}

func mustParse(t *testing.T, name, spec string) ratelimit.Policy {
	t.Helper()
	p, err := ratelimit.ParsePolicy(name, spec)
	if err != nil {
		t.Fatalf("ParsePolicy(%q, %q): %v", name, spec, err)
	}
	return p
}

// isFault reports whether err is a fault of kind and code.
func isFault(err error, kind fault.Kind, code string) bool {
	return err != nil && fault.KindOf(err) == kind && errors.Is(err, &fault.Error{Code: fault.Code(code)})
}

var configured = map[string]string{
	ratelimit.TierIP:      "10/1s",
	ratelimit.TierLogin:   "5/1m sliding_window fail=closed",
	ratelimit.TierTenant:  "100/1m",
	ratelimit.TierActor:   "50/1m",
	ratelimit.TierService: "1000/1s",
	"search":              "2/1m",
	"export":              "off",
}

func TestLimiterPolicySelection(t *testing.T) {
	e := newLimiterEnv(t, nil, configured)
	e.tenants.put("t1", map[string]string{
		ratelimit.TierTenant:  "1000/1m fail=closed",
		ratelimit.TierActor:   "off",
		"search":              "20/1m sliding_window",
		"custom":              "3/1h",
		ratelimit.TierIP:      "1/1h", // stored behind the Limiter's back:
		ratelimit.TierService: "1/1h", // tiers that cannot be overridden
		ratelimit.TierLogin:   "1/1h", // are ignored
		"broken":              "not a spec",
	})
	ctx := context.Background()
	for _, c := range []struct {
		tenant, name string
		want         string // "" for no policy
	}{
		{"", ratelimit.TierTenant, "100/1m"},
		{"t1", ratelimit.TierTenant, "1000/1m fail=closed"},
		{"t2", ratelimit.TierTenant, "100/1m"},
		{"t1", ratelimit.TierActor, "off"},
		{"t1", "search", "20/1m sliding_window"},
		{"", "search", "2/1m"},
		{"t2", "search", "2/1m"},
		{"t1", "custom", "3/1h"},
		{"", "custom", ""},
		{"t2", "custom", ""},
		{"t1", ratelimit.TierIP, "10/1s"},
		{"t1", ratelimit.TierService, "1000/1s"},
		{"t1", ratelimit.TierLogin, "5/1m sliding_window fail=closed"},
		{"t1", ratelimit.TierToken, ""},
		{"t1", "broken", ""}, // an override that no longer parses is skipped
		{"t1", "missing", ""},
	} {
		p, ok, err := e.l.Policy(ctx, c.tenant, c.name)
		if err != nil {
			t.Fatalf("Policy(%q, %q): %v", c.tenant, c.name, err)
		}
		if c.want == "" {
			if ok {
				t.Errorf("Policy(%q, %q) = %v, want none", c.tenant, c.name, p)
			}
			continue
		}
		if want := mustParse(t, c.name, c.want); !ok || p != want {
			t.Errorf("Policy(%q, %q) = %+v, %v; want %+v", c.tenant, c.name, p, ok, want)
		}
	}

	// Non-overridable names are answered without reading the store.
	before := e.tenants.readCount()
	e.l.Invalidate()
	if _, _, err := e.l.Policy(ctx, "t1", ratelimit.TierIP); err != nil {
		t.Fatal(err)
	}
	if n := e.tenants.readCount() - before; n != 0 {
		t.Errorf("Policy of the ip tier read the tenant store %d times", n)
	}

	// A store failure is the caller's error, not a silent fallback.
	e.tenants.getErr = fault.Wrap(fault.Unavailable, "store_unavailable", errors.New("db down"))
	if _, _, err := e.l.Policy(ctx, "t9", ratelimit.TierTenant); !isFault(err, fault.Unavailable, "store_unavailable") {
		t.Errorf("Policy with the store down: err = %v", err)
	}
	if err := e.l.Enforce(ctx, "t9", ratelimit.TierTenant, "t9"); !isFault(err, fault.Unavailable, "store_unavailable") {
		t.Errorf("Enforce with the store down: err = %v", err)
	}
}

func TestLimiterCheckOff(t *testing.T) {
	s := &stubBackend{}
	s.returns(ratelimit.Result{}, errDown)
	e := newLimiterEnv(t, s, nil)
	d, err := e.l.Check(context.Background(), mustParse(t, "export", "off"), "k", 1)
	if err != nil || !d.Result.Allowed || !d.Unchecked || d.Name != "export" {
		t.Fatalf("off: %+v, %v; want allowed, unchecked", d, err)
	}
	if s.calls.Load() != 0 {
		t.Fatal("an off policy reached the backend")
	}
	if f := e.takeFailures(); len(f) != 0 {
		t.Fatalf("failures %v", f)
	}
}

func TestLimiterCheckCounts(t *testing.T) {
	e := newLimiterEnv(t, nil, nil)
	p := mustParse(t, "api", "3/1m")
	ctx := context.Background()
	for i := range 3 {
		d, err := e.l.Check(ctx, p, "k", 1)
		if err != nil || !d.Result.Allowed || d.Unchecked || d.Result.Remaining != int64(2-i) || d.Name != "api" || d.Policy != p {
			t.Fatalf("check %d: %+v, %v", i, d, err)
		}
	}
	d, err := e.l.Check(ctx, p, "k", 1)
	if err != nil || d.Result.Allowed || d.Unchecked || d.Result.RetryAfter != 20*time.Second {
		t.Fatalf("check 4: %+v, %v; want denied, retry after 20s", d, err)
	}
	// The Limiter's clock drives the limit.
	e.clock.Advance(20 * time.Second)
	if d, err := e.l.Check(ctx, p, "k", 1); err != nil || !d.Result.Allowed {
		t.Fatalf("after 20s: %+v, %v", d, err)
	}
}

func TestLimiterFailModes(t *testing.T) {
	for _, backendErr := range []error{
		errDown,
		errScript, // a reply the backend could not make sense of: also not a decision
	} {
		s := &stubBackend{}
		s.returns(ratelimit.Result{}, backendErr)
		e := newLimiterEnv(t, s, nil)
		ctx := context.Background()

		open := mustParse(t, "open", "10/1m")
		d, err := e.l.Check(ctx, open, "k", 1)
		if err != nil || !d.Result.Allowed || !d.Unchecked || d.Name != "open" {
			t.Errorf("%v, fail open: %+v, %v; want allowed, unchecked", backendErr, d, err)
		}
		if f := e.takeFailures(); len(f) != 1 || f[0] != (failure{"open", true}) {
			t.Errorf("%v, fail open: Failed calls %v", backendErr, f)
		}

		closed := mustParse(t, "closed", "10/1m fail=closed")
		_, err = e.l.Check(ctx, closed, "k", 1)
		if !isFault(err, fault.Unavailable, "ratelimit_unavailable") {
			t.Errorf("%v, fail closed: err = %v, want Unavailable ratelimit_unavailable", backendErr, err)
		}
		if !errors.Is(err, backendErr) {
			t.Errorf("fail closed: err %v does not wrap the backend's %v", err, backendErr)
		}
		if f := e.takeFailures(); len(f) != 1 || f[0] != (failure{"closed", false}) {
			t.Errorf("%v, fail closed: Failed calls %v", backendErr, f)
		}

		// Enforce follows the same policy.
		e2 := newLimiterEnv(t, s, map[string]string{"open": "10/1m", "closed": "10/1m fail=closed"})
		if err := e2.l.Enforce(ctx, "", "open", "k"); err != nil {
			t.Errorf("Enforce fail open: %v", err)
		}
		if err := e2.l.Enforce(ctx, "", "closed", "k"); !isFault(err, fault.Unavailable, "ratelimit_unavailable") {
			t.Errorf("Enforce fail closed: %v", err)
		}
		if f := e2.takeFailures(); len(f) != 2 {
			t.Errorf("Enforce: Failed calls %v, want 2", f)
		}
	}
}

func TestLimiterInvalidPassesThrough(t *testing.T) {
	s := &stubBackend{}
	s.returns(ratelimit.Result{}, errBadKey)
	e := newLimiterEnv(t, s, nil)
	ctx := context.Background()
	for _, spec := range []string{"10/1m", "10/1m fail=closed"} {
		_, err := e.l.Check(ctx, mustParse(t, "api", spec), "k", 1)
		if err != errBadKey {
			t.Errorf("%s: err = %v, want the backend's Invalid error", spec, err)
		}
	}
	// And against the real backend.
	e2 := newLimiterEnv(t, nil, nil)
	if _, err := e2.l.Check(ctx, mustParse(t, "api", "10/1m fail=closed"), "", 1); !isFault(err, fault.Invalid, "invalid_limit") {
		t.Errorf("empty key: err = %v", err)
	}
	if _, err := e2.l.Check(ctx, mustParse(t, "api", "10/1m"), "k", 11); !isFault(err, fault.Invalid, "invalid_cost") {
		t.Errorf("cost above quota: err = %v", err)
	}

	// A caller that gave up is not a backend failure either.
	s.returns(ratelimit.Result{}, errDown)
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := e.l.Check(cctx, mustParse(t, "api", "10/1m"), "k", 1); err != errDown {
		t.Errorf("cancelled: err = %v, want the backend's", err)
	}
	if f := append(e.takeFailures(), e2.takeFailures()...); len(f) != 0 {
		t.Errorf("Failed called for %v", f)
	}
}

func TestLimiterEnforce(t *testing.T) {
	e := newLimiterEnv(t, nil, map[string]string{ratelimit.TierLoginAccount: "3/1h"})
	ctx := context.Background()
	for i := range 3 {
		if err := e.l.Enforce(ctx, "", ratelimit.TierLoginAccount, "a@example.com"); err != nil {
			t.Fatalf("attempt %d: %v", i+1, err)
		}
	}
	err := e.l.Enforce(ctx, "", ratelimit.TierLoginAccount, "a@example.com")
	var ee *ratelimit.ExceededError
	if !errors.As(err, &ee) {
		t.Fatalf("attempt 4: %T %v, want *ExceededError", err, err)
	}
	if len(ee.Policies) != 1 || ee.Policies[0] != ratelimit.TierLoginAccount || ee.RetryAfter != 20*time.Minute {
		t.Errorf("ExceededError %+v, want login_account, retry after 20m", ee)
	}
	var fe *fault.Error
	if !errors.As(err, &fe) {
		t.Fatalf("%v does not unwrap to a *fault.Error", err)
	}
	if fe.Kind != fault.RateLimited || fe.Code != "quota_exceeded" || fe.RetryAfter <= 0 || fe.RetryAfter != ee.RetryAfter {
		t.Errorf("fault %+v, want RateLimited quota_exceeded with the RetryAfter", fe)
	}
	if !errors.Is(err, fault.ErrRateLimited) {
		t.Error("errors.Is(err, fault.ErrRateLimited) is false")
	}
	// Other keys are not affected.
	if err := e.l.Enforce(ctx, "", ratelimit.TierLoginAccount, "b@example.com"); err != nil {
		t.Errorf("other key: %v", err)
	}
	// A policy that is not configured is not applied.
	for range 5 {
		if err := e.l.Enforce(ctx, "", ratelimit.TierToken, "k"); err != nil {
			t.Fatalf("unconfigured tier: %v", err)
		}
	}
}

func TestLimiterEnforceTenantOverride(t *testing.T) {
	e := newLimiterEnv(t, nil, map[string]string{ratelimit.TierTenant: "1/1h"})
	ctx := context.Background()
	if _, err := e.l.SetTenantLimits(ctx, "big", map[string]string{ratelimit.TierTenant: "3/1h"}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		tenant  string
		allowed int
	}{{"small", 1}, {"big", 3}} {
		for i := range c.allowed {
			if err := e.l.Enforce(ctx, c.tenant, ratelimit.TierTenant, c.tenant); err != nil {
				t.Fatalf("%s request %d: %v", c.tenant, i+1, err)
			}
		}
		if err := e.l.Enforce(ctx, c.tenant, ratelimit.TierTenant, c.tenant); err == nil {
			t.Fatalf("%s request %d allowed", c.tenant, c.allowed+1)
		}
	}
}

func TestCheckNamed(t *testing.T) {
	e := newLimiterEnv(t, nil, configured)
	ctx := context.Background()

	// Unknown names and Tollgate's tiers are not found, with or without a
	// tenant, even where the tier is configured.
	names := append([]string{"missing"}, ratelimit.Tiers()...)
	for _, name := range names {
		for _, tenant := range []string{"", "a"} {
			if _, err := e.l.CheckNamed(ctx, tenant, name, "k", 1); !isFault(err, fault.NotFound, "limit_not_found") {
				t.Errorf("CheckNamed(%q, %q): err = %v, want NotFound limit_not_found", tenant, name, err)
			}
		}
	}

	// search is 2/1m: each tenant, and the caller without one, has its own
	// count for the same key.
	for _, tenant := range []string{"a", "b", ""} {
		for i := range 2 {
			d, err := e.l.CheckNamed(ctx, tenant, "search", "user-1", 1)
			if err != nil || !d.Result.Allowed || d.Unchecked || d.Result.Remaining != int64(1-i) || d.Name != "search" {
				t.Fatalf("tenant %q check %d: %+v, %v", tenant, i+1, d, err)
			}
		}
		d, err := e.l.CheckNamed(ctx, tenant, "search", "user-1", 1)
		if err != nil || d.Result.Allowed {
			t.Fatalf("tenant %q check 3: %+v, %v; want denied", tenant, d, err)
		}
	}

	// A tenant's own policy of that name applies to its requests only.
	if _, err := e.l.SetTenantLimits(ctx, "c", map[string]string{"search": "5/1m", "own": "1/1m"}); err != nil {
		t.Fatal(err)
	}
	if d, err := e.l.CheckNamed(ctx, "c", "search", "user-1", 1); err != nil || d.Result.Quota != 5 || d.Result.Remaining != 4 {
		t.Errorf("tenant c: %+v, %v; want its quota of 5", d, err)
	}
	if d, err := e.l.CheckNamed(ctx, "c", "own", "user-1", 1); err != nil || !d.Result.Allowed {
		t.Errorf("tenant c own limit: %+v, %v", d, err)
	}
	if _, err := e.l.CheckNamed(ctx, "d", "own", "user-1", 1); !isFault(err, fault.NotFound, "limit_not_found") {
		t.Errorf("tenant d, c's own limit: err = %v, want limit_not_found", err)
	}

	// Cost: above the quota, or below 1, is Invalid before the backend.
	for _, cost := range []int64{3, 0, -1} {
		if _, err := e.l.CheckNamed(ctx, "a", "search", "fresh", cost); !isFault(err, fault.Invalid, "invalid_cost") {
			t.Errorf("cost %d: err = %v, want Invalid invalid_cost", cost, err)
		}
	}
	if d, err := e.l.CheckNamed(ctx, "a", "search", "fresh", 2); err != nil || !d.Result.Allowed || d.Result.Remaining != 0 {
		t.Errorf("cost = quota: %+v, %v", d, err)
	}
	// An off policy is let through unchecked, whatever the cost.
	if d, err := e.l.CheckNamed(ctx, "a", "export", "k", 1000); err != nil || !d.Result.Allowed || !d.Unchecked {
		t.Errorf("off: %+v, %v", d, err)
	}

	// Keys: the tenant prefix, and its "/" even without a tenant, count
	// towards MaxKeyLen.
	long := strings.Repeat("k", ratelimit.MaxKeyLen)
	if _, err := e.l.CheckNamed(ctx, "", "search", long[1:], 1); err != nil {
		t.Errorf("key of MaxKeyLen-1 without a tenant: %v", err)
	}
	if _, err := e.l.CheckNamed(ctx, "", "search", long, 1); !isFault(err, fault.Invalid, "invalid_limit") {
		t.Errorf("key of MaxKeyLen without a tenant: err = %v", err)
	}
	// Without a tenant, "a/x" is not tenant a's "x".
	if _, err := e.l.CheckNamed(ctx, "", "search", "a/x", 2); err != nil {
		t.Fatal(err)
	}
	if d, err := e.l.CheckNamed(ctx, "a", "search", "x", 2); err != nil || !d.Result.Allowed {
		t.Errorf("tenant a's key x shares a count with a/x without a tenant: %+v, %v", d, err)
	}
	if _, err := e.l.CheckNamed(ctx, "", "search", long+"k", 1); !isFault(err, fault.Invalid, "invalid_limit") {
		t.Errorf("key over MaxKeyLen: err = %v", err)
	}
	tenant := "tenant-0123456789"
	fits := strings.Repeat("k", ratelimit.MaxKeyLen-1-len(tenant))
	if _, err := e.l.CheckNamed(ctx, tenant, "search", fits, 1); err != nil {
		t.Errorf("longest key with a tenant: %v", err)
	}
	_, err := e.l.CheckNamed(ctx, tenant, "search", fits+"k", 1)
	if !isFault(err, fault.Invalid, "invalid_limit") {
		t.Errorf("key too long with a tenant: err = %v, want Invalid", err)
	} else if fe := (*fault.Error)(nil); errors.As(err, &fe) && fe.Field != "key" {
		t.Errorf("key too long with a tenant: field %q, want key", fe.Field)
	}
	for _, key := range []string{"", "a\nb", "a\x00b"} {
		if _, err := e.l.CheckNamed(ctx, "a", "search", key, 1); !isFault(err, fault.Invalid, "invalid_limit") {
			t.Errorf("key %q: err = %v, want Invalid", key, err)
		}
	}
}

func TestCheckNamedFailModes(t *testing.T) {
	s := &stubBackend{}
	s.returns(ratelimit.Result{}, errDown)
	e := newLimiterEnv(t, s, map[string]string{"open": "10/1m", "closed": "10/1m fail=closed"})
	ctx := context.Background()
	if d, err := e.l.CheckNamed(ctx, "a", "open", "k", 1); err != nil || !d.Result.Allowed || !d.Unchecked {
		t.Errorf("fail open: %+v, %v", d, err)
	}
	if _, err := e.l.CheckNamed(ctx, "a", "closed", "k", 1); !isFault(err, fault.Unavailable, "ratelimit_unavailable") {
		t.Errorf("fail closed: %v", err)
	}
	if f := e.takeFailures(); len(f) != 2 || f[0] != (failure{"open", true}) || f[1] != (failure{"closed", false}) {
		t.Errorf("Failed calls %v", f)
	}
}

func TestSetTenantLimitsValidation(t *testing.T) {
	e := newLimiterEnv(t, nil, configured)
	ctx := context.Background()

	tooMany := map[string]string{}
	for i := range ratelimit.MaxTenantLimits + 1 {
		tooMany[fmt.Sprintf("l%d", i)] = "1/1m"
	}
	justEnough := maps.Clone(tooMany)
	delete(justEnough, "l0")

	for _, c := range []struct {
		name         string
		limits       map[string]string
		code, field  string
		wantNotFound bool
	}{
		{"too many", tooMany, "too_many_limits", "limits", false},
		{"ip tier", map[string]string{ratelimit.TierIP: "1/1s"}, "limit_not_overridable", "limits.ip", false},
		{"login tier", map[string]string{ratelimit.TierLogin: "1/1s"}, "limit_not_overridable", "limits.login", false},
		{"login_account tier", map[string]string{ratelimit.TierLoginAccount: "1/1s"}, "limit_not_overridable", "limits.login_account", false},
		{"token tier", map[string]string{ratelimit.TierToken: "1/1s"}, "limit_not_overridable", "limits.token", false},
		{"service tier", map[string]string{ratelimit.TierService: "1/1s"}, "limit_not_overridable", "limits.service", false},
		{"bad spec", map[string]string{"search": "100"}, "invalid_rate_limit", "limits.search", false},
		{"bad rate", map[string]string{"search": "0/1m"}, "invalid_rate_limit", "limits.search", false},
		{"bad option", map[string]string{ratelimit.TierTenant: "10/1m fail=maybe"}, "invalid_rate_limit", "limits.tenant", false},
		{"bad name", map[string]string{"Search": "1/1m"}, "invalid_rate_limit", "limits.Search", false},
		// The first bad name in sorted order is reported, whatever the
		// map's order.
		{"first bad", map[string]string{"b": "x", "a": "y", "c": "1/1m"}, "invalid_rate_limit", "limits.a", false},
	} {
		_, err := e.l.SetTenantLimits(ctx, "t1", c.limits)
		var fe *fault.Error
		if !errors.As(err, &fe) || fe.Kind != fault.Invalid || string(fe.Code) != c.code || fe.Field != c.field {
			t.Errorf("%s: err = %v (%+v), want Invalid %s in %s", c.name, err, fe, c.code, c.field)
		}
	}
	if e.tenants.writes != 0 {
		t.Fatalf("%d invalid sets reached the store", e.tenants.writes)
	}
	if c := e.takeChanged(); len(c) != 0 {
		t.Fatalf("Changed called for %v", c)
	}

	if _, err := e.l.SetTenantLimits(ctx, "t1", justEnough); err != nil {
		t.Fatalf("MaxTenantLimits overrides: %v", err)
	}

	// The store's error (no such tenant) is returned, and nothing is
	// announced.
	e.takeChanged()
	e.tenants.setErr = fault.NotFoundf("tenant_not_found", "no such tenant")
	if _, err := e.l.SetTenantLimits(ctx, "nope", map[string]string{"search": "1/1m"}); !isFault(err, fault.NotFound, "tenant_not_found") {
		t.Errorf("unknown tenant: err = %v", err)
	}
	if c := e.takeChanged(); len(c) != 0 {
		t.Errorf("Changed called for %v after a failed store", c)
	}
}

func TestSetTenantLimitsStoresCanonical(t *testing.T) {
	e := newLimiterEnv(t, nil, configured)
	ctx := context.Background()
	e.clock.Advance(1234567 * time.Nanosecond)

	tl, err := e.l.SetTenantLimits(ctx, "t1", map[string]string{
		ratelimit.TierTenant: "  1000/m  gcra fail=open ",
		ratelimit.TierActor:  "off",
		"search":             "10/60s\tsliding_window   fail=closed",
		"export":             "5/1440m burst=2",
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		ratelimit.TierTenant: "1000/1m",
		ratelimit.TierActor:  "off",
		"search":             "10/1m sliding_window fail=closed",
		"export":             "5/24h burst=2",
	}
	if tl.TenantID != "t1" || !maps.Equal(tl.Limits, want) {
		t.Errorf("returned %+v, want limits %v", tl, want)
	}
	if wantAt := e.clock.Now().UTC().Truncate(time.Microsecond); !tl.UpdatedAt.Equal(wantAt) || tl.UpdatedAt.Location() != time.UTC {
		t.Errorf("UpdatedAt %v, want %v (UTC, µs)", tl.UpdatedAt, wantAt)
	}
	stored, err := e.l.TenantLimits(ctx, "t1")
	if err != nil || !maps.Equal(stored.Limits, want) || !stored.UpdatedAt.Equal(tl.UpdatedAt) {
		t.Errorf("stored %+v, %v; want limits %v", stored, err, want)
	}
	if c := e.takeChanged(); len(c) != 1 || c[0] != "t1" {
		t.Errorf("Changed calls %v, want [t1]", c)
	}

	// An empty map removes the overrides.
	if _, err := e.l.SetTenantLimits(ctx, "t1", nil); err != nil {
		t.Fatal(err)
	}
	if stored, _ := e.l.TenantLimits(ctx, "t1"); len(stored.Limits) != 0 {
		t.Errorf("after clearing: %v", stored.Limits)
	}
	if p, _, _ := e.l.Policy(ctx, "t1", ratelimit.TierTenant); p != mustParse(t, ratelimit.TierTenant, "100/1m") {
		t.Errorf("after clearing: policy %v", p)
	}
	if c := e.takeChanged(); len(c) != 1 || c[0] != "t1" {
		t.Errorf("Changed calls %v, want [t1]", c)
	}
}

func TestSetTenantLimitsInvalidatesCache(t *testing.T) {
	e := newLimiterEnv(t, nil, configured)
	ctx := context.Background()
	policy := func(tenant string) string {
		t.Helper()
		p, ok, err := e.l.Policy(ctx, tenant, "search")
		if err != nil || !ok {
			t.Fatalf("Policy(%q, search): %v, %v", tenant, ok, err)
		}
		return p.String()
	}
	if got := policy("t1"); got != "2/1m" { // now cached: no overrides
		t.Fatalf("before: %s", got)
	}
	if _, err := e.l.SetTenantLimits(ctx, "t1", map[string]string{"search": "50/1m"}); err != nil {
		t.Fatal(err)
	}
	// At once, without the clock moving.
	if got := policy("t1"); got != "50/1m" {
		t.Fatalf("right after SetTenantLimits: %s, want 50/1m", got)
	}
	if _, err := e.l.SetTenantLimits(ctx, "t1", map[string]string{"search": "60/1m"}); err != nil {
		t.Fatal(err)
	}
	if got := policy("t1"); got != "60/1m" {
		t.Fatalf("after replacing: %s, want 60/1m", got)
	}
	if _, err := e.l.SetTenantLimits(ctx, "t1", map[string]string{}); err != nil {
		t.Fatal(err)
	}
	if got := policy("t1"); got != "2/1m" {
		t.Fatalf("after removing: %s, want the configured 2/1m", got)
	}
}

func TestOverrideCacheTTL(t *testing.T) {
	e := newLimiterEnv(t, nil, configured)
	ctx := context.Background()
	e.tenants.put("t1", map[string]string{"search": "10/1m"})
	policy := func() string {
		t.Helper()
		p, _, err := e.l.Policy(ctx, "t1", "search")
		if err != nil {
			t.Fatal(err)
		}
		return p.String()
	}
	if got := policy(); got != "10/1m" {
		t.Fatalf("first read: %s", got)
	}
	reads := e.tenants.readCount()

	// Another replica changes the overrides; this one's announcement is
	// lost. The cached copy is served until the TTL passes.
	e.tenants.put("t1", map[string]string{"search": "20/1m"})
	for range 3 {
		if got := policy(); got != "10/1m" {
			t.Fatalf("within the TTL: %s, want the cached 10/1m", got)
		}
	}
	e.clock.Advance(testTTL - time.Nanosecond)
	if got := policy(); got != "10/1m" {
		t.Fatalf("just before the TTL: %s, want the cached 10/1m", got)
	}
	if n := e.tenants.readCount(); n != reads {
		t.Fatalf("cached reads hit the store %d times", n-reads)
	}
	e.clock.Advance(time.Nanosecond)
	if got := policy(); got != "20/1m" {
		t.Fatalf("at the TTL: %s, want 20/1m", got)
	}
	if n := e.tenants.readCount(); n != reads+1 {
		t.Fatalf("expired entry: %d store reads, want 1", n-reads)
	}

	// Invalidate (what the Changed announcement triggers on other
	// replicas) drops it at once.
	e.tenants.put("t1", map[string]string{"search": "30/1m"})
	if got := policy(); got != "20/1m" {
		t.Fatalf("cached: %s", got)
	}
	e.l.Invalidate()
	if got := policy(); got != "30/1m" {
		t.Fatalf("after Invalidate: %s, want 30/1m", got)
	}
}

func TestLimiterDefaultsAndPolicies(t *testing.T) {
	p := mustParse(t, "search", "2/1m")
	l := ratelimit.NewLimiter(ratelimit.LimiterDeps{
		Backend:  ratelimit.NewLocal(ratelimit.LocalOptions{}),
		Tenants:  newMemTenants(),
		Policies: map[string]ratelimit.Policy{"search": p},
	}, ratelimit.LimiterOptions{})
	// Nil Now, Log, Failed and Changed are fine.
	ctx := context.Background()
	if d, err := l.CheckNamed(ctx, "a", "search", "k", 1); err != nil || !d.Result.Allowed {
		t.Fatalf("%+v, %v", d, err)
	}
	if _, err := l.SetTenantLimits(ctx, "a", map[string]string{"search": "1/1m"}); err != nil {
		t.Fatal(err)
	}
	// Policies is a copy.
	ps := l.Policies()
	delete(ps, "search")
	if _, ok := l.Policies()["search"]; !ok {
		t.Fatal("Policies returned the Limiter's own map")
	}

	s := &stubBackend{}
	s.returns(ratelimit.Result{}, errDown)
	l = ratelimit.NewLimiter(ratelimit.LimiterDeps{Backend: s, Tenants: newMemTenants()}, ratelimit.LimiterOptions{})
	if d, err := l.Check(ctx, p, "k", 1); err != nil || !d.Unchecked {
		t.Fatalf("nil Failed, fail open: %+v, %v", d, err)
	}
}

func TestExceeded(t *testing.T) {
	allowed := func(name string) ratelimit.Decision {
		return ratelimit.Decision{Name: name, Result: ratelimit.Result{Allowed: true, Quota: 10, Remaining: 5}}
	}
	denied := func(name string, retry time.Duration) ratelimit.Decision {
		return ratelimit.Decision{Name: name, Result: ratelimit.Result{Quota: 10, RetryAfter: retry}}
	}
	unchecked := func(name string) ratelimit.Decision {
		return ratelimit.Decision{Name: name, Result: ratelimit.Result{Allowed: true}, Unchecked: true}
	}
	for _, c := range []struct {
		name  string
		ds    []ratelimit.Decision
		want  []string // nil: no error
		retry time.Duration
	}{
		{"empty", nil, nil, 0},
		{"all allowed", []ratelimit.Decision{allowed("ip"), allowed("tenant")}, nil, 0},
		{"unchecked", []ratelimit.Decision{unchecked("ip"), unchecked("tenant")}, nil, 0},
		{"one denied", []ratelimit.Decision{allowed("ip"), denied("tenant", 3*time.Second), unchecked("actor")}, []string{"tenant"}, 3 * time.Second},
		{"longest wait", []ratelimit.Decision{denied("ip", 2*time.Second), allowed("x"), denied("tenant", 7*time.Second), denied("actor", time.Second)}, []string{"ip", "tenant", "actor"}, 7 * time.Second},
	} {
		err := ratelimit.Exceeded(c.ds)
		if c.want == nil {
			if err != nil {
				t.Errorf("%s: %v, want nil", c.name, err)
			}
			continue
		}
		var ee *ratelimit.ExceededError
		if !errors.As(err, &ee) {
			t.Errorf("%s: %T %v, want *ExceededError", c.name, err, err)
			continue
		}
		if strings.Join(ee.Policies, ",") != strings.Join(c.want, ",") || ee.RetryAfter != c.retry {
			t.Errorf("%s: %+v, want policies %v, retry %v", c.name, ee, c.want, c.retry)
		}
		if want := "rate limit exceeded: " + strings.Join(c.want, ", "); err.Error() != want {
			t.Errorf("%s: Error() = %q, want %q", c.name, err.Error(), want)
		}
		var fe *fault.Error
		if !errors.As(err, &fe) || fe.Kind != fault.RateLimited || fe.Code != "quota_exceeded" || fe.RetryAfter != c.retry {
			t.Errorf("%s: fault %+v, want RateLimited quota_exceeded", c.name, fe)
		}
		if !strings.Contains(fe.Detail, strings.Join(c.want, ", ")) {
			t.Errorf("%s: detail %q does not name the policies", c.name, fe.Detail)
		}
	}
	// A nil *ExceededError is never returned as a non-nil error.
	if err := ratelimit.Exceeded([]ratelimit.Decision{allowed("ip")}); err != nil {
		t.Errorf("typed nil: %#v", err)
	}
}

func TestHeaderFields(t *testing.T) {
	dec := func(name, spec string, r ratelimit.Result, unchecked bool) ratelimit.Decision {
		return ratelimit.Decision{Name: name, Policy: mustParse(t, name, spec), Result: r, Unchecked: unchecked}
	}
	for _, c := range []struct {
		name          string
		ds            []ratelimit.Decision
		policy, state string
	}{
		{"empty", nil, "", ""},
		{
			"one",
			[]ratelimit.Decision{dec("tenant", "1000/1m", ratelimit.Result{Allowed: true, Quota: 1000, Remaining: 950, ResetAfter: 30 * time.Second}, false)},
			`"tenant";q=1000;w=60`, `"tenant";r=950;t=30`,
		},
		{
			"two, the draft's example",
			[]ratelimit.Decision{
				dec("tenant", "1000/1m", ratelimit.Result{Allowed: true, Quota: 1000, Remaining: 950, ResetAfter: 30 * time.Second}, false),
				dec("actor", "100/10s", ratelimit.Result{Allowed: true, Quota: 100, Remaining: 99, ResetAfter: 100 * time.Millisecond}, false),
			},
			`"tenant";q=1000;w=60, "actor";q=100;w=10`, `"tenant";r=950;t=30, "actor";r=99;t=1`,
		},
		{
			"unchecked skipped",
			[]ratelimit.Decision{
				dec("ip", "10/1s", ratelimit.Result{Allowed: true}, true),
				dec("tenant", "off", ratelimit.Result{Allowed: true}, true),
				dec("actor", "5/1m burst=2", ratelimit.Result{Allowed: true, Quota: 2, Remaining: 1, ResetAfter: 12 * time.Second}, false),
				dec("search", "10/1m", ratelimit.Result{Allowed: true}, true),
			},
			`"actor";q=2;w=24`, `"actor";r=1;t=12`,
		},
		{
			"all unchecked",
			[]ratelimit.Decision{dec("ip", "10/1s", ratelimit.Result{Allowed: true}, true)},
			"", "",
		},
		{
			"ceil rounding",
			[]ratelimit.Decision{
				dec("a", "3/1s", ratelimit.Result{Allowed: true, Quota: 3, Remaining: 2, ResetAfter: 1}, false),                              // w: 999999999ns → 1
				dec("b", "7/1500ms sliding_window", ratelimit.Result{Allowed: true, Quota: 7, Remaining: 6, ResetAfter: time.Second}, false), // w: 1.5s → 2, t: exactly 1
				dec("c", "1/1ms", ratelimit.Result{Allowed: true, Quota: 1, ResetAfter: time.Second + time.Nanosecond}, false),               // w: 1ms → 1, t: 1s+1ns → 2
				dec("d", "10/1m", ratelimit.Result{Allowed: true, Quota: 10, Remaining: 10, ResetAfter: 0}, false),                           // t: 0
				dec("e", "1/1h", ratelimit.Result{Quota: 1, ResetAfter: 59*time.Minute + 59*time.Second + 1, RetryAfter: time.Hour}, false),  // denied: still listed
			},
			`"a";q=3;w=1, "b";q=7;w=2, "c";q=1;w=1, "d";q=10;w=60, "e";q=1;w=3600`,
			`"a";r=2;t=1, "b";r=6;t=1, "c";r=0;t=2, "d";r=10;t=0, "e";r=0;t=3600`,
		},
	} {
		p, s := ratelimit.HeaderFields(c.ds)
		if p != c.policy || s != c.state {
			t.Errorf("%s:\n got %s: %s\n     %s: %s\nwant %s: %s\n     %s: %s", c.name,
				ratelimit.PolicyHeader, p, ratelimit.StateHeader, s,
				ratelimit.PolicyHeader, c.policy, ratelimit.StateHeader, c.state)
		}
	}
}

// TestHeaderFieldsFromChecks renders the fields of real decisions.
func TestHeaderFieldsFromChecks(t *testing.T) {
	e := newLimiterEnv(t, nil, nil)
	ctx := context.Background()
	tenant, err := e.l.Check(ctx, mustParse(t, "tenant", "1000/1m"), "t1", 1)
	if err != nil {
		t.Fatal(err)
	}
	actor, err := e.l.Check(ctx, mustParse(t, "actor", "10/1s burst=20"), "k1", 5)
	if err != nil {
		t.Fatal(err)
	}
	off, err := e.l.Check(ctx, mustParse(t, "ip", "off"), "1.2.3.4", 1)
	if err != nil {
		t.Fatal(err)
	}
	p, s := ratelimit.HeaderFields([]ratelimit.Decision{off, tenant, actor})
	// tenant: T = 60ms, one used → 60ms to reset → t=1; actor: T = 100ms,
	// burst 20 → w=2, five used → 500ms → t=1.
	if wantP, wantS := `"tenant";q=1000;w=60, "actor";q=20;w=2`, `"tenant";r=999;t=1, "actor";r=15;t=1`; p != wantP || s != wantS {
		t.Errorf("got %q / %q, want %q / %q", p, s, wantP, wantS)
	}
}

// TestLimiterPeekAndReset: Peek and Reset apply a policy as Check does: an
// off policy asks nothing, a backend failure fails as the policy says (a
// reset, which refuses nothing, is counted as letting the request
// through), and a bad key is the caller's error, not a backend failure.
func TestLimiterPeekAndReset(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name, spec, key string
		answer          error
		wantPeek        string // "" allowed and counted, "unchecked", or an error code
		wantReset       string // "" or an error code
		failures        []failure
	}{
		{"off", "off", "k", errDown, "unchecked", "", nil},
		{"healthy", "10/1m", "k", nil, "", "", nil},
		{"down, fail=open", "10/1m", "k", errDown, "unchecked", "ratelimit_unavailable", []failure{{"p", true}, {"p", true}}},
		{"down, fail=closed", "10/1m fail=closed", "k", errDown, "ratelimit_unavailable", "ratelimit_unavailable", []failure{{"p", false}, {"p", true}}},
		{"bad key", "10/1m fail=closed", "", errBadKey, "invalid_limit", "invalid_limit", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := &stubBackend{}
			s.returns(okResult, c.answer)
			e := newLimiterEnv(t, s, nil)
			p := mustParse(t, "p", c.spec)
			d, err := e.l.Peek(ctx, p, c.key)
			switch c.wantPeek {
			case "":
				if err != nil || !d.Result.Allowed || d.Unchecked || d.Result != okResult {
					t.Fatalf("peek: %+v, %v", d, err)
				}
			case "unchecked":
				if err != nil || !d.Result.Allowed || !d.Unchecked {
					t.Fatalf("peek: %+v, %v; want allowed, unchecked", d, err)
				}
			default:
				if err == nil || !errors.Is(err, &fault.Error{Code: fault.Code(c.wantPeek)}) {
					t.Fatalf("peek: err = %v, want %s", err, c.wantPeek)
				}
			}
			err = e.l.Reset(ctx, p, c.key)
			if c.wantReset == "" && err != nil || c.wantReset != "" && !errors.Is(err, &fault.Error{Code: fault.Code(c.wantReset)}) {
				t.Fatalf("reset: err = %v, want %q", err, c.wantReset)
			}
			if f := e.takeFailures(); !slices.Equal(f, c.failures) {
				t.Fatalf("failures %v, want %v", f, c.failures)
			}
			if c.spec == "off" && s.calls.Load() != 0 {
				t.Fatalf("an off policy reached the backend %d times", s.calls.Load())
			}
		})
	}
}
