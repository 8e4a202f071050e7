package postgres_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/policy"
	"github.com/tollgate/tollgate/store"
	"github.com/tollgate/tollgate/store/postgres"
	"github.com/tollgate/tollgate/store/postgres/pgtest"
	"github.com/tollgate/tollgate/store/storetest"
)

func TestConformance(t *testing.T) {
	// Skips when the URL is unset and fails once, here, when the server is
	// unreachable, rather than once per case.
	pgtest.Open(t)
	storetest.Run(t, func(t *testing.T) store.Store { return pgtest.Open(t) })
}

// TestSearchPath checks that everything, goose's version table included,
// lands in the schema named by search_path and that MigrationStatus reads
// from there without creating anything.
func TestSearchPath(t *testing.T) {
	base := pgtest.URL(t)
	schema := pgtest.NewSchema(t, base)
	dsn, err := pgtest.WithSearchPath(base, schema)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	s, err := postgres.Open(ctx, dsn)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	defer s.Close()

	for range 2 {
		applied, latest, err := s.MigrationStatus(ctx)
		if err != nil || applied != 0 || latest < 1 {
			t.Fatalf("before Migrate: MigrationStatus = (%d, %d, %v), want (0, >=1, nil)", applied, latest, err)
		}
	}
	if tables := tablesIn(t, base, schema); len(tables) != 0 {
		t.Fatalf("MigrationStatus created %v", tables)
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	applied, latest, err := s.MigrationStatus(ctx)
	if err != nil || applied != latest {
		t.Fatalf("after Migrate: MigrationStatus = (%d, %d, %v)", applied, latest, err)
	}
	got := fmt.Sprint(tablesIn(t, base, schema))
	want := "[agents api_keys audit_digests audit_events audit_forward_cursors audit_heads audit_retention audit_signing_keys goose_db_version invitations mail_outbox memberships mfa_challenges mfa_recovery_codes mfa_totp passkey_ceremonies passkeys password_resets policy_sets refresh_tokens resources roles schema_extensions service_secrets services sessions signing_keys signups tenant_deletions tenant_rate_limits tenants usage_events usage_hour_rollups usage_hour_start usage_hour_uniques usage_meters usage_quota_thresholds usage_quotas usage_rollups usage_tenant_hour_rollups usage_tenant_hour_start usage_tenant_hour_uniques usage_uniques users webhook_cursors webhook_deliveries webhook_endpoints]"
	if got != want {
		t.Fatalf("tables in %s = %s, want %s", schema, got, want)
	}
}

// TestMigrationsDownUp checks that every Down section undoes its Up: rolled
// back one at a time, with data in the newest tables, the schema ends
// empty, and migrating again restores it.
func TestMigrationsDownUp(t *testing.T) {
	base := pgtest.URL(t)
	schema := pgtest.NewSchema(t, base)
	dsn, err := pgtest.WithSearchPath(base, schema)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	s, err := postgres.Open(ctx, dsn)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	defer s.Close()
	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	full := fmt.Sprint(tablesIn(t, base, schema))

	now := time.Now()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.CreateTenant(ctx,
		identity.Tenant{ID: "t1", Slug: "acme", Name: "Acme", Status: identity.TenantActive, CreatedAt: now, UpdatedAt: now},
		identity.Membership{TenantID: "t1", ActorID: "user:alice", Roles: []string{identity.RoleOwner}, CreatedAt: now, UpdatedAt: now}))
	must(s.PutResources(ctx, "t1", []policy.Resource{{Type: "channel", ID: "c1", Attrs: map[string]any{"n": 1}, UpdatedAt: now}}))
	must(s.AddPolicySet(ctx, policy.PolicySet{TenantID: "t1", Text: "permit (principal, action, resource);", CreatedAt: now}, 0))

	// Step down through the migrations one by one.
	versions := s.MigrationVersions()
	for i := len(versions) - 1; i >= 0; i-- {
		v := int64(0)
		if i > 0 {
			v = versions[i-1]
		}
		if err := s.MigrateDownTo(ctx, v); err != nil {
			t.Fatalf("down to %d: %v", v, err)
		}
		if applied, _, err := s.MigrationStatus(ctx); err != nil || applied != v {
			t.Fatalf("after down to %d: applied %d, %v", v, applied, err)
		}
	}
	if got := fmt.Sprint(tablesIn(t, base, schema)); got != "[goose_db_version]" {
		t.Fatalf("tables after rolling everything back = %s", got)
	}

	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("migrate again: %v", err)
	}
	if got := fmt.Sprint(tablesIn(t, base, schema)); got != full {
		t.Fatalf("tables after migrating again = %s, want %s", got, full)
	}
}

