package sqlstore

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/tollgate/tollgate/audit"
	"github.com/tollgate/tollgate/fault"
)

// AuditRetentions implements audit.RetentionStore.
func (s *Store) AuditRetentions(ctx context.Context) (map[string]int, error) {
	type row struct {
		tenant string
		days   int
	}
	rows, err := s.query(ctx, s.read, `SELECT tenant_id, days FROM audit_retention`)
	list, err := collect(s, rows, err, func(r scanner) (row, error) {
		var x row
		err := r.Scan(&x.tenant, &x.days)
		return x, err
	})
	if err != nil {
		return nil, err
	}
	out := make(map[string]int, len(list))
	for _, x := range list {
		out[x.tenant] = x.days
	}
	return out, nil
}

// SetAuditRetention implements audit.RetentionStore.
func (s *Store) SetAuditRetention(ctx context.Context, tenantID string, days int, now time.Time) error {
	if err := audit.CheckRetentionDays(days); err != nil {
		return err
	}
	var err error
	if days == 0 {
		_, err = s.exec(ctx, s.write, `DELETE FROM audit_retention WHERE tenant_id = ?`, tenantID)
	} else {
		_, err = s.exec(ctx, s.write, `INSERT INTO audit_retention (tenant_id, days, updated_at) VALUES (?, ?, ?)
			ON CONFLICT (tenant_id) DO UPDATE SET days = excluded.days, updated_at = excluded.updated_at`,
			tenantID, days, s.d.Time(now))
	}
	return s.dbErr(err)
}

// LastAuditBefore implements audit.RetentionStore; the index on
// (tenant_id, occurred_at, seq) serves it.
func (s *Store) LastAuditBefore(ctx context.Context, tenantID string, t time.Time) (audit.Head, error) {
	h := audit.Head{TenantID: tenantID}
	err := s.queryRow(ctx, s.read, `SELECT seq, hash FROM audit_events WHERE tenant_id = ? AND seq =
		(SELECT max(seq) FROM audit_events WHERE tenant_id = ? AND occurred_at < ?)`,
		tenantID, tenantID, s.d.Time(t)).Scan(&h.Seq, &h.Hash)
	if errors.Is(err, sql.ErrNoRows) {
		return audit.Head{TenantID: tenantID}, nil
	}
	return h, s.dbErr(err)
}

// PruneAudit implements audit.RetentionStore. The head row lock orders it
// with appenders and with another pruner of the stream: whoever comes
// second finds the anchor's event gone and deletes nothing.
func (s *Store) PruneAudit(ctx context.Context, d audit.Digest) (int64, error) {
	if d.Kind != audit.DigestPrune || d.ThroughSeq < 1 {
		return 0, fault.Invalidf("kind", audit.CodeInvalidEvent, "pruning needs a prune digest through seq 1 or later")
	}
	var deleted int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := s.lockAuditHead(ctx, tx, d.TenantID); err != nil {
			return err
		}
		var hash []byte
		err := s.queryRow(ctx, tx, `SELECT hash FROM audit_events WHERE tenant_id = ? AND seq = ?`, d.TenantID, d.ThroughSeq).Scan(&hash)
		if errors.Is(err, sql.ErrNoRows) {
			return errPruned
		}
		if err != nil {
			return err
		}
		if !bytes.Equal(hash, d.HeadHash) {
			// Never delete what the anchor does not vouch for.
			return fault.New(fault.Internal, audit.CodeChainBroken, "the event the prune anchor covers does not have its hash")
		}
		if _, err := s.exec(ctx, tx, `DELETE FROM audit_digests WHERE tenant_id = ? AND through_seq <= ?`, d.TenantID, d.ThroughSeq); err != nil {
			return err
		}
		if _, err := s.exec(ctx, tx,
			`INSERT INTO audit_digests (tenant_id, through_seq, head_hash, signed_at, key_id, signature, kind) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			d.TenantID, d.ThroughSeq, d.HeadHash, s.d.Time(d.Time), d.KeyID, d.Signature, string(audit.DigestPrune)); err != nil {
			return err
		}
		res, err := s.exec(ctx, tx, `DELETE FROM audit_events WHERE tenant_id = ? AND seq <= ?`, d.TenantID, d.ThroughSeq)
		if err != nil {
			return err
		}
		deleted, err = res.RowsAffected()
		return err
	})
	if errors.Is(err, errPruned) {
		return 0, nil
	}
	return deleted, err
}

// errPruned rolls back a prune that another pruner already made, with the
// audit event recorded for it.
var errPruned = errors.New("already pruned")
