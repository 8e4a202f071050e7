package storetest

import (
	"context"
	"testing"

	"github.com/tollgate/tollgate/store"
)

// migrator is implemented by both backends; Migrate is not part of
// store.Store because only the process entry point runs it.
type migrator interface {
	Migrate(ctx context.Context) error
}

func lifecycleTests() []test {
	return []test{
		{"Ping", func(t *testing.T, s store.Store) {
			must(t, s.Ping(t.Context()))
		}},
		{"MigrationStatusCurrent", func(t *testing.T, s store.Store) {
			applied, latest, err := s.MigrationStatus(t.Context())
			must(t, err)
			if latest < 1 || applied != latest {
				t.Fatalf("MigrationStatus = (%d, %d), want applied == latest >= 1", applied, latest)
			}
		}},
		{"MigrateTwice", func(t *testing.T, s store.Store) {
			m, ok := s.(migrator)
			if !ok {
				t.Skip("store has no Migrate method")
			}
			before, _, err := s.MigrationStatus(t.Context())
			must(t, err)
			must(t, m.Migrate(t.Context()))
			after, latest, err := s.MigrationStatus(t.Context())
			must(t, err)
			if after != before || after != latest {
				t.Fatalf("after second Migrate: applied %d (was %d), latest %d", after, before, latest)
			}
		}},
		{"EmptyStore", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			if n := ok(s.CountTenants(ctx))(t); n != 0 {
				t.Errorf("CountTenants = %d, want 0", n)
			}
			if l := ok(s.ListTenants(ctx, pageAll))(t); len(l) != 0 {
				t.Errorf("ListTenants = %v, want none", l)
			}
			if l := ok(s.ListUsers(ctx, pageAll))(t); len(l) != 0 {
				t.Errorf("ListUsers = %v, want none", l)
			}
			if l := ok(s.ListSigningKeys(ctx))(t); len(l) != 0 {
				t.Errorf("ListSigningKeys = %v, want none", l)
			}
		}},
	}
}
