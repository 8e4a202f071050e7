package sqlstore

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
	var limits []byte
	err := s.queryRow(ctx, s.read,
		`SELECT limits, updated_at FROM tenant_rate_limits WHERE tenant_id = ?`, tenantID).Scan(&limits, at(&tl.UpdatedAt))
	if errors.Is(err, sql.ErrNoRows) {
		return ratelimit.TenantLimits{TenantID: tenantID, Limits: map[string]string{}}, nil
	}
	if err != nil {
		return ratelimit.TenantLimits{}, s.dbErr(err)
	}
	if err := json.Unmarshal(limits, &tl.Limits); err != nil {
		return ratelimit.TenantLimits{}, s.dbErr(err)
	}
	if tl.Limits == nil {
		// A stored JSON null; the CHECK keeps it out, but never hand one on.
		tl.Limits = map[string]string{}
	}
	return tl, nil
}

// SetTenantRateLimits replaces tl.TenantID's overrides with tl.Limits in one
// upsert, or deletes them when tl.Limits is empty. NotFound
// "tenant_not_found" when the tenant does not exist, in either case.
func (s *Store) SetTenantRateLimits(ctx context.Context, tl ratelimit.TenantLimits) error {
	if len(tl.Limits) == 0 {
		// A tenant that does not exist has no overrides (they cascade), so
		// deleting first and then looking for the tenant answers the same
		// as the other way round, without a transaction.
		if _, err := s.exec(ctx, s.write, `DELETE FROM tenant_rate_limits WHERE tenant_id = ?`, tl.TenantID); err != nil {
			return s.dbErr(err)
		}
		return s.mustExist(ctx, "tenants", tl.TenantID, errTenantNotFound)
	}
	b, err := json.Marshal(tl.Limits)
	if err != nil {
		return s.dbErr(err)
	}
	_, err = s.exec(ctx, s.write,
		`INSERT INTO tenant_rate_limits (tenant_id, limits, updated_at) VALUES (?, ?, ?)
		 ON CONFLICT (tenant_id) DO UPDATE SET limits = excluded.limits, updated_at = excluded.updated_at`,
		tl.TenantID, string(b), s.d.Time(tl.UpdatedAt))
	if s.violates(err, "tenant_rate_limits_tenant_fkey") {
		return errTenantNotFound()
	}
	return s.dbErr(err)
}
