package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/policy"
	"github.com/tollgate/tollgate/store/storetest"
)

// TestMigrationsDownUp checks that every Down section undoes its Up: rolled
// back one at a time, with data in the newest tables, the schema ends empty,
// and migrating again restores it.
func TestMigrationsDownUp(t *testing.T) {
	ctx := t.Context()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "tollgate.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	full := tables(t, s)

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
	sources := s.migrations.ListSources()
	for i := len(sources) - 1; i >= 0; i-- {
		v := int64(0)
		if i > 0 {
			v = sources[i-1].Version
		}
		if _, err := s.migrations.DownTo(ctx, v); err != nil {
			t.Fatalf("down to %d: %v", v, err)
		}
		if applied, _, err := s.MigrationStatus(ctx); err != nil || applied != v {
			t.Fatalf("after down to %d: applied %d, %v", v, applied, err)
		}
	}
	if got := fmt.Sprint(tables(t, s)); got != "[goose_db_version]" {
		t.Fatalf("tables after rolling everything back = %s", got)
	}

	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("migrate again: %v", err)
	}
	if got, want := fmt.Sprint(tables(t, s)), fmt.Sprint(full); got != want {
		t.Fatalf("tables after migrating again = %s, want %s", got, want)
	}
}

func tables(t *testing.T, s *Store) []string {
	t.Helper()
	rows, err := s.read.QueryContext(t.Context(),
		`SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		names = append(names, n)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return names
}

func TestUsageHoursAfterUpgrade(t *testing.T) {
	s, up := upgradable(t)
	storetest.UsageHoursAfterUpgrade(t, s, up)
}

func TestUsageTenantHoursAfterUpgrade(t *testing.T) {
	s, up := upgradable(t)
	storetest.UsageTenantHoursAfterUpgrade(t, s, up)
}

// upgradable is a migrated store on a new file and the means to take its
// schema back to an older migration and up again, for the upgrade cases.
func upgradable(t *testing.T) (*Store, storetest.Upgrade) {
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "tollgate.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	return s, storetest.Upgrade{
		DownTo: func(ctx context.Context, v int64) error { _, err := s.migrations.DownTo(ctx, v); return err },
		Up:     s.Migrate,
		Exec:   func(ctx context.Context, query string) error { _, err := s.write.ExecContext(ctx, query); return err },
	}
}
