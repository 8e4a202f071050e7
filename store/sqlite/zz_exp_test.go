package sqlite_test

import (
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tollgate/tollgate/store/storetest"
)

func BenchmarkExpAuditDecisions(b *testing.B) {
	path := filepath.Join(b.TempDir(), "tollgate.db")
	s := openAt(b, path)
	if v := os.Getenv("AUDIT_DROP"); v != "" {
		db, err := sql.Open("sqlite", path)
		if err != nil {
			b.Fatal(err)
		}
		for _, ix := range strings.Split(v, ",") {
			if _, err := db.Exec("DROP INDEX audit_events_" + ix); err != nil {
				b.Fatal(err)
			}
		}
		db.Close()
	}
	storetest.BenchAuditDecisions(b, s)
}
