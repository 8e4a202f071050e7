package identity

import (
	"context"

	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/ids"
)

// TenantRights answers what a person (or an agent, through its owner) may
// do in a tenant now; Service.TenantPermissions implements it.
type TenantRights interface {
	TenantPermissions(ctx context.Context, tenantID, actorID string) (PermissionSet, error)
}

// CredentialPermissions is what ac may do in tenantID: for a session its
// holder's rights there, for any other credential its permissions (its
// scopes within its holder's rights), in its own tenant only. A tenant
// the caller has no standing in is NotFound "tenant_not_found", whether
// or not it exists; a suspended one is Forbidden "tenant_suspended" to
// its members.
func CredentialPermissions(ctx context.Context, r TenantRights, ac ActorContext, tenantID string) (PermissionSet, error) {
	if !ids.Valid(tenantID) {
		return nil, errTenantNotFound()
	}
	if ac.Credential == CredentialSession {
		perms, err := r.TenantPermissions(ctx, tenantID, ac.ActorID)
		if fault.KindOf(err) == fault.NotFound {
			return nil, errTenantNotFound()
		}
		return perms, err
	}
	if ac.TenantID != tenantID {
		return nil, errTenantNotFound()
	}
	perms := PermissionSet{}
	for _, p := range ac.Permissions {
		perms[Permission(p)] = struct{}{}
	}
	return perms, nil
}

// RequirePermissions refuses unless perms holds every one of want:
// Forbidden "permission_denied" naming the first missing.
func RequirePermissions(perms PermissionSet, want ...Permission) error {
	for _, p := range want {
		if !perms.Has(p) {
			return fault.Forbiddenf(CodePermissionDenied, "this action needs the %s permission in this tenant", p)
		}
	}
	return nil
}
