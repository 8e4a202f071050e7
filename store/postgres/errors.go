package postgres

import (
	"context"
	"errors"
	"net"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/store"
)

// dbErr classifies an error from pgx. Errors that are already faults pass
// through so that helpers can return domain errors from inside a transaction.
func dbErr(err error) error {
	if err == nil {
		return nil
	}
	var fe *fault.Error
	if errors.As(err, &fe) {
		return err
	}
	if unavailable(err) {
		return fault.Wrap(fault.Unavailable, store.CodeStoreUnavailable, err)
	}
	return fault.Wrap(fault.Internal, store.CodeStoreError, err)
}

// unavailable reports errors that say the database cannot be reached or is
// overloaded right now, rather than that the request was wrong.
func unavailable(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
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
	return errors.As(err, &connectErr) || errors.As(err, &netErr) || pgconn.Timeout(err)
}

// violated returns the name of the constraint err violates when it is a
// unique (23505) or foreign-key (23503) violation, else "".
func violated(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && (pgErr.Code == "23505" || pgErr.Code == "23503") {
		return pgErr.ConstraintName
	}
	return ""
}

func isNoRows(err error) bool { return errors.Is(err, pgx.ErrNoRows) }
