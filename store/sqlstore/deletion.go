package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/identity"
)

const deletionCols = `tenant_id, id, status, requested_by, requested_at, delete_after, cancelled_by,
	attempts, step, erased, finished_at, updated_at`

func errDeletionNotFound() error {
	return fault.NotFoundf(identity.CodeTenantDeletionNotFound, "the tenant has no deletion")
}

func errDeletionLeaseLost() error {
	return fault.Conflictf(identity.CodeDeletionLeaseLost, "another worker holds this deletion")
}

func scanDeletion(r scanner) (d identity.TenantDeletion, err error) {
	var status string
	err = r.Scan(&d.TenantID, &d.ID, &status, &d.RequestedBy, at(&d.RequestedAt), at(&d.DeleteAfter), &d.CancelledBy,
		&d.Attempts, &d.Step, &d.Erased, atNull(&d.FinishedAt), at(&d.UpdatedAt))
	d.Status = identity.DeletionStatus(status)
	return d, err
}

// ScheduleTenantDeletion implements identity.DeletionStore.
func (s *Store) ScheduleTenantDeletion(ctx context.Context, d identity.TenantDeletion) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		// Suspending first also locks the tenant row on PostgreSQL, so two
		// requests for one tenant take turns.
		res, err := s.exec(ctx, tx,
			`UPDATE tenants SET status = CASE WHEN status = 'active' THEN 'suspended' ELSE status END,
			 updated_at = CASE WHEN status = 'active' THEN ? ELSE updated_at END
			 WHERE id = ? AND status <> ?`,
			s.d.Time(d.RequestedAt), d.TenantID, string(identity.TenantDeleted))
		if err := s.affectedOne(res, err, errTenantNotFound); err != nil {
			return err
		}
		// A cancelled deletion is replaced; a pending, running or done one
		// stays, and the upsert matches nothing.
		n, err := s.affected(s.exec(ctx, tx, `INSERT INTO tenant_deletions (`+deletionCols+`)
			VALUES (?, ?, ?, ?, ?, ?, '', 0, 0, 0, NULL, ?)
			ON CONFLICT (tenant_id) DO UPDATE SET id = excluded.id, status = excluded.status,
			  requested_by = excluded.requested_by, requested_at = excluded.requested_at,
			  delete_after = excluded.delete_after, cancelled_by = '', attempts = 0, lease_until = NULL,
			  step = 0, erased = 0, finished_at = NULL, updated_at = excluded.updated_at
			WHERE tenant_deletions.status = ?`,
			d.TenantID, d.ID, string(identity.DeletionPending), d.RequestedBy, s.d.Time(d.RequestedAt),
			s.d.Time(d.DeleteAfter), s.d.Time(d.UpdatedAt), string(identity.DeletionCancelled)))
		if err != nil {
			return err
		}
		if n == 0 {
			return fault.Conflictf(identity.CodeTenantDeletionPending, "the tenant's deletion is already scheduled")
		}
		return nil
	})
}

// GetTenantDeletion implements identity.DeletionStore.
func (s *Store) GetTenantDeletion(ctx context.Context, tenantID string) (identity.TenantDeletion, error) {
	return get(ctx, s, scanDeletion, errDeletionNotFound,
		`SELECT `+deletionCols+` FROM tenant_deletions WHERE tenant_id = ?`, tenantID)
}

// CancelTenantDeletion implements identity.DeletionStore. The UPDATE
// matches only a pending row, so of a cancel and a worker's claim racing
// for it exactly one wins.
func (s *Store) CancelTenantDeletion(ctx context.Context, tenantID, by string, at time.Time) (identity.TenantDeletion, error) {
	var out identity.TenantDeletion
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		d, err := scanDeletion(s.queryRow(ctx, tx,
			`UPDATE tenant_deletions SET status = ?, cancelled_by = ?, updated_at = ?
			 WHERE tenant_id = ? AND status = ? RETURNING `+deletionCols,
			string(identity.DeletionCancelled), by, s.d.Time(at), tenantID, string(identity.DeletionPending)))
		out, err = one(s, d, err, errDeletionNotFound)
		if !errors.Is(err, fault.ErrNotFound) {
			return err
		}
		var status string
		switch err := s.queryRow(ctx, tx, `SELECT status FROM tenant_deletions WHERE tenant_id = ?`, tenantID).Scan(&status); {
		case errors.Is(err, sql.ErrNoRows) || status == string(identity.DeletionCancelled):
			return errDeletionNotFound()
		case err != nil:
			return err
		}
		return fault.Conflictf(identity.CodeTenantDeletionStarted, "the tenant's erasure has begun and cannot be cancelled")
	})
	return out, err
}

