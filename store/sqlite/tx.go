package sqlite

import (
	"context"
	"database/sql"
)

// inTx runs fn in a write transaction, committing when it returns nil. The
// write pool has one connection and begins IMMEDIATE, so fn sees no other
// writer until it returns.
func (s *Store) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return dbErr(err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return dbErr(err)
	}
	return dbErr(tx.Commit())
}
