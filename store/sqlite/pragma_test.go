package sqlite

import (
	"database/sql"
	"maps"
	"path/filepath"
	"strings"
	"testing"
)

// TestPragmas checks that every connection of both pools got the DSN
// pragmas, not just the first one opened.
func TestPragmas(t *testing.T) {
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "tollgate.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	common := map[string]string{"journal_mode": "wal", "foreign_keys": "1", "busy_timeout": "5000", "synchronous": "1"}
	writer := map[string]string{"temp_store": "2", "cache_size": "-65536", "wal_autocheckpoint": "10000"}
	for name, db := range map[string]*sql.DB{"read": s.read, "write": s.write} {
		want := maps.Clone(common)
		if name == "write" {
			maps.Copy(want, writer)
		}
		// Hold several connections at once so that the pool must open new ones.
		var conns []*sql.Conn
		for range min(readConns, db.Stats().MaxOpenConnections) {
			c, err := db.Conn(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			conns = append(conns, c)
		}
		for i, c := range conns {
			for pragma, v := range want {
				var got string
				if err := c.QueryRowContext(t.Context(), "PRAGMA "+pragma).Scan(&got); err != nil {
					t.Fatal(err)
				}
				if !strings.EqualFold(got, v) {
					t.Errorf("%s conn %d: %s = %s, want %s", name, i, pragma, got, v)
				}
			}
			_ = c.Close()
		}
	}
	// Reads cannot write by accident.
	if _, err := s.read.ExecContext(t.Context(), "CREATE TABLE x (a)"); err == nil {
		t.Error("read pool accepted a write")
	}
}
