package storetest

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/tollgate/tollgate/cursor"
	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/policy"
	"github.com/tollgate/tollgate/store"
)

// schemaTests cover policy.Store's versions of tenants' schema extensions.
func schemaTests() []test {
	return []test{
		{"SchemaNoneByDefault", testSchemaNoneByDefault},
		{"SchemaAddAndGet", testSchemaAddAndGet},
		{"SchemaVersionConflict", testSchemaVersionConflict},
		{"SchemaPolicyVersionConflict", testSchemaPolicyVersionConflict},
		{"SchemaUnknownTenantNotFound", testSchemaUnknownTenantNotFound},
		{"SchemaListNewestFirst", testSchemaListNewestFirst},
		{"SchemaTenantIsolation", testSchemaTenantIsolation},
		{"SchemaConcurrentAddOneWins", testSchemaConcurrentAddOneWins},
	}
}

// schemaVersion is text as a caller passes it (Version is set by the store).
func schemaVersion(tenantID, text string, d time.Duration) policy.SchemaVersion {
	return policy.SchemaVersion{TenantID: tenantID, Text: text, CreatedBy: "user:alice", CreatedAt: at(d)}
}

// storedSchema is what a store returns for sv stored as version.
func storedSchema(sv policy.SchemaVersion, version int64) policy.SchemaVersion {
	sv.Version = version
	sv.CreatedAt = us(sv.CreatedAt)
	return sv
}

func schemaVersionsOf(l []policy.SchemaVersion) []int64 {
	out := []int64{}
	for _, sv := range l {
		out = append(out, sv.Version)
	}
	return out
}

// addSchemas adds n schema versions of tenantID (with no policies) from
// version 1 and returns them as stored.
func addSchemas(t *testing.T, s store.Store, tenantID string, n int) []policy.SchemaVersion {
	t.Helper()
	var out []policy.SchemaVersion
	for i := range n {
		sv := schemaVersion(tenantID, fmt.Sprintf("// %s v%d\nentity T%d;", tenantID, i+1, i), time.Duration(i)*time.Minute)
		must(t, s.AddSchema(t.Context(), sv, int64(i), 0))
		out = append(out, storedSchema(sv, int64(i+1)))
	}
	return out
}

func testSchemaNoneByDefault(t *testing.T, s store.Store) {
	ctx := t.Context()
	newTenant(t, s, "t1", "user:alice")
	for _, tenantID := range []string{"t1", "nope", ""} {
		check(t, "CurrentSchema("+tenantID+")", ok(s.CurrentSchema(ctx, tenantID))(t), policy.SchemaVersion{TenantID: tenantID})
		check(t, "ListSchemaVersions("+tenantID+")", ok(s.ListSchemaVersions(ctx, tenantID, cursor.Page{}))(t), []policy.SchemaVersion{})
		_, err := s.SchemaVersion(ctx, tenantID, 1)
		wantNotFound(t, err, "schema_version_not_found")
	}
}

func testSchemaAddAndGet(t *testing.T, s store.Store) {
	ctx := t.Context()
	newTenant(t, s, "t1", "user:alice")
	steps := []policy.SchemaVersion{
		schemaVersion("t1", "entity Invoice;", time.Minute),
		func() policy.SchemaVersion {
			sv := schemaVersion("t1", "entity Channel = { topic?: String };", 2*time.Minute)
			sv.Version = 99 // ignored: previous+1 is
			return sv
		}(),
		schemaVersion("t1", "// nasty\n"+nasty[0], 3*time.Minute),
		schemaVersion("t1", "", 4*time.Minute),
	}
	var want []policy.SchemaVersion
	for i, sv := range steps {
		v := int64(i + 1)
		must(t, s.AddSchema(ctx, sv, v-1, 0))
		w := storedSchema(sv, v)
		want = append(want, w)
		check(t, fmt.Sprintf("current after %d", v), ok(s.CurrentSchema(ctx, "t1"))(t), w)
	}
	for _, w := range want {
		check(t, fmt.Sprintf("version %d", w.Version), ok(s.SchemaVersion(ctx, "t1", w.Version))(t), w)
	}
}

func testSchemaVersionConflict(t *testing.T, s store.Store) {
	ctx := t.Context()
	newTenant(t, s, "t1", "user:alice")
	vs := addSchemas(t, s, "t1", 2)
	for _, previous := range []int64{0, 1, 3, 1000, -1, math.MaxInt64, math.MinInt64} {
		wantConflict(t, s.AddSchema(ctx, schemaVersion("t1", "// refused", time.Hour), previous, 0), "schema_version_conflict")
	}
	check(t, "current unchanged", ok(s.CurrentSchema(ctx, "t1"))(t), vs[1])
	must(t, s.AddSchema(ctx, schemaVersion("t1", "// v3", time.Hour), 2, 0))
	check(t, "versions", schemaVersionsOf(ok(s.ListSchemaVersions(ctx, "t1", cursor.Page{}))(t)), []int64{3, 2, 1})
}

