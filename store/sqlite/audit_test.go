package sqlite_test

import (
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/tollgate/tollgate/store/sqlite"
	"github.com/tollgate/tollgate/store/storetest"
)

func TestAuditConformance(t *testing.T) {
	storetest.RunAudit(t, func(t *testing.T) storetest.AuditBackend {
		path := filepath.Join(t.TempDir(), "tollgate.db")
		s := openAt(t, path)
		replica := openAt(t, path)
		raw, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(5000)")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = raw.Close() })
		return storetest.AuditBackend{Store: s, Replica: replica, Exec: func(t *testing.T, q string, args ...any) {
			t.Helper()
			if _, err := raw.ExecContext(t.Context(), q, args...); err != nil {
				t.Fatalf("exec %s: %v", q, err)
			}
		}}
	})
}

// openAt opens and migrates the store at path; a second call opens another
// instance on the same file, as a second process would.
func openAt(t *testing.T, path string) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return s
}
