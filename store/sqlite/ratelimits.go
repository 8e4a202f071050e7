package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"

	"github.com/tollgate/tollgate/ratelimit"
)

// TenantRateLimits returns tenantID's overrides: an empty map and a zero
// UpdatedAt when it has none, whether or not the tenant exists.
func (s *Store) TenantRateLimits(ctx context.Context, tenantID string) (ratelimit.TenantLimits, error) {
	tl := ratelimit.TenantLimits{TenantID: tenantID, Limits: map[string]string{}}
	var limits string
	var updated int64
	err := s.read.QueryRowContext(ctx,
		`SELECT limits, updated_at FROM tenant_rate_limits WHERE tenant_id = ?`, tenantID).Scan(&limits, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return tl, nil
	}
	if err != nil {
		return ratelimit.TenantLimits{}, dbErr(err)
	}
	if err := json.Unmarshal([]byte(limits), &tl.Limits); err != nil {
		return ratelimit.TenantLimits{}, dbErr(err)
	}
	if tl.Limits == nil {
		// A stored JSON null; the CHECK keeps it out, but never hand one on.
		tl.Limits = map[string]string{}
	}
	tl.UpdatedAt = fromTS(updated)
	return tl, nil
}

// SetTenantRateLimits replaces tl.TenantID's overrides with tl.Limits in one
// upsert, or deletes them when tl.Limits is empty. NotFound
// "tenant_not_found" when the tenant does not exist, in either case.
func (s *Store) SetTenantRateLimits(ctx context.Context, tl ratelimit.TenantLimits) error {
	if len(tl.Limits) == 0 {
		return s.inTx(ctx, func(tx *sql.Tx) error {
			var exists bool
			if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM tenants WHERE id = ?)`, tl.TenantID).Scan(&exists); err != nil {
				return err
			}
			if !exists {
				return errTenantNotFound()
			}
			_, err := tx.ExecContext(ctx, `DELETE FROM tenant_rate_limits WHERE tenant_id = ?`, tl.TenantID)
			return err
		})
	}
	b, err := json.Marshal(tl.Limits)
	if err != nil {
		return dbErr(err)
	}
	_, err = s.write.ExecContext(ctx,
		`INSERT INTO tenant_rate_limits (tenant_id, limits, updated_at) VALUES (?, ?, ?)
		 ON CONFLICT (tenant_id) DO UPDATE SET limits = excluded.limits, updated_at = excluded.updated_at`,
		tl.TenantID, string(b), ts(tl.UpdatedAt))
	if isForeignKey(err) {
		return errTenantNotFound()
	}
	return dbErr(err)
}
