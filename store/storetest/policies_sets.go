package storetest

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/tollgate/tollgate/cursor"
	"github.com/tollgate/tollgate/policy"
	"github.com/tollgate/tollgate/store"
)

// policySet is version text of tenantID's policies, as a caller passes it
// (Version is set by the store).
func policySet(tenantID, text string, d time.Duration) policy.PolicySet {
	return policy.PolicySet{TenantID: tenantID, Text: text, CreatedBy: "user:alice", CreatedAt: at(d)}
}

// storedSet is what a store returns for ps stored as version.
func storedSet(ps policy.PolicySet, version int64) policy.PolicySet {
	ps.Version = version
	ps.CreatedAt = us(ps.CreatedAt)
	return ps
}

// listed is storedSet as ListPolicySetVersions returns it: without Text.
func listed(ps policy.PolicySet) policy.PolicySet {
	ps.Text = ""
	return ps
}

func noPolicies(tenantID string) policy.PolicySet { return policy.PolicySet{TenantID: tenantID} }

// addVersions adds n versions of tenantID's policies from version 1 and
// returns them as stored.
func addVersions(t *testing.T, s store.Store, tenantID string, n int) []policy.PolicySet {
	t.Helper()
	var out []policy.PolicySet
	for i := range n {
		ps := policySet(tenantID, fmt.Sprintf("// %s v%d\npermit (principal, action, resource);", tenantID, i+1), time.Duration(i)*time.Minute)
		must(t, s.AddPolicySet(t.Context(), ps, int64(i)))
		out = append(out, storedSet(ps, int64(i+1)))
	}
	return out
}

func versionsOf(l []policy.PolicySet) []int64 {
	out := []int64{}
	for _, ps := range l {
		out = append(out, ps.Version)
	}
	return out
}

func testPolicySetNoneByDefault(t *testing.T, s store.Store) {
	ctx := t.Context()
	newTenant(t, s, "t1", "user:alice")
	for _, tenantID := range []string{"t1", "nope", ""} {
		check(t, "CurrentPolicySet("+tenantID+")", ok(s.CurrentPolicySet(ctx, tenantID))(t), noPolicies(tenantID))
		check(t, "ListPolicySetVersions("+tenantID+")", ok(s.ListPolicySetVersions(ctx, tenantID, cursor.Page{}))(t), []policy.PolicySet{})
		_, err := s.PolicySetVersion(ctx, tenantID, 1)
		wantNotFound(t, err, "policy_version_not_found")
	}
}

func testPolicySetAddAndGet(t *testing.T, s store.Store) {
	ctx := t.Context()
	newTenant(t, s, "t1", "user:alice")
	long := strings.Repeat("permit (principal, action, resource) when { context.ip == \"10.0.0.1\" };\n", 2000)
	steps := []struct {
		name string
		ps   policy.PolicySet
	}{
		{"first", policySet("t1", "permit (principal, action, resource);", time.Minute)},
		// The Version a caller passes is ignored: previous+1 is.
		{"version ignored", func() policy.PolicySet {
			ps := policySet("t1", "forbid (principal, action, resource);", 2*time.Minute)
			ps.Version = 99
			return ps
		}()},
		{"long text", policySet("t1", long, 3*time.Minute)},
		{"nasty text", policySet("t1", strings.Join(nasty, "\n"), 4*time.Minute)},
		// Empty text: no policies of the tenant's own, as a version.
		{"empty text", func() policy.PolicySet {
			ps := policySet("t1", "", 5*time.Minute)
			ps.CreatedBy = ""
			return ps
		}()},
		{"zero time", func() policy.PolicySet {
			ps := policySet("t1", "// v6", 0)
			ps.CreatedAt = time.Time{}
			return ps
		}()},
	}
	var want []policy.PolicySet
	for i, step := range steps {
		v := int64(i + 1)
		must(t, s.AddPolicySet(ctx, step.ps, v-1))
		w := storedSet(step.ps, v)
		want = append(want, w)
		check(t, step.name+": current", ok(s.CurrentPolicySet(ctx, "t1"))(t), w)
	}
	// Every version stays readable.
	for _, w := range want {
		check(t, fmt.Sprintf("version %d", w.Version), ok(s.PolicySetVersion(ctx, "t1", w.Version))(t), w)
	}
}

