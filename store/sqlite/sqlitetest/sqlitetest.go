// Package sqlitetest gives tests a migrated SQLite store of their own in a
// temporary directory, closed when the test ends — the SQLite counterpart of
// pgtest.
package sqlitetest

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/tollgate/tollgate/store/sqlite"
)

// Open returns a migrated store in t's temporary directory.
func Open(t testing.TB) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "tollgate.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return st
}