// testSchemaPolicyVersionConflict: a schema is stored only beside the
// policy version it was checked against.
func testSchemaPolicyVersionConflict(t *testing.T, s store.Store) {
	ctx := t.Context()
	newTenant(t, s, "t1", "user:alice")
	addVersions(t, s, "t1", 2)
	for _, policies := range []int64{0, 1, 3} {
		wantConflict(t, s.AddSchema(ctx, schemaVersion("t1", "// refused", time.Hour), 0, policies), "policy_version_conflict")
	}
	check(t, "none stored", ok(s.CurrentSchema(ctx, "t1"))(t), policy.SchemaVersion{TenantID: "t1"})
	must(t, s.AddSchema(ctx, schemaVersion("t1", "// v1", time.Hour), 0, 2))
	// The policies' versions are untouched by the schema's.
	check(t, "policy versions", versionsOf(ok(s.ListPolicySetVersions(ctx, "t1", cursor.Page{}))(t)), []int64{2, 1})
}

func testSchemaUnknownTenantNotFound(t *testing.T, s store.Store) {
	ctx := t.Context()
	newTenant(t, s, "t1", "user:alice")
	for _, tc := range []struct {
		tenant   string
		previous int64
	}{{"nope", 0}, {"nope", 1}, {"", 0}, {"t", 0}} {
		wantNotFound(t, s.AddSchema(ctx, schemaVersion(tc.tenant, "// x", time.Hour), tc.previous, 0), "tenant_not_found")
		check(t, "current", ok(s.CurrentSchema(ctx, tc.tenant))(t), policy.SchemaVersion{TenantID: tc.tenant})
	}
}

func testSchemaListNewestFirst(t *testing.T, s store.Store) {
	ctx := t.Context()
	newTenant(t, s, "t1", "user:alice")
	vs := addSchemas(t, s, "t1", 5)
	first := ok(s.ListSchemaVersions(ctx, "t1", cursor.Page{Limit: 2}))(t)
	check(t, "first page", schemaVersionsOf(first), []int64{5, 4})
	if first[0].Text != "" || first[0].CreatedBy != vs[4].CreatedBy || !first[0].CreatedAt.Equal(vs[4].CreatedAt) {
		t.Fatalf("listed %+v, want %+v without text", first[0], vs[4])
	}
	check(t, "next page", schemaVersionsOf(ok(s.ListSchemaVersions(ctx, "t1", cursor.Page{Limit: 2, After: "4"}))(t)), []int64{3, 2})
	check(t, "last page", schemaVersionsOf(ok(s.ListSchemaVersions(ctx, "t1", cursor.Page{Limit: 2, After: "2"}))(t)), []int64{1})
	_, err := s.ListSchemaVersions(ctx, "t1", cursor.Page{After: "v2"})
	if fault.KindOf(err) != fault.Invalid {
		t.Fatalf("a bad cursor: %v, want Invalid", err)
	}
}

func testSchemaTenantIsolation(t *testing.T, s store.Store) {
	ctx := t.Context()
	newTenant(t, s, "ta", "user:alice")
	newTenant(t, s, "tb", "user:bob")
	va := addSchemas(t, s, "ta", 3)
	vb := addSchemas(t, s, "tb", 1)
	check(t, "ta current", ok(s.CurrentSchema(ctx, "ta"))(t), va[2])
	check(t, "tb current", ok(s.CurrentSchema(ctx, "tb"))(t), vb[0])
	_, err := s.SchemaVersion(ctx, "tb", 2)
	wantNotFound(t, err, "schema_version_not_found")
	wantConflict(t, s.AddSchema(ctx, schemaVersion("tb", "// x", time.Hour), 3, 0), "schema_version_conflict")
	must(t, s.AddSchema(ctx, schemaVersion("tb", "// b2", time.Hour), 1, 0))
	check(t, "ta versions", schemaVersionsOf(ok(s.ListSchemaVersions(ctx, "ta", cursor.Page{}))(t)), []int64{3, 2, 1})
	check(t, "tb versions", schemaVersionsOf(ok(s.ListSchemaVersions(ctx, "tb", cursor.Page{}))(t)), []int64{2, 1})
}

func testSchemaConcurrentAddOneWins(t *testing.T, s store.Store) {
	ctx := t.Context()
	newTenant(t, s, "t1", "user:alice")
	const writers, rounds = 6, 3
	for round := range int64(rounds) {
		errs := make([]error, writers)
		race(t, writers, func(i int) func() {
			sv := schemaVersion("t1", fmt.Sprintf("// round %d writer %d", round, i), time.Duration(i)*time.Second)
			return func() { errs[i] = s.AddSchema(ctx, sv, round, 0) }
		}, s)
		oneWinner(t, round, errs, policy.CodeSchemaVersionConflict)
	}
	check(t, "versions", schemaVersionsOf(ok(s.ListSchemaVersions(ctx, "t1", cursor.Page{}))(t)), []int64{3, 2, 1})
}
