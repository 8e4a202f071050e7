package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// inTx runs fn in a READ COMMITTED transaction, committing when it returns
// nil. Invariants that span rows take explicit row locks inside fn.
func (s *Store) inTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	return dbErr(pgx.BeginFunc(ctx, s.pool, fn))
}

// lockTenant serialises the writers that check a tenant-wide invariant
// (owners, role use). A missing tenant is not an error here: the caller's
// own lookup reports what is missing.
func lockTenant(ctx context.Context, tx pgx.Tx, tenantID string) error {
	_, err := tx.Exec(ctx, `SELECT 1 FROM tenants WHERE id = $1 FOR UPDATE`, tenantID)
	return err
}
