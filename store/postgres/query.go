package postgres

import (
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// collect scans every row with scan and closes rows. It returns an empty,
// non-nil slice when there are no rows.
func collect[T any](rows pgx.Rows, scan func(pgx.Row) (T, error)) ([]T, error) {
	out, err := pgx.AppendRows([]T{}, rows, func(r pgx.CollectableRow) (T, error) { return scan(r) })
	if err != nil {
		return nil, dbErr(err)
	}
	return out, nil
}

// one finishes a single-row lookup: pgx.ErrNoRows becomes notFound and any
// other error goes through dbErr.
func one[T any](v T, err error, notFound func() error) (T, error) {
	var zero T
	if isNoRows(err) {
		return zero, notFound()
	}
	if err != nil {
		return zero, dbErr(err)
	}
	return v, nil
}

// affectedOne turns an UPDATE or DELETE that matched no row into notFound.
func affectedOne(tag pgconn.CommandTag, err error, notFound func() error) error {
	if err != nil {
		return dbErr(err)
	}
	if tag.RowsAffected() == 0 {
		return notFound()
	}
	return nil
}