func testPolicySetVersionConflict(t *testing.T, s store.Store) {
	ctx := t.Context()
	newTenant(t, s, "t1", "user:alice")
	vs := addVersions(t, s, "t1", 2)
	for _, tc := range []struct {
		name     string
		previous int64
	}{
		{"stale, none", 0},
		{"stale", 1},
		{"ahead", 3},
		{"far ahead", 1000},
		{"negative", -1},
		{"max", math.MaxInt64},
		{"min", math.MinInt64},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantConflict(t, s.AddPolicySet(ctx, policySet("t1", "// refused", time.Hour), tc.previous), "policy_version_conflict")
		})
	}
	check(t, "current unchanged", ok(s.CurrentPolicySet(ctx, "t1"))(t), vs[1])
	check(t, "versions unchanged", versionsOf(ok(s.ListPolicySetVersions(ctx, "t1", cursor.Page{}))(t)), []int64{2, 1})
	// The right previous still works after the refusals.
	must(t, s.AddPolicySet(ctx, policySet("t1", "// v3", time.Hour), 2))
	check(t, "v3", ok(s.CurrentPolicySet(ctx, "t1"))(t), storedSet(policySet("t1", "// v3", time.Hour), 3))
}

func testPolicySetVersionNotFound(t *testing.T, s store.Store) {
	ctx := t.Context()
	newTenant(t, s, "t1", "user:alice")
	newTenant(t, s, "t2", "user:bob")
	addVersions(t, s, "t1", 2)
	addVersions(t, s, "t2", 3)
	for _, tc := range []struct {
		name    string
		tenant  string
		version int64
	}{
		{"zero", "t1", 0},
		{"negative", "t1", -1},
		{"next", "t1", 3},
		{"max", "t1", math.MaxInt64},
		{"min", "t1", math.MinInt64},
		{"unknown tenant", "nope", 1},
		{"no tenant", "", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.PolicySetVersion(ctx, tc.tenant, tc.version)
			wantNotFound(t, err, "policy_version_not_found")
		})
	}
}

func testPolicySetUnknownTenantNotFound(t *testing.T, s store.Store) {
	ctx := t.Context()
	newTenant(t, s, "t1", "user:alice")
	addVersions(t, s, "t1", 1)
	for _, tc := range []struct {
		name     string
		tenant   string
		previous int64
	}{
		{"unknown", "nope", 0},
		// Not found outranks the conflict a wrong previous would be.
		{"unknown, wrong previous", "nope", 1},
		{"no tenant", "", 0},
		{"prefix of a tenant", "t", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantNotFound(t, s.AddPolicySet(ctx, policySet(tc.tenant, "// x", time.Hour), tc.previous), "tenant_not_found")
			check(t, "current", ok(s.CurrentPolicySet(ctx, tc.tenant))(t), noPolicies(tc.tenant))
			check(t, "versions", ok(s.ListPolicySetVersions(ctx, tc.tenant, cursor.Page{}))(t), []policy.PolicySet{})
		})
	}
	check(t, "t1 versions", versionsOf(ok(s.ListPolicySetVersions(ctx, "t1", cursor.Page{}))(t)), []int64{1})
}

func testPolicySetTenantIsolation(t *testing.T, s store.Store) {
	ctx := t.Context()
	newTenant(t, s, "ta", "user:alice")
	newTenant(t, s, "tb", "user:bob")
	newTenant(t, s, "tc", "user:carol")
	va := addVersions(t, s, "ta", 3)
	vb := addVersions(t, s, "tb", 1)

	check(t, "ta current", ok(s.CurrentPolicySet(ctx, "ta"))(t), va[2])
	check(t, "tb current", ok(s.CurrentPolicySet(ctx, "tb"))(t), vb[0])
	check(t, "tc current", ok(s.CurrentPolicySet(ctx, "tc"))(t), noPolicies("tc"))
	check(t, "tb v1", ok(s.PolicySetVersion(ctx, "tb", 1))(t), vb[0])
	_, err := s.PolicySetVersion(ctx, "tb", 2)
	wantNotFound(t, err, "policy_version_not_found")
	check(t, "tb versions", versionsOf(ok(s.ListPolicySetVersions(ctx, "tb", cursor.Page{}))(t)), []int64{1})
	check(t, "tc versions", versionsOf(ok(s.ListPolicySetVersions(ctx, "tc", cursor.Page{}))(t)), []int64{})

	// Versions count per tenant: A's current is no previous of B's,
	// and B's change does not move A's.
	wantConflict(t, s.AddPolicySet(ctx, policySet("tb", "// x", time.Hour), 3), "policy_version_conflict")
	must(t, s.AddPolicySet(ctx, policySet("tb", "// b2", time.Hour), 1))
	must(t, s.AddPolicySet(ctx, policySet("tc", "// c1", time.Hour), 0))
	check(t, "ta after", ok(s.CurrentPolicySet(ctx, "ta"))(t), va[2])
	check(t, "ta versions", versionsOf(ok(s.ListPolicySetVersions(ctx, "ta", cursor.Page{}))(t)), []int64{3, 2, 1})
	check(t, "tb v2", ok(s.PolicySetVersion(ctx, "tb", 2))(t), storedSet(policySet("tb", "// b2", time.Hour), 2))
}
