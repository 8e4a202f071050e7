package postgres

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/tollgate/tollgate/store/sqlstore"
)

var _ sqlstore.RowReader = dialect{}

// ReadRows is PostgreSQL's fast path for the reads outside a transaction,
// most of a request's store work (a user, a key, a tenant) and all of a
// snapshot rebuild's: pgx runs the query and scans the rows itself, on a
// connection it borrows from database/sql's pool. database/sql's Rows cost
// a one-row read about a seventh more (BENCHMARKS.md, issue 11): a
// goroutine per query under a cancellable context, the stdlib driver's
// value functions built per query, and every value boxed.
//
// Scan destinations see what they would through database/sql: the result
// formats are the stdlib driver's (binary for the intrinsic types, text
// for the rest, such as text[]), and pgx hands sql.Scanners the same
// values.
func (dialect) ReadRows(ctx context.Context, db *sql.DB, query string, args []any, scan func(sqlstore.Scanner) error) error {
	args = append([]any{resultFormats}, args...)
	// As database/sql does, a query that failed before reaching the server
	// on a broken connection is retried on another.
	var err error
	for range 3 {
		if err = readRows(ctx, db, query, args, scan); !errors.Is(err, driver.ErrBadConn) {
			break
		}
	}
	return err
}

func readRows(ctx context.Context, db *sql.DB, query string, args []any, scan func(sqlstore.Scanner) error) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		rows, err := dc.(*stdlib.Conn).Conn().Query(ctx, query, args...)
		if err != nil {
			return badConn(err)
		}
		defer rows.Close()
		scanned := false
		for rows.Next() {
			scanned = true
			if err := scan(rows); err != nil {
				return err
			}
		}
		if err := rows.Err(); err != nil && !scanned {
			return badConn(err)
		}
		return rows.Err()
	})
}

// badConn turns an error that left the query unsent into
// driver.ErrBadConn, which also makes database/sql drop the connection.
func badConn(err error) error {
	if pgconn.SafeToRetry(err) {
		return driver.ErrBadConn
	}
	return err
}

// resultFormats are the stdlib driver's result formats for the types
// Tollgate's tables and queries use; any other is read as text.
var resultFormats = pgx.QueryResultFormatsByOID{
	pgtype.BoolOID:        pgx.BinaryFormatCode,
	pgtype.ByteaOID:       pgx.BinaryFormatCode,
	pgtype.Int2OID:        pgx.BinaryFormatCode,
	pgtype.Int4OID:        pgx.BinaryFormatCode,
	pgtype.Int8OID:        pgx.BinaryFormatCode,
	pgtype.Float8OID:      pgx.BinaryFormatCode,
	pgtype.TimestamptzOID: pgx.BinaryFormatCode,
}
