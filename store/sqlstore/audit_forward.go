package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"github.com/tollgate/tollgate/audit"
)

// ClaimAuditForward implements audit.ForwardStore. It first gives every
// stream without a cursor one at seq 0, then leases the streams that are
// behind and free, least recently moved first. On PostgreSQL the rows are
// locked with SKIP LOCKED, so that two replicas claiming at once take
// different streams instead of waiting; on SQLite the write transaction
// excludes every other claimer.
func (s *Store) ClaimAuditForward(ctx context.Context, owner string, now, leaseUntil time.Time, limit int) ([]audit.ForwardCursor, error) {
	var out []audit.ForwardCursor
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := s.exec(ctx, tx, `INSERT INTO audit_forward_cursors (tenant_id, seq, updated_at)
			SELECT h.tenant_id, 0, ? FROM audit_heads h
			WHERE NOT EXISTS (SELECT 1 FROM audit_forward_cursors c WHERE c.tenant_id = h.tenant_id)
			ON CONFLICT (tenant_id) DO NOTHING`, s.d.Time(now)); err != nil {
			return err
		}
		rows, err := s.query(ctx, tx, `SELECT c.tenant_id, c.seq FROM audit_forward_cursors c
			JOIN audit_heads h ON h.tenant_id = c.tenant_id
			WHERE h.seq > c.seq AND c.lease_until <= ? ORDER BY c.updated_at, c.tenant_id LIMIT ?`+s.d.SkipLocked("c"),
			s.d.Time(now), limit)
		out, err = collect(s, rows, err, func(r scanner) (audit.ForwardCursor, error) {
			var c audit.ForwardCursor
			err := r.Scan(&c.TenantID, &c.Seq)
			return c, err
		})
		if err != nil {
			return err
		}
		for _, c := range out {
			if _, err := s.exec(ctx, tx, `UPDATE audit_forward_cursors SET lease_owner = ?, lease_until = ? WHERE tenant_id = ?`,
				owner, s.d.Time(leaseUntil), c.TenantID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// AdvanceAuditForward implements audit.ForwardStore. The cursor never
// moves back: a forwarder whose lease ended and was taken over may finish
// late, after its successor moved further.
func (s *Store) AdvanceAuditForward(ctx context.Context, owner, tenantID string, seq int64, now time.Time) (bool, error) {
	res, err := s.exec(ctx, s.write, `UPDATE audit_forward_cursors
		SET seq = CASE WHEN seq < ? THEN ? ELSE seq END, lease_owner = '', lease_until = ?, updated_at = ?
		WHERE tenant_id = ? AND lease_owner = ?`,
		seq, seq, s.d.Time(time.Unix(0, 0)), s.d.Time(now), tenantID, owner)
	if err != nil {
		return false, s.dbErr(err)
	}
	n, err := res.RowsAffected()
	return n == 1, s.dbErr(err)
}
