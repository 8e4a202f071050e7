package sqlstore

import (
	"context"
	"database/sql"
	"errors"

	"github.com/tollgate/tollgate/audit"
)

// querier is a pool or a transaction.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// scanner is a *sql.Row or *sql.Rows.
type scanner interface {
	Scan(dest ...any) error
}

// exec, query and queryRow run a "?" query on q after rebinding it. A
// write outside a transaction whose ctx carries audit events becomes one,
// so that the events are written with it (inTx).
func (s *Store) exec(ctx context.Context, q querier, query string, args ...any) (sql.Result, error) {
	if q == querier(s.write) && audit.Pending(ctx) {
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

func (s *Store) queryRow(ctx context.Context, q querier, query string, args ...any) *sql.Row {
	return q.QueryRowContext(ctx, s.d.Rebind(query), args...)
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
