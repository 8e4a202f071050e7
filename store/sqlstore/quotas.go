package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"

	"github.com/tollgate/tollgate/usage"
)

// TenantQuotas implements usage.QuotaStore: no quotas and a zero
// UpdatedAt when the tenant has none, whether or not it exists.
func (s *Store) TenantQuotas(ctx context.Context, tenantID string) (usage.Quotas, error) {
	q := usage.Quotas{TenantID: tenantID}
	var raw []byte
	err := s.queryRow(ctx, s.read,
		`SELECT quotas, updated_at FROM usage_quotas WHERE tenant_id = ?`, tenantID).Scan(&raw, at(&q.UpdatedAt))
	if errors.Is(err, sql.ErrNoRows) {
		return usage.Quotas{TenantID: tenantID}, nil
	}
	if err != nil {
		return usage.Quotas{}, s.dbErr(err)
	}
	if err := json.Unmarshal(raw, &q.Quotas); err != nil {
		return usage.Quotas{}, s.dbErr(err)
	}
	return q, nil
}

// SetTenantQuotas implements usage.QuotaStore in one upsert, or a delete
// when q.Quotas is empty. NotFound "tenant_not_found" when the tenant does
// not exist, in either case.
func (s *Store) SetTenantQuotas(ctx context.Context, q usage.Quotas) error {
	if len(q.Quotas) == 0 {
		// As SetTenantRateLimits: quotas cascade with their tenant, so
		// deleting before looking for the tenant answers the same.
		if _, err := s.exec(ctx, s.write, `DELETE FROM usage_quotas WHERE tenant_id = ?`, q.TenantID); err != nil {
			return s.dbErr(err)
		}
		return s.mustExist(ctx, "tenants", q.TenantID, errTenantNotFound)
	}
	b, err := json.Marshal(q.Quotas)
	if err != nil {
		return s.dbErr(err)
	}
	_, err = s.exec(ctx, s.write,
		`INSERT INTO usage_quotas (tenant_id, quotas, updated_at) VALUES (?, ?, ?)
		 ON CONFLICT (tenant_id) DO UPDATE SET quotas = excluded.quotas, updated_at = excluded.updated_at`,
		q.TenantID, string(b), s.d.Time(q.UpdatedAt))
	if s.violates(err, "usage_quotas_tenant_fkey") {
		return errTenantNotFound()
	}
	return s.dbErr(err)
}

// ClaimQuotaThreshold implements usage.QuotaStore. The audit events ctx
// carries are written only with a claim that inserts: a replica that
// loses the race records nothing.
func (s *Store) ClaimQuotaThreshold(ctx context.Context, c usage.Crossing) (bool, error) {
	claimed := false
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := s.exec(ctx, tx,
			`INSERT INTO usage_quota_thresholds (tenant_id, meter, actor, period_start, threshold, fired_at) VALUES (?, ?, ?, ?, ?, ?)
			 ON CONFLICT (tenant_id, meter, actor, period_start, threshold) DO NOTHING`,
			c.TenantID, c.Meter, c.Actor, s.d.Time(c.Period.Start), c.Threshold, s.d.Time(c.At))
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if n == 0 {
			return errAlreadyClaimed
		}
		claimed = true
		return nil
	})
	if !claimed {
		if errors.Is(err, errAlreadyClaimed) {
			return false, nil
		}
		if s.violates(err, "usage_quota_thresholds_tenant_fkey") {
			return false, errTenantNotFound()
		}
		return false, err
	}
	return true, err
}

// errAlreadyClaimed rolls back a claim that inserted nothing, so that its
// audit events are not written.
var errAlreadyClaimed = errors.New("quota threshold already claimed")
