package postgres

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tollgate/tollgate/store/sqlstore"
)

// dialect is PostgreSQL's sqlstore.Dialect: times are timestamptz, string
// lists text[].
type dialect struct {
	// rebound caches Rebind's results by query text. Every query is built
	// from fixed fragments (batches are cut or padded to a few sizes), so
	// the cache holds a bounded set; it saves an allocation per query.
	rebound *sync.Map
	// pool is where ReadRows reads; database/sql borrows from it too.
	pool *pgxpool.Pool
}

var _ sqlstore.Dialect = dialect{}

func newDialect(pool *pgxpool.Pool) dialect { return dialect{rebound: &sync.Map{}, pool: pool} }

// Rebind numbers the placeholders: "?" becomes $1, $2, ….
func (d dialect) Rebind(query string) string {
	if q, ok := d.rebound.Load(query); ok {
		return q.(string)
	}
	q := rebind(query)
	d.rebound.Store(query, q)
	return q
}

// rebind is Rebind uncached. Tollgate's queries hold no "?" inside
// literals.
func rebind(query string) string {
	n := strings.Count(query, "?")
	if n == 0 {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 2*n)
	i := 0
	for {
		j := strings.IndexByte(query, '?')
		if j < 0 {
			b.WriteString(query)
			return b.String()
		}
		i++
		b.WriteString(query[:j])
		b.WriteByte('$')
		b.WriteString(strconv.Itoa(i))
		query = query[j+1:]
	}
}

// Time truncates to the microseconds PostgreSQL keeps (it would otherwise
// round) and writes UTC.
func (dialect) Time(t time.Time) any { return t.Truncate(time.Microsecond).UTC() }

// List never writes NULL into a NOT NULL array column.
func (dialect) List(l []string) any {
	if l == nil {
		return []string{}
	}
	return l
}

func (dialect) ScanList(l *[]string) any { return textArray{l} }

func (dialect) InList(column string) string { return column + ` = ANY (?)` }

func (dialect) ListHas(column string) string { return `? = ANY (` + column + `)` }

func (dialect) ListElements(column string) string { return `unnest(` + column + `) AS elem(value)` }

func (dialect) ForUpdate() string { return ` FOR UPDATE` }

func (dialect) TimeType() string { return "timestamptz" }

func (dialect) SkipLocked(table string) string { return ` FOR UPDATE OF ` + table + ` SKIP LOCKED` }

func (dialect) Unavailable(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch {
		case strings.HasPrefix(pgErr.Code, "08"), // connection exception
			strings.HasPrefix(pgErr.Code, "53"),          // insufficient resources
			strings.HasPrefix(pgErr.Code, "57P"),         // shutdown / cannot connect now
			pgErr.Code == "40001", pgErr.Code == "40P01": // serialization failure, deadlock
			return true
		}
		return false
	}
	var connectErr *pgconn.ConnectError
	var netErr net.Error
	return errors.As(err, &connectErr) || errors.As(err, &netErr) || pgconn.Timeout(err) ||
		errors.Is(err, context.DeadlineExceeded)
}

// Violation reports unique (23505) and foreign-key (23503) violations by
// the constraint names the migrations give.
func (dialect) Violation(err error) (sqlstore.Violation, bool) {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return sqlstore.Violation{}, false
	}
	switch pgErr.Code {
	case "23505":
		return sqlstore.Violation{Constraint: pgErr.ConstraintName}, true
	case "23503":
		return sqlstore.Violation{Constraint: pgErr.ConstraintName, ForeignKey: true}, true
	}
	return sqlstore.Violation{}, false
}

// TableExists looks in current_schema(), where goose's unqualified
// version table lives.
func (dialect) TableExists() string {
	return `SELECT count(*) FROM pg_tables WHERE schemaname = current_schema() AND tablename = ?`
}

// textArray scans a text[], which database/sql hands over in PostgreSQL's
// text form (ReadRows reads it in binary, straight into the []string). It
// is one pointer, so that making it a scan destination allocates nothing.
type textArray struct{ p *[]string }

// textArrayMaps decode text[] values; a pgtype.Map caches plans and is not
// safe for concurrent use, so each scan borrows one.
var textArrayMaps = sync.Pool{New: func() any { return pgtype.NewMap() }}

func (d textArray) Scan(src any) error {
	var b []byte
	switch v := src.(type) {
	case string:
		b = []byte(v)
	case []byte:
		b = v
	default:
		return fmt.Errorf("postgres: cannot read %T as a text[]", src)
	}
	m := textArrayMaps.Get().(*pgtype.Map)
	defer textArrayMaps.Put(m)
	l := []string{}
	if err := m.Scan(pgtype.TextArrayOID, pgtype.TextFormatCode, b, &l); err != nil {
		return err
	}
	if l == nil {
		l = []string{}
	}
	*d.p = l
	return nil
}

// InsertOrRollback is a plain INSERT: a failed statement already aborts
// PostgreSQL's transaction, and there is no statement journal to spare.
func (dialect) InsertOrRollback() string { return "INSERT INTO" }
