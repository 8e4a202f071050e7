package ratelimit

import (
	"context"
	"slices"

	"github.com/tollgate/tollgate/cursor"
	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/serviceaccount"
)

// Tenants is what Admin asks about tenants and their admins
// (identity.Service).
type Tenants interface {
	// GetTenant fails unless c may read the tenant.
	GetTenant(ctx context.Context, c identity.Caller, tenantID string) (identity.TenantMembership, error)
	TenantExists(ctx context.Context, tenantID string) error
	IsPlatformAdmin(ctx context.Context, c identity.Caller) bool
}

// Admin holds the rules of Tollgate's rate-limit API: which services may
// consume from limits by name, who may see a tenant's plan and who may
// change it. A nil Limiter means rate limiting is not configured, and every
// call says so.
type Admin struct {
	limiter *Limiter
	tenants Tenants
}

// NewAdmin returns an Admin over l, which may be nil.
func NewAdmin(l *Limiter, tenants Tenants) *Admin { return &Admin{limiter: l, tenants: tenants} }

// Plan is a tenant's overrides and every policy that applies to its
// requests: the configured ones with the overrides in place.
type Plan struct {
	TenantLimits
	Effective map[string]string
}

func errNotConfigured() error {
	return fault.New(fault.Unavailable, CodeRatelimitUnavailable, "rate limiting is not configured")
}

// Check consumes cost from the limit name for key on behalf of a service
// holding the ratelimit:check scope. A tenant, when given, must be one the
// service is registered for, and exist.
func (a *Admin) Check(ctx context.Context, ac identity.ActorContext, tenantID, name, key string, cost int64) (Decision, error) {
	if err := a.MayCheck(ac); err != nil {
		return Decision{}, err
	}
	if tenantID != "" {
		if err := ac.ReachTenant(tenantID); err != nil {
			return Decision{}, err
		}
	}
	if name == "" {
		return Decision{}, fault.Invalidf("name", CodeNameRequired, "name is required")
	}
	if len(name) > MaxNameLen {
		return Decision{}, fault.Invalidf("name", cursor.CodeInvalidLimit, "name is at most %d bytes", MaxNameLen)
	}
	if tenantID != "" {
		if err := a.tenants.TenantExists(ctx, tenantID); err != nil {
			return Decision{}, err
		}
	}
	return a.limiter.CheckNamed(ctx, tenantID, name, key, cost)
}

// MayCheck refuses callers that may not Check, so that their requests are
// refused before their bodies are read.
func (a *Admin) MayCheck(ac identity.ActorContext) error {
	if ac.ActorType != identity.ActorService || !slices.Contains(ac.Scopes, serviceaccount.ScopeRateLimitCheck) {
		return fault.Forbiddenf(identity.CodeScopeRequired, "only services holding the %s scope may check rate limits", serviceaccount.ScopeRateLimitCheck)
	}
	if a.limiter == nil {
		return errNotConfigured()
	}
	return nil
}

// TenantPlan shows a tenant's plan to those who may read the tenant: its
// members and platform admins.
func (a *Admin) TenantPlan(ctx context.Context, c identity.Caller, tenantID string) (Plan, error) {
	if _, err := a.tenants.GetTenant(ctx, c, tenantID); err != nil {
		return Plan{}, err
	}
	if a.limiter == nil {
		return Plan{}, errNotConfigured()
	}
	tl, err := a.limiter.TenantLimits(ctx, tenantID)
	if err != nil {
		return Plan{}, err
	}
	tl.TenantID = tenantID
	return a.plan(tl), nil
}

// SetTenantPlan replaces a tenant's overrides; platform admins only, since
// a tenant raising its own limits would defeat them. limits nil is refused:
// {} removes every override.
func (a *Admin) SetTenantPlan(ctx context.Context, c identity.Caller, tenantID string, limits map[string]string) (Plan, error) {
	if err := a.MaySetTenantPlan(ctx, c, tenantID); err != nil {
		return Plan{}, err
	}
	if limits == nil {
		return Plan{}, fault.Invalidf("limits", CodeLimitsRequired, `limits is required: an object of limit name to spec, {} to remove every override`)
	}
	tl, err := a.limiter.SetTenantLimits(ctx, tenantID, limits)
	if err != nil {
		return Plan{}, err
	}
	return a.plan(tl), nil
}

// MaySetTenantPlan refuses callers that may not SetTenantPlan, so that
// their requests are refused before their bodies are read.
func (a *Admin) MaySetTenantPlan(ctx context.Context, c identity.Caller, tenantID string) error {
	if _, err := a.tenants.GetTenant(ctx, c, tenantID); err != nil {
		return err
	}
	if !a.tenants.IsPlatformAdmin(ctx, c) {
		return fault.Forbiddenf(identity.CodePlatformAdminRequired, "only a platform admin may change a tenant's rate limits")
	}
	if a.limiter == nil {
		return errNotConfigured()
	}
	return nil
}

// plan merges the tenant's overrides over the configured policies a tenant
// may override.
func (a *Admin) plan(tl TenantLimits) Plan {
	if tl.Limits == nil {
		tl.Limits = map[string]string{}
	}
	p := Plan{TenantLimits: tl, Effective: map[string]string{}}
	for name, pol := range a.limiter.Policies() {
		if TenantOverridable(name) {
			p.Effective[name] = pol.String()
		}
	}
	for name, spec := range tl.Limits {
		p.Effective[name] = spec
	}
	return p
}
