package sqlstore

import (
	"context"
	"database/sql"

	"github.com/tollgate/tollgate/audit"
	"github.com/tollgate/tollgate/mail"
)

// inTx runs fn in a write transaction, committing when it returns nil.
// Invariants that span rows lock them inside fn (lockTenant, ForUpdate);
// on SQLite the transaction itself excludes every other writer. The audit
// events ctx carries (audit.Record) are appended last, in the same
// transaction: the act and its record commit together or not at all. So
// are the messages it queued for the mail outbox (mail.Queue).
func (s *Store) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return s.dbErr(err)
	}
	events := audit.TakePending(ctx)
	msgs := mail.TakePending(ctx)
	err = fn(tx)
	if err == nil && len(msgs) > 0 {
		err = s.insertMailTx(ctx, tx, msgs)
	}
	if err == nil && len(events) > 0 {
		_, err = s.appendAuditTx(ctx, tx, events)
	}
	if err == nil {
		err = tx.Commit()
	} else {
		_ = tx.Rollback()
	}
	if err != nil {
		audit.RestorePending(ctx, events)
		mail.RestorePending(ctx, msgs)
	}
	return s.dbErr(err)
}

// lockTenant serialises the writers that check a tenant-wide invariant
// (owners, role use). A missing tenant is not an error here: the caller's
// own lookup reports what is missing.
func (s *Store) lockTenant(ctx context.Context, tx *sql.Tx, tenantID string) error {
	lock := s.d.ForUpdate()
	if lock == "" {
		return nil
	}
	_, err := s.exec(ctx, tx, `SELECT 1 FROM tenants WHERE id = ?`+lock, tenantID)
	return err
}
