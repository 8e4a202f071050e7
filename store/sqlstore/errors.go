package sqlstore

import (
	"context"
	"errors"
	"strings"

	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/store"
)

// dbErr classifies an error from the driver (Classify).
func (s *Store) dbErr(err error) error { return Classify(s.d, err) }

// Classify turns an error from d's driver into a fault: store_unavailable
// when the database cannot answer now, store_error otherwise. Errors that
// are already faults pass through, so that helpers can return domain
// errors from inside a transaction.
func Classify(d Dialect, err error) error {
	if err == nil {
		return nil
	}
	var fe *fault.Error
	if errors.As(err, &fe) {
		return err
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || d.Unavailable(err) {
		return fault.Wrap(fault.Unavailable, store.CodeStoreUnavailable, err)
	}
	return fault.Wrap(fault.Internal, store.CodeStoreError, err)
}

// violates reports whether err violates the named constraint. A database
// that does not name the violated foreign key matches any "…_fkey" name:
// callers ask for one only where a single foreign key can be violated.
func (s *Store) violates(err error, constraint string) bool {
	if err == nil {
		return false
	}
	v, ok := s.d.Violation(err)
	if !ok {
		return false
	}
	if v.Constraint == "" {
		return v.ForeignKey && strings.HasSuffix(constraint, "_fkey")
	}
	return v.Constraint == constraint
}
