package postgres

import (
	"context"

	"github.com/tollgate/tollgate/ratelimit"
)

// TenantRateLimits returns tenantID's overrides: an empty map and a zero
// UpdatedAt when it has none, whether or not the tenant exists.
func (s *Store) TenantRateLimits(ctx context.Context, tenantID string) (ratelimit.TenantLimits, error) {
	tl := ratelimit.TenantLimits{TenantID: tenantID, Limits: map[string]string{}}
	err := s.pool.QueryRow(ctx,
		`SELECT limits, updated_at FROM tenant_rate_limits WHERE tenant_id = $1`, tenantID).Scan(&tl.Limits, &tl.UpdatedAt)
	if isNoRows(err) {
		return ratelimit.TenantLimits{TenantID: tenantID, Limits: map[string]string{}}, nil
	}
	if err != nil {
		return ratelimit.TenantLimits{}, dbErr(err)
	}
	if tl.Limits == nil {
		// A stored JSON null; the CHECK keeps it out, but never hand one on.
		tl.Limits = map[string]string{}
	}
	tl.UpdatedAt = tl.UpdatedAt.UTC()
	return tl, nil
}

// SetTenantRateLimits replaces tl.TenantID's overrides with tl.Limits in one
// upsert, or deletes them when tl.Limits is empty. NotFound
// "tenant_not_found" when the tenant does not exist, in either case.
func (s *Store) SetTenantRateLimits(ctx context.Context, tl ratelimit.TenantLimits) error {
	if len(tl.Limits) == 0 {
		// A data-modifying CTE runs whether or not the query reads it.
		var exists bool
		err := s.pool.QueryRow(ctx,
			`WITH d AS (DELETE FROM tenant_rate_limits WHERE tenant_id = $1)
			 SELECT EXISTS (SELECT 1 FROM tenants WHERE id = $1)`, tl.TenantID).Scan(&exists)
		if err != nil {
			return dbErr(err)
		}
		if !exists {
			return errTenantNotFound()
		}
		return nil
	}
	_, err := s.pool.Exec(ctx,
		`INSERT INTO tenant_rate_limits (tenant_id, limits, updated_at) VALUES ($1, $2, $3)
		 ON CONFLICT (tenant_id) DO UPDATE SET limits = EXCLUDED.limits, updated_at = EXCLUDED.updated_at`,
		tl.TenantID, tl.Limits, ts(tl.UpdatedAt))
	if violated(err) == "tenant_rate_limits_tenant_fkey" {
		return errTenantNotFound()
	}
	return dbErr(err)
}
