package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tollgate/tollgate/store/sqlstore"
)

var _ sqlstore.RowReader = dialect{}

// ReadRows is PostgreSQL's fast path for the reads outside a transaction,
// most of a request's store work (a user, a key, a tenant) and all of a
// snapshot rebuild's: pgx runs the query on a connection of pgxpool and
// scans the rows itself. database/sql's Rows cost a one-row read about a
// seventh more, and a snapshot rebuild about as much (BENCHMARKS.md, issue
// 11): a goroutine per query under a cancellable context, the stdlib
// driver's value functions built per query, every value boxed in a
// driver.Value. Borrowing database/sql's connection for pgx (db.Conn and
// Raw) still cost a one-row read 7 % of wall time; pgxpool hands one over
// directly.
//
// Scan destinations get what they would through database/sql: the result
// formats are the stdlib driver's (binary for the intrinsic types, text
// for the rest), pgx hands sql.Scanners the same values, and row fills the
// time and list destinations the same way.
func (d dialect) ReadRows(ctx context.Context, query string, args []any, scan func(sqlstore.Scanner) error) error {
	args = append([]any{resultFormats}, args...)
	// As database/sql does, a query that failed before reaching the server
	// on a broken connection is retried on another; pgxpool drops the
	// broken one when it is released.
	var err error
	for range 3 {
		var unsent bool
		if unsent, err = readRows(ctx, d.pool, query, args, scan); !unsent {
			break
		}
	}
	return err
}

// readRows reports whether an error left the query unsent on a broken
// connection, so that it is safe to send again.
func readRows(ctx context.Context, pool *pgxpool.Pool, query string, args []any, scan func(sqlstore.Scanner) error) (unsent bool, err error) {
	rows, err := pool.Query(ctx, query, args...)
	if err != nil {
		return pgconn.SafeToRetry(err), err
	}
	defer rows.Close()
	scanned := false
	r := &row{rows: rows}
	for rows.Next() {
		scanned = true
		if err := scan(r); err != nil {
			return false, err
		}
	}
	if err := rows.Err(); err != nil {
		return !scanned && pgconn.SafeToRetry(err), err
	}
	return false, nil
}

// row scans a row of rows, handing pgx destinations it decodes into
// directly: its own for each sqlstore.TimeDest, and the []string of each
// textArray (text[] comes in binary on this path). Through sql.Scanner pgx
// would box every value and plan a time's decoding anew, two allocations a
// time; a 10,000-member snapshot rebuild reads 20,000 times.
type row struct {
	rows  pgx.Rows
	dest  []any
	times []timestamptz
}

func (r *row) Scan(dest ...any) error {
	if len(r.dest) < len(dest) {
		r.dest, r.times = make([]any, len(dest)), make([]timestamptz, len(dest))
	}
	for i, d := range dest {
		switch v := d.(type) {
		case sqlstore.TimeDest:
			r.times[i].d = v
			d = &r.times[i]
		case textArray:
			d = v.p
		}
		r.dest[i] = d
	}
	if err := r.rows.Scan(r.dest[:len(dest)]...); err != nil {
		return err
	}
	for _, d := range dest {
		if l, ok := d.(textArray); ok && *l.p == nil {
			*l.p = []string{}
		}
	}
	return nil
}

// timestamptz fills a sqlstore.TimeDest from a timestamptz.
type timestamptz struct{ d sqlstore.TimeDest }

func (t *timestamptz) ScanTimestamptz(v pgtype.Timestamptz) error {
	if v.Valid && v.InfinityModifier != pgtype.Finite {
		return fmt.Errorf("postgres: cannot read %s as a time", v.InfinityModifier)
	}
	return t.d.SetTime(v.Time, v.Valid)
}

// resultFormats are the stdlib driver's result formats for the types
// Tollgate's tables and queries use, and binary for text[], which row
// decodes without the stdlib driver; any other is read as text.
var resultFormats = pgx.QueryResultFormatsByOID{
	pgtype.TextArrayOID:   pgx.BinaryFormatCode,
	pgtype.BoolOID:        pgx.BinaryFormatCode,
	pgtype.ByteaOID:       pgx.BinaryFormatCode,
	pgtype.Int2OID:        pgx.BinaryFormatCode,
	pgtype.Int4OID:        pgx.BinaryFormatCode,
	pgtype.Int8OID:        pgx.BinaryFormatCode,
	pgtype.Float8OID:      pgx.BinaryFormatCode,
	pgtype.TimestamptzOID: pgx.BinaryFormatCode,
}
