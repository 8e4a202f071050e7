package identity

import (
	"context"
	"errors"

	"github.com/tollgate/tollgate/audit"
	"github.com/tollgate/tollgate/cursor"
	"github.com/tollgate/tollgate/event"

	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/ids"
)

// NewTenant is the input of CreateTenant.
type NewTenant struct {
	Slug string
	Name string
}

// validate checks a new tenant's slug and name, defaulting the name to the
// slug.
func (in NewTenant) validate() (NewTenant, error) {
	if err := ValidateTenantSlug(in.Slug); err != nil {
		return NewTenant{}, err
	}
	if in.Name == "" {
		in.Name = in.Slug
	}
	if err := ValidateName("name", in.Name, false); err != nil {
		return NewTenant{}, err
	}
	return in, nil
}

// CreateTenant creates a tenant whose owner is ownerActorID. Any signed-in
// human may create one; the slug is the only global name and is checked here.
func (s *Service) CreateTenant(ctx context.Context, ownerActorID string, in NewTenant) (Tenant, error) {
	in, err := in.validate()
	if err != nil {
		return Tenant{}, err
	}
	if s.opts.MaxTenantsPerUser > 0 {
		n, err := s.store.CountTenantsOf(ctx, ownerActorID)
		if err != nil {
			return Tenant{}, err
		}
		if err := underLimit(n, 1, s.opts.MaxTenantsPerUser, "max_tenants_per_user", "the number of tenants you own"); err != nil {
			return Tenant{}, err
		}
	}
	now := s.timestamp()
	t := Tenant{ID: ids.NewAt(now), Slug: in.Slug, Name: in.Name, Status: TenantActive, MFA: MFAOptional, CreatedAt: now, UpdatedAt: now}
	owner := Membership{TenantID: t.ID, ActorID: ownerActorID, Roles: []string{RoleOwner}, CreatedAt: now, UpdatedAt: now}
	ctx = audit.Record(ctx, audit.Event{TenantID: t.ID, Action: audit.ActionTenantCreate, TargetType: "tenant", TargetID: t.ID,
		Detail: map[string]string{"slug": t.Slug, "owner": ownerActorID}})
	if err := s.store.CreateTenant(ctx, t, owner); err != nil {
		return Tenant{}, err
	}
	return t, nil
}

// GetTenant returns a tenant the caller belongs to (or any, for a platform
// admin) together with the caller's roles in it.
func (s *Service) GetTenant(ctx context.Context, c Caller, tenantID string) (TenantMembership, error) {
	a, err := s.resolveFor(ctx, c, tenantID, PermTenantRead)
	if err != nil {
		return TenantMembership{}, err
	}
	return TenantMembership{Tenant: a.tenant, Roles: a.membership.Roles}, nil
}

// ListMyTenants lists the tenants the caller belongs to.
func (s *Service) ListMyTenants(ctx context.Context, c Caller, p cursor.Page) ([]TenantMembership, error) {
	if c.Bounded {
		// A key or delegated token sees the one tenant it was issued for.
		a, err := s.resolve(ctx, c, c.TenantID)
		if k := fault.KindOf(err); err != nil && (k == fault.Internal || k == fault.Unavailable) {
			return nil, err
		}
		if err != nil || p.After >= c.TenantID {
			return []TenantMembership{}, nil
		}
		return []TenantMembership{{Tenant: a.tenant, Roles: a.membership.Roles}}, nil
	}
	return s.store.ListTenantsOf(ctx, c.ActorID, p.Normalize())
}

// ListAllTenants lists every tenant; platform admins only.
func (s *Service) ListAllTenants(ctx context.Context, c Caller, p cursor.Page) ([]Tenant, error) {
	if !s.isPlatformAdmin(ctx, c) {
		return nil, fault.Forbiddenf(CodePlatformAdminRequired, "listing every tenant needs a platform admin")
	}
	return s.store.ListTenants(ctx, p.Normalize())
}

// TenantPatch holds the fields PATCH may change; nil means unchanged.
type TenantPatch struct {
	Name   *string
	Status *TenantStatus
	MFA    *TenantMFA
}

// UpdateTenant renames a tenant or sets its MFA rule (tenant:write), or
// changes its status (platform admins only: a tenant's own admins must not
// be able to lift a suspension).
func (s *Service) UpdateTenant(ctx context.Context, c Caller, tenantID string, p TenantPatch) (Tenant, error) {
	a, err := s.resolveFor(ctx, c, tenantID, PermTenantWrite)
	if err != nil {
		return Tenant{}, err
	}
	t := a.tenant
	if p.Name != nil {
		if err := ValidateName("name", *p.Name, false); err != nil {
			return Tenant{}, err
		}
		t.Name = *p.Name
	}
	if p.Status != nil {
		if *p.Status != TenantActive && *p.Status != TenantSuspended {
			return Tenant{}, fault.Invalidf("status", CodeInvalidStatus, "status must be active or suspended")
		}
		if *p.Status != t.Status && !a.platform() {
			return Tenant{}, fault.Forbiddenf(CodePlatformAdminRequired, "only a platform admin may change a tenant's status")
		}
		if *p.Status == TenantActive && t.Status != TenantActive {
			if err := s.refuseReactivation(ctx, t.ID); err != nil {
				return Tenant{}, err
			}
		}
		t.Status = *p.Status
	}
	if p.MFA != nil {
		if *p.MFA != MFAOptional && *p.MFA != MFARequired {
			return Tenant{}, fault.Invalidf("mfa", CodeInvalidMFA, "mfa must be optional or required")
		}
		t.MFA = *p.MFA
	}
	statusChanged := t.Status != a.tenant.Status
	t.UpdatedAt = s.timestamp()
	action := audit.ActionTenantUpdate
	switch {
	case statusChanged && t.Status == TenantSuspended:
		action = audit.ActionTenantSuspend
	case statusChanged:
		action = audit.ActionTenantActivate
	}
	ctx = audit.Record(ctx, audit.Event{TenantID: t.ID, Action: action, TargetType: "tenant", TargetID: t.ID,
		Detail: map[string]string{"status": string(t.Status), "mfa": string(t.MFA)}})
	if err := s.store.UpdateTenant(ctx, t); err != nil {
		return Tenant{}, err
	}
	if statusChanged {
		kind := event.KindTenantActivated
		if t.Status != TenantActive {
			kind = event.KindTenantSuspended
		}
		s.notify.Notify(ctx, event.Event{Kind: kind, ID: t.ID, At: t.UpdatedAt})
	}
	return t, nil
}

// AdminCreateTenant creates a tenant for the admin CLI, which runs with the
// operator's authority rather than a caller's.
func (s *Service) AdminCreateTenant(ctx context.Context, ownerEmail string, in NewTenant) (Tenant, error) {
	email, err := NormalizeEmail(ownerEmail)
	if err != nil {
		return Tenant{}, err
	}
	u, err := s.store.GetUserByEmail(ctx, email)
	if err != nil {
		return Tenant{}, err
	}
	return s.CreateTenant(ctx, u.ActorID(), in)
}

// TenantExists fails with NotFound "tenant_not_found" unless tenantID names
// a tenant. For callers that already hold platform standing.
func (s *Service) TenantExists(ctx context.Context, tenantID string) error {
	if !ids.Valid(tenantID) {
		return errTenantNotFound()
	}
	_, err := s.store.GetTenant(ctx, tenantID)
	if errors.Is(err, fault.ErrNotFound) {
		return errTenantNotFound()
	}
	return err
}
