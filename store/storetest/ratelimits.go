package storetest

import (
	"testing"
	"time"

	"github.com/tollgate/tollgate/ratelimit"
	"github.com/tollgate/tollgate/store"
)

// limits is tenantID's overrides, updated at t0 plus d.
func limits(tenantID string, d time.Duration, m map[string]string) ratelimit.TenantLimits {
	return ratelimit.TenantLimits{TenantID: tenantID, Limits: m, UpdatedAt: at(d)}
}

// noLimits is what TenantRateLimits returns for a tenant without overrides.
// check compares maps with reflect.DeepEqual, so the want being an empty
// map, not nil, also checks that the store never returns nil.
func noLimits(tenantID string) ratelimit.TenantLimits {
	return ratelimit.TenantLimits{TenantID: tenantID, Limits: map[string]string{}}
}

func truncLimits(tl ratelimit.TenantLimits) ratelimit.TenantLimits {
	tl.UpdatedAt = us(tl.UpdatedAt)
	return tl
}

// setLimits sets tl and checks that it reads back as written.
func setLimits(t *testing.T, s store.Store, tl ratelimit.TenantLimits) {
	t.Helper()
	must(t, s.SetTenantRateLimits(t.Context(), tl))
	check(t, "TenantRateLimits("+tl.TenantID+")", ok(s.TenantRateLimits(t.Context(), tl.TenantID))(t), truncLimits(tl))
}

// ratePlan is a tenant's overrides as a plan sets them.
func ratePlan() map[string]string {
	return map[string]string{
		"api":    "100/1m",
		"login":  "10/1m burst=5 fail=closed",
		"tokens": "1000/m sliding_window",
	}
}

func rateLimitTests() []test {
	return []test{
		{"TenantNoneByDefault", testRateLimitTenantNoneByDefault},
		{"TenantSetReplaceDelete", testRateLimitTenantSetReplaceDelete},
		{"TenantTimesRoundTrip", testRateLimitTenantTimesRoundTrip},
		{"TenantValuesStoredAsGiven", testRateLimitTenantValuesStoredAsGiven},
		{"TenantUnknownNotFound", testRateLimitTenantUnknownNotFound},
		{"TenantIsolation", testRateLimitTenantIsolation},
		// The suite has no way to delete a tenant (the store has none), so
		// ON DELETE CASCADE of tenant_rate_limits is not exercised here.

		{"APIKeyRoundTrip", testRateLimitAPIKeyRoundTrip},
		{"APIKeySetChangesOnlyRateLimit", testRateLimitAPIKeySetChangesOnlyRateLimit},
		{"APIKeySetUnknownKeyNotFound", testRateLimitAPIKeySetUnknownKeyNotFound},
	}
}

func testRateLimitTenantNoneByDefault(t *testing.T, s store.Store) {
	ctx := t.Context()
	newTenant(t, s, "t1", "user:alice")
	check(t, "existing tenant", ok(s.TenantRateLimits(ctx, "t1"))(t), noLimits("t1"))
	// Reading does not check that the tenant exists.
	check(t, "unknown tenant", ok(s.TenantRateLimits(ctx, "nope"))(t), noLimits("nope"))
	check(t, "no tenant", ok(s.TenantRateLimits(ctx, ""))(t), noLimits(""))
}

func testRateLimitTenantSetReplaceDelete(t *testing.T, s store.Store) {
	plan := ratePlan()
	ctx := t.Context()
	newTenant(t, s, "t1", "user:alice")
	for _, step := range []struct {
		name string
		tl   ratelimit.TenantLimits
		want ratelimit.TenantLimits
	}{
		{"set", limits("t1", time.Minute, plan), truncLimits(limits("t1", time.Minute, plan))},
		// Replaced whole: names absent from the new map go, and
		// UpdatedAt may move backwards (the caller's clock rules).
		{"replace", limits("t1", 30*time.Second, map[string]string{"api": "off", "uploads": "5/1s"}),
			truncLimits(limits("t1", 30*time.Second, map[string]string{"api": "off", "uploads": "5/1s"}))},
		{"same again", limits("t1", 2*time.Minute, map[string]string{"api": "off", "uploads": "5/1s"}),
			truncLimits(limits("t1", 2*time.Minute, map[string]string{"api": "off", "uploads": "5/1s"}))},
		{"empty map deletes", limits("t1", time.Hour, map[string]string{}), noLimits("t1")},
		{"delete again", limits("t1", time.Hour, map[string]string{}), noLimits("t1")},
		{"set after delete", limits("t1", 2*time.Hour, map[string]string{"api": "1/s"}),
			truncLimits(limits("t1", 2*time.Hour, map[string]string{"api": "1/s"}))},
		{"nil map deletes", limits("t1", 3*time.Hour, nil), noLimits("t1")},
	} {
		must(t, s.SetTenantRateLimits(ctx, step.tl))
		check(t, step.name, ok(s.TenantRateLimits(ctx, "t1"))(t), step.want)
	}
}

