package sqlite_test

import (
	"path/filepath"
	"testing"

	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/store"
	"github.com/tollgate/tollgate/store/sqlite"
	"github.com/tollgate/tollgate/store/storetest"
)

// open returns a migrated store on a new file in t's temporary directory.
func open(t testing.TB) *sqlite.Store {
	t.Helper()
	return openAt(t, filepath.Join(t.TempDir(), "tollgate.db"))
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return open(t) })
}

func TestOpenCreatesDirectory(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a", "b", "tollgate.db")
	s, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	defer s.Close()
	if err := s.Ping(t.Context()); err != nil {
		t.Fatalf("ping: %v", err)
	}
}

func TestMigrationStatusBeforeMigrate(t *testing.T) {
	s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "tollgate.db"))
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	defer s.Close()
	applied, latest, err := s.MigrationStatus(t.Context())
	if err != nil || applied != 0 || latest < 1 {
		t.Fatalf("MigrationStatus = (%d, %d, %v), want (0, >=1, nil)", applied, latest, err)
	}
	// Asking did not create goose's table, so asking again still says 0.
	if applied, _, _ = s.MigrationStatus(t.Context()); applied != 0 {
		t.Fatalf("applied = %d on second call", applied)
	}
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	if applied, latest, err = s.MigrationStatus(t.Context()); err != nil || applied != latest {
		t.Fatalf("after Migrate: (%d, %d, %v)", applied, latest, err)
	}
}

func TestReopenKeepsData(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tollgate.db")
	s, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	if err := s.InsertSigningKey(t.Context(), storetestKey()); err != nil {
		t.Fatalf("insert: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	s, err = sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s.Close()
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatalf("migrate again: %v", err)
	}
	keys, err := s.ListSigningKeys(t.Context())
	if err != nil || len(keys) != 1 {
		t.Fatalf("ListSigningKeys = %v, %v; want the one key", keys, err)
	}
}

func TestOpenRejectsNonFilePaths(t *testing.T) {
	for _, dsn := range []string{"", ":memory:", "file:x.db?mode=memory", filepath.Join(t.TempDir(), "x.db?cache=shared")} {
		if _, err := sqlite.Open(t.Context(), dsn); fault.KindOf(err) != fault.Invalid {
			t.Errorf("Open(%q) err = %v, want invalid", dsn, err)
		}
	}
}
