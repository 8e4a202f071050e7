package ratelimit

import (
	"context"
	"time"
)

// TenantLimits are the overrides of one tenant — its plan: a policy spec
// (see ParsePolicy) per limit name, replacing the configured policy of that
// name for the tenant's requests.
type TenantLimits struct {
	TenantID  string
	Limits    map[string]string
	UpdatedAt time.Time
}

// TenantStore persists tenants' overrides.
type TenantStore interface {
	// TenantRateLimits returns tenantID's overrides: an empty Limits map
	// and a zero UpdatedAt when it has none. It does not check that the
	// tenant exists.
	TenantRateLimits(ctx context.Context, tenantID string) (TenantLimits, error)
	// SetTenantRateLimits replaces the tenant's overrides; an empty map
	// removes them. NotFound "tenant_not_found" when the tenant does not
	// exist.
	SetTenantRateLimits(ctx context.Context, tl TenantLimits) error
}