func tablesIn(t *testing.T, url, schema string) []string {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, _ := conn.Query(ctx, `SELECT tablename FROM pg_tables WHERE schemaname = $1 ORDER BY tablename`, schema)
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return names
}

// TestSchemasAreIsolated opens two stores on two schemas of one database.
func TestSchemasAreIsolated(t *testing.T) {
	a, b := pgtest.Open(t), pgtest.Open(t)
	ctx := t.Context()
	now := time.Now()
	tn := identity.Tenant{ID: "t1", Slug: "acme", Name: "Acme", Status: identity.TenantActive, CreatedAt: now, UpdatedAt: now}
	m := identity.Membership{TenantID: "t1", ActorID: "user:alice", Roles: []string{identity.RoleOwner}, CreatedAt: now, UpdatedAt: now}
	if err := a.CreateTenant(ctx, tn, m); err != nil {
		t.Fatal(err)
	}
	// The same ids and slug are free in the other schema.
	if err := b.CreateTenant(ctx, tn, m); err != nil {
		t.Fatal(err)
	}
	if n, err := b.CountTenants(ctx); err != nil || n != 1 {
		t.Fatalf("CountTenants(b) = %d, %v", n, err)
	}
}

func TestOpenMissingSchema(t *testing.T) {
	dsn, err := pgtest.WithSearchPath(pgtest.URL(t), "tg_test_does_not_exist")
	if err != nil {
		t.Fatal(err)
	}
	s, err := postgres.Open(t.Context(), dsn)
	if err == nil {
		s.Close()
		t.Fatal("Open succeeded with no schema on search_path")
	}
}

func TestOpenUnreachable(t *testing.T) {
	// Port 1 on loopback refuses at once; no server is needed.
	_, err := postgres.Open(t.Context(), "postgres://postgres@127.0.0.1:1/test?sslmode=disable&connect_timeout=2")
	if fault.KindOf(err) != fault.Unavailable {
		t.Fatalf("err = %v, want unavailable", err)
	}
}

func TestWithSearchPath(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"postgres://u@h:5432/db?sslmode=disable", "postgres://u@h:5432/db?search_path=s1&sslmode=disable"},
		{"postgresql://u@h/db?search_path=old", "postgresql://u@h/db?search_path=s1"},
		{"host=h dbname=db", "host=h dbname=db search_path=s1"},
	} {
		got, err := pgtest.WithSearchPath(tc.in, "s1")
		if err != nil || got != tc.want {
			t.Errorf("WithSearchPath(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestUsageHoursAfterUpgrade(t *testing.T) {
	s := pgtest.Open(t)
	storetest.UsageHoursAfterUpgrade(t, s, storetest.Upgrade{
		DownTo: func(ctx context.Context, v int64) error { return s.MigrateDownTo(ctx, v) },
		Up:     s.Migrate,
		Exec:   s.Exec,
	})
}

func TestUsageTenantHoursAfterUpgrade(t *testing.T) {
	s := pgtest.Open(t)
	storetest.UsageTenantHoursAfterUpgrade(t, s, storetest.Upgrade{
		DownTo: s.MigrateDownTo,
		Up:     s.Migrate,
		Exec:   s.Exec,
	})
}
