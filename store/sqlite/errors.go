package sqlite

import (
	"context"
	"errors"
	"strings"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/store"
)

// dbErr classifies an error from the driver. Errors that are already faults
// pass through so that helpers can return domain errors from inside a
// transaction.
func dbErr(err error) error {
	if err == nil {
		return nil
	}
	var fe *fault.Error
	if errors.As(err, &fe) {
		return err
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fault.Wrap(fault.Unavailable, store.CodeStoreUnavailable, err)
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_CANTOPEN,
			sqlite3.SQLITE_IOERR, sqlite3.SQLITE_FULL, sqlite3.SQLITE_READONLY:
			return fault.Wrap(fault.Unavailable, store.CodeStoreUnavailable, err)
		}
	}
	return fault.Wrap(fault.Internal, store.CodeStoreError, err)
}

// isUnique reports whether err is a UNIQUE or PRIMARY KEY violation on
// column ("table.column", as SQLite names it in the message).
func isUnique(err error, column string) bool {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	switch se.Code() {
	case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
	default:
		return false
	}
	// The message lists every column of the violated key, e.g.
	// "constraint failed: UNIQUE constraint failed: memberships.tenant_id,
	// memberships.actor_id (1555)".
	msg := se.Error()
	i := strings.LastIndex(msg, "constraint failed: ")
	if i < 0 {
		return false
	}
	cols := msg[i+len("constraint failed: "):]
	for c := range strings.SplitSeq(cols, ",") {
		c, _, _ = strings.Cut(strings.TrimSpace(c), " ")
		if c == column {
			return true
		}
	}
	return false
}

// isForeignKey reports whether err is a foreign-key violation. SQLite does
// not say which key; callers only use it where one key is possible.
func isForeignKey(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code() == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
}
