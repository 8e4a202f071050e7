package sqlite

import (
	"database/sql"
	"errors"
)

// collect scans every row with scan and closes rows. It returns an empty,
// non-nil slice when there are no rows.
func collect[T any](rows *sql.Rows, scan func(scanner) (T, error)) ([]T, error) {
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, dbErr(err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, dbErr(err)
	}
	return out, nil
}

// one finishes a single-row lookup: sql.ErrNoRows becomes notFound and any
// other error goes through dbErr.
func one[T any](v T, err error, notFound func() error) (T, error) {
	var zero T
	if errors.Is(err, sql.ErrNoRows) {
		return zero, notFound()
	}
	if err != nil {
		return zero, dbErr(err)
	}
	return v, nil
}

// affected returns how many rows an UPDATE or DELETE changed.
func affected(res sql.Result, err error) (int, error) {
	if err != nil {
		return 0, dbErr(err)
	}
	n, err := res.RowsAffected()
	return int(n), dbErr(err)
}

// affectedOne turns an UPDATE or DELETE that matched no row into notFound.
func affectedOne(res sql.Result, err error, notFound func() error) error {
	n, err := affected(res, err)
	if err != nil {
		return err
	}
	if n == 0 {
		return notFound()
	}
	return nil
}
