package postgres_test

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/tollgate/tollgate/store/postgres/pgtest"
	"github.com/tollgate/tollgate/store/storetest"
)

func TestAuditConformance(t *testing.T) {
	pgtest.Open(t)
	storetest.RunAudit(t, func(t *testing.T) storetest.AuditBackend {
		base := pgtest.URL(t)
		dsn, err := pgtest.WithSearchPath(base, pgtest.NewSchema(t, base))
		if err != nil {
			t.Fatal(err)
		}
		s, replica := pgtest.OpenAt(t, dsn), pgtest.OpenAt(t, dsn)
		return storetest.AuditBackend{Store: s, Replica: replica, Exec: func(t *testing.T, q string, args ...any) {
			t.Helper()
			ctx := context.Background()
			conn, err := pgx.Connect(ctx, dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close(ctx)
			if _, err := conn.Exec(ctx, numbered(q), args...); err != nil {
				t.Fatalf("exec %s: %v", q, err)
			}
		}}
	})
}

// numbered turns "?" placeholders into $1, $2, ….
func numbered(q string) string {
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
