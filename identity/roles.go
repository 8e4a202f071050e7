package identity

import (
	"context"
	"errors"
	"slices"

	"github.com/tollgate/tollgate/audit"
	"github.com/tollgate/tollgate/event"

	"github.com/tollgate/tollgate/fault"
)

// RoleInput is the body of PUT …/roles/{name}.
type RoleInput struct {
	Description string
	Permissions []string
}

// ListRoles lists a tenant's custom roles (roles:read).
func (s *Service) ListRoles(ctx context.Context, c Caller, tenantID string) ([]Role, error) {
	if _, err := s.resolveFor(ctx, c, tenantID, PermRolesRead); err != nil {
		return nil, err
	}
	return s.store.ListRoles(ctx, tenantID)
}

// GetRole returns a custom or built-in role (roles:read). Built-in roles are
// readable so clients can show what they grant.
func (s *Service) GetRole(ctx context.Context, c Caller, tenantID, name string) (Role, error) {
	if _, err := s.resolveFor(ctx, c, tenantID, PermRolesRead); err != nil {
		return Role{}, err
	}
	if IsBuiltinRole(name) {
		perms := BuiltinPermissions(name)
		out := make([]string, len(perms))
		for i, p := range perms {
			out[i] = string(p)
		}
		slices.Sort(out)
		return Role{TenantID: tenantID, Name: name, Description: "built-in role", Permissions: out}, nil
	}
	return s.store.GetRole(ctx, tenantID, name)
}

// PutRole creates or replaces a custom role (roles:write). A role may not
// grant owners:write (ownership is the owner role's alone) nor anything the
// caller lacks, and a role that grants something the caller lacks may not
// be replaced: the caller must hold every permission of the old definition
// and of the new one.
func (s *Service) PutRole(ctx context.Context, c Caller, tenantID, name string, in RoleInput) (Role, error) {
	a, err := s.resolveFor(ctx, c, tenantID, PermRolesWrite)
	if err != nil {
		return Role{}, err
	}
	if IsBuiltinRole(name) {
		return Role{}, fault.Invalidf("name", CodeBuiltinRole, "%s is a built-in role and cannot be changed", name)
	}
	if err := ValidateRoleName(name); err != nil {
		return Role{}, err
	}
	if err := CheckText("description", in.Description, MaxRoleDescLen, CodeInvalidDescription); err != nil {
		return Role{}, err
	}
	perms, err := ValidatePermissions(in.Permissions)
	if err != nil {
		return Role{}, err
	}
	for _, p := range perms {
		if Permission(p) == PermOwnersWrite {
			return Role{}, fault.Invalidf("permissions", CodeReservedPermission, "owners:write belongs to the owner role only")
		}
		if !a.has(Permission(p)) {
			return Role{}, fault.Forbiddenf(CodePermissionDenied, "you cannot grant %s, which you do not hold", p)
		}
	}
	now := s.timestamp()
	r := Role{TenantID: tenantID, Name: name, Description: in.Description, Permissions: perms, CreatedAt: now, UpdatedAt: now}
	if existing, err := s.store.GetRole(ctx, tenantID, name); err == nil {
		// Redefining a role changes every holder's rights at once, so it
		// is guarded like changing their roles (checkOutranks): nobody
		// takes away what they could not have granted.
		for _, p := range existing.Permissions {
			if KnownPermission(p) && !a.has(Permission(p)) {
				return Role{}, fault.Forbiddenf(CodePermissionDenied, "the role grants %s, which you do not hold, so you cannot change it", p)
			}
		}
		r.CreatedAt = existing.CreatedAt
	} else if !errors.Is(err, fault.ErrNotFound) {
		return Role{}, err
	}
	ctx = audit.Record(ctx, audit.Event{TenantID: tenantID, Action: audit.ActionRolePut, TargetType: "role", TargetID: name,
		Detail: map[string]string{"permissions": audit.List(perms)}})
	if err := s.store.PutRole(ctx, r); err != nil {
		return Role{}, err
	}
	// Every holder's keys change with the role. Caches drop everything on
	// any change of rights, so one event names the role, not each holder.
	s.notify.Notify(ctx, event.Event{Kind: event.KindActorChanged, ID: "role:" + tenantID + "/" + name, Tenant: tenantID, At: now})
	return r, nil
}

// DeleteRole deletes a custom role that no member holds (roles:write).
func (s *Service) DeleteRole(ctx context.Context, c Caller, tenantID, name string) error {
	a, err := s.resolve(ctx, c, tenantID)
	if err != nil {
		return err
	}
	if err := a.require(PermRolesWrite); err != nil {
		return err
	}
	if IsBuiltinRole(name) {
		return fault.Invalidf("name", CodeBuiltinRole, "%s is a built-in role and cannot be deleted", name)
	}
	ctx = audit.Record(ctx, audit.Event{TenantID: tenantID, Action: audit.ActionRoleDelete, TargetType: "role", TargetID: name})
	return s.store.DeleteRole(ctx, tenantID, name)
}
