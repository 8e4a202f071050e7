package sqlstore

import (
	"context"
	"database/sql"
	"errors"

	"github.com/tollgate/tollgate/audit"
	"github.com/tollgate/tollgate/cursor"
	"github.com/tollgate/tollgate/mail"
)

// querier is a pool or a transaction.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Scanner is a row to scan: a *sql.Row, *sql.Rows or a RowReader's row.
type Scanner interface {
	Scan(dest ...any) error
}

// scanner is the package's short name for Scanner.
type scanner = Scanner

// exec, query and queryRow run a "?" query on q after rebinding it. A
// write outside a transaction whose ctx carries audit events or queued
// mail becomes one, so that they are written with it (inTx).
func (s *Store) exec(ctx context.Context, q querier, query string, args ...any) (sql.Result, error) {
	if q == querier(s.write) && (audit.Pending(ctx) || mail.Pending(ctx)) {
		var res sql.Result
		err := s.inTx(ctx, func(tx *sql.Tx) error {
			var err error
			res, err = tx.ExecContext(ctx, s.d.Rebind(query), args...)
			return err
		})
		return res, err
	}
	return q.ExecContext(ctx, s.d.Rebind(query), args...)
}

func (s *Store) query(ctx context.Context, q querier, query string, args ...any) (*sql.Rows, error) {
	return q.QueryContext(ctx, s.d.Rebind(query), args...)
}

// queryRow goes through the dialect's RowReader, if it has one, when q is
// the read pool: outside a transaction. (PostgreSQL's read pool is also its
// write pool, so an UPDATE … RETURNING outside a transaction goes there
// too.) The row is then read when it is scanned.
func (s *Store) queryRow(ctx context.Context, q querier, query string, args ...any) scanner {
	if rr, ok := s.d.(RowReader); ok && q == querier(s.read) {
		return readRow{ctx: ctx, rr: rr, query: s.d.Rebind(query), args: args}
	}
	return q.QueryRowContext(ctx, s.d.Rebind(query), args...)
}

// RowReader is a Dialect's faster way to read rows than database/sql's
// Rows, for a driver where a benchmark shows the difference. The store
// reads through it outside transactions.
type RowReader interface {
	// ReadRows runs query with args on a connection of its own pool and
	// calls scan with each row in turn, stopping at scan's first error.
	ReadRows(ctx context.Context, query string, args []any, scan func(Scanner) error) error
}

// readRow is a single-row read through a RowReader.
type readRow struct {
	ctx   context.Context
	rr    RowReader
	query string
	args  []any
}

// Scan scans the first row as (*sql.Row).Scan does: sql.ErrNoRows when
// there is none.
func (r readRow) Scan(dest ...any) error {
	found := false
	err := r.rr.ReadRows(r.ctx, r.query, r.args, func(row Scanner) error {
		if found {
			return nil
		}
		found = true
		return row.Scan(dest...)
	})
	if err == nil && !found {
		return sql.ErrNoRows
	}
	return err
}

// readAll reads every row query selects with scan, from the read pool;
// like collect, it returns an empty, non-nil slice when there are none.
func readAll[T any](ctx context.Context, s *Store, scan func(scanner) (T, error), query string, args ...any) ([]T, error) {
	rr, ok := s.d.(RowReader)
	if !ok {
		rows, err := s.query(ctx, s.read, query, args...)
		return collect(s, rows, err, scan)
	}
	out := []T{}
	err := rr.ReadRows(ctx, s.d.Rebind(query), args, func(r Scanner) error {
		v, err := scan(r)
		out = append(out, v)
		return err
	})
	if err != nil {
		return nil, s.dbErr(err)
	}
	return out, nil
}

// collect scans every row with scan and closes rows. It returns an empty,
// non-nil slice when there are no rows.
func collect[T any](s *Store, rows *sql.Rows, err error, scan func(scanner) (T, error)) ([]T, error) {
	if err != nil {
		return nil, s.dbErr(err)
	}
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, s.dbErr(err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, s.dbErr(err)
	}
	return out, nil
}

// get reads the one row query selects with scan: notFound when there is
// none.
func get[T any](ctx context.Context, s *Store, scan func(scanner) (T, error), notFound func() error, query string, args ...any) (T, error) {
	v, err := scan(s.queryRow(ctx, s.read, query, args...))
	return one(s, v, err, notFound)
}

// list reads one page: the last two parameters of query, after args, are
// p's After and Limit.
func list[T any](ctx context.Context, s *Store, p cursor.Page, scan func(scanner) (T, error), query string, args ...any) ([]T, error) {
	p = p.Normalize()
	return readAll(ctx, s, scan, query, append(args, p.After, p.Limit)...)
}

// count reads the one integer query selects.
func (s *Store) count(ctx context.Context, query string, args ...any) (int, error) {
	var n int
	err := s.queryRow(ctx, s.read, query, args...).Scan(&n)
	return n, s.dbErr(err)
}

// mustExist fails with notFound unless table holds a row with id.
func (s *Store) mustExist(ctx context.Context, table, id string, notFound func() error) error {
	var ok bool
	err := s.queryRow(ctx, s.read, `SELECT EXISTS (SELECT 1 FROM `+table+` WHERE id = ?)`, id).Scan(&ok)
	if err == nil && !ok {
		return notFound()
	}
	return s.dbErr(err)
}

func scanString(r scanner) (v string, err error) {
	err = r.Scan(&v)
	return v, err
}

// one finishes a single-row lookup: sql.ErrNoRows becomes notFound and any
// other error goes through dbErr.
func one[T any](s *Store, v T, err error, notFound func() error) (T, error) {
	var zero T
	if errors.Is(err, sql.ErrNoRows) {
		return zero, notFound()
	}
	if err != nil {
		return zero, s.dbErr(err)
	}
	return v, nil
}

// affected returns how many rows an UPDATE or DELETE changed.
func (s *Store) affected(res sql.Result, err error) (int, error) {
	if err != nil {
		return 0, s.dbErr(err)
	}
	n, err := res.RowsAffected()
	return int(n), s.dbErr(err)
}

// affectedOne turns an UPDATE or DELETE that matched no row into notFound.
func (s *Store) affectedOne(res sql.Result, err error, notFound func() error) error {
	n, err := s.affected(res, err)
	if err != nil {
		return err
	}
	if n == 0 {
		return notFound()
	}
	return nil
}