func testRateLimitTenantTimesRoundTrip(t *testing.T, s store.Store) {
	newTenant(t, s, "t1", "user:alice")
	zone := time.FixedZone("UTC-3", -3*3600)
	for _, when := range []time.Time{
		at(0), // nanoseconds: truncated to microseconds
		time.Date(2024, 2, 29, 23, 59, 59, 999999999, zone),
		time.Date(2300, 1, 1, 0, 0, 0, 1000, time.UTC),
		{},
	} {
		setLimits(t, s, ratelimit.TenantLimits{TenantID: "t1", Limits: map[string]string{"api": "1/s"}, UpdatedAt: when})
	}
}

func testRateLimitTenantValuesStoredAsGiven(t *testing.T, s store.Store) {
	newTenant(t, s, "t1", "user:alice")
	// Names and specs are stored as given, not interpreted: the
	// service validates them before they get here.
	m := map[string]string{"": "", "api": "", "a.b/c": `{"x": 1}`, "<&>": "\u2028 \" \\"}
	for i, v := range nasty {
		m[v] = nasty[len(nasty)-1-i]
	}
	setLimits(t, s, limits("t1", time.Minute, m))
	// Many names.
	big := map[string]string{}
	for _, id := range ids("limit", 100) {
		big[id] = "100/1m burst=" + id[len(id)-2:]
	}
	setLimits(t, s, limits("t1", time.Minute, big))
}

func testRateLimitTenantUnknownNotFound(t *testing.T, s store.Store) {
	plan := ratePlan()
	ctx := t.Context()
	newTenant(t, s, "t1", "user:alice")
	for _, tc := range []struct {
		name string
		tl   ratelimit.TenantLimits
	}{
		{"set", limits("nope", time.Minute, plan)},
		{"empty map", limits("nope", time.Minute, map[string]string{})},
		{"nil map", limits("nope", time.Minute, nil)},
		{"no tenant", limits("", time.Minute, plan)},
		{"prefix of a tenant", limits("t", time.Minute, plan)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantNotFound(t, s.SetTenantRateLimits(ctx, tc.tl), "tenant_not_found")
			check(t, "after refused set", ok(s.TenantRateLimits(ctx, tc.tl.TenantID))(t), noLimits(tc.tl.TenantID))
		})
	}
	check(t, "t1 untouched", ok(s.TenantRateLimits(ctx, "t1"))(t), noLimits("t1"))
}

func testRateLimitTenantIsolation(t *testing.T, s store.Store) {
	plan := ratePlan()
	ctx := t.Context()
	newTenant(t, s, "ta", "user:alice")
	newTenant(t, s, "tb", "user:bob")
	newTenant(t, s, "tc", "user:carol")
	a := limits("ta", time.Minute, plan)
	b := limits("tb", 2*time.Minute, map[string]string{"api": "5/1s"})
	setLimits(t, s, a)
	setLimits(t, s, b)
	check(t, "ta", ok(s.TenantRateLimits(ctx, "ta"))(t), truncLimits(a))
	check(t, "tc sees none", ok(s.TenantRateLimits(ctx, "tc"))(t), noLimits("tc"))

	// Replacing or deleting B's leaves A's as they were.
	setLimits(t, s, limits("tb", 3*time.Minute, map[string]string{"tokens": "off"}))
	check(t, "ta after tb replaced", ok(s.TenantRateLimits(ctx, "ta"))(t), truncLimits(a))
	must(t, s.SetTenantRateLimits(ctx, limits("tb", 4*time.Minute, nil)))
	check(t, "tb deleted", ok(s.TenantRateLimits(ctx, "tb"))(t), noLimits("tb"))
	check(t, "ta after tb deleted", ok(s.TenantRateLimits(ctx, "ta"))(t), truncLimits(a))
}