// ClaimTenantDeletion implements identity.DeletionStore. On PostgreSQL the
// row is locked with SKIP LOCKED, so concurrent workers take other rows
// instead of waiting; SQLite's write transaction excludes other claimers.
func (s *Store) ClaimTenantDeletion(ctx context.Context, now time.Time, lease time.Duration) (identity.TenantDeletion, bool, error) {
	var out identity.TenantDeletion
	found := false
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		rows, err := s.query(ctx, tx, `SELECT `+deletionCols+` FROM tenant_deletions
			WHERE status IN ('pending', 'running') AND delete_after <= ? AND (lease_until IS NULL OR lease_until <= ?)
			ORDER BY delete_after, tenant_id LIMIT 1`+s.d.SkipLocked("tenant_deletions"),
			s.d.Time(now), s.d.Time(now))
		list, err := collect(s, rows, err, scanDeletion)
		if err != nil || len(list) == 0 {
			return err
		}
		out, found = list[0], true
		out.Status, out.Attempts, out.UpdatedAt = identity.DeletionRunning, out.Attempts+1, now
		_, err = s.exec(ctx, tx, `UPDATE tenant_deletions SET status = ?, attempts = ?, lease_until = ?, updated_at = ?
			WHERE tenant_id = ?`,
			string(out.Status), out.Attempts, s.d.Time(now.Add(lease)), s.d.Time(now), out.TenantID)
		return err
	})
	if err != nil {
		return identity.TenantDeletion{}, false, err
	}
	return out, found, nil
}

// holdDeletion extends d's lease if d's worker still holds it and returns
// the step erasure is at: the fence of every batch.
func (s *Store) holdDeletion(ctx context.Context, tx *sql.Tx, d identity.TenantDeletion, now time.Time, lease time.Duration) (int, error) {
	var step int
	err := s.queryRow(ctx, tx, `UPDATE tenant_deletions SET lease_until = ?, updated_at = ?
		WHERE tenant_id = ? AND attempts = ? AND status = ? RETURNING step`,
		s.d.Time(now.Add(lease)), s.d.Time(now), d.TenantID, d.Attempts, string(identity.DeletionRunning)).Scan(&step)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, errDeletionLeaseLost()
	}
	return step, err
}

// FinishTenantDeletion implements identity.DeletionStore.
func (s *Store) FinishTenantDeletion(ctx context.Context, d identity.TenantDeletion, at time.Time) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		step, err := s.holdDeletion(ctx, tx, d, at, 0)
		if err != nil {
			return err
		}
		if step < len(s.erasureSteps()) {
			return fmt.Errorf("tenant %s: erasure is at step %d, not finished", d.TenantID, step)
		}
		// The slug is free again; the id stays taken, and so does the
		// stream it names.
		if _, err := s.exec(ctx, tx, `UPDATE tenants SET status = ?, name = '', slug = ?, updated_at = ? WHERE id = ?`,
			string(identity.TenantDeleted), "deleted-"+d.TenantID, s.d.Time(at), d.TenantID); err != nil {
			return err
		}
		_, err = s.exec(ctx, tx, `UPDATE tenant_deletions SET status = ?, lease_until = NULL, finished_at = ?, updated_at = ?
			WHERE tenant_id = ?`, string(identity.DeletionDone), s.d.Time(at), s.d.Time(at), d.TenantID)
		return err
	})
}
