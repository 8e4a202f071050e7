package identity

import (
	"slices"
	"sort"
)

// Permission is an entry of the documented catalogue (docs/identity.md).
type Permission string

// The permission catalogue. Custom roles may only use these.
const (
	PermTenantRead   Permission = "tenant:read"
	PermTenantWrite  Permission = "tenant:write"
	PermMembersRead  Permission = "members:read"
	PermMembersWrite Permission = "members:write"
	PermRolesRead    Permission = "roles:read"
	PermRolesWrite   Permission = "roles:write"
	PermAPIKeysRead  Permission = "apikeys:read"
	PermAPIKeysWrite Permission = "apikeys:write"
	PermAgentsRead   Permission = "agents:read"
	PermAgentsWrite  Permission = "agents:write"
	PermUsageRead    Permission = "usage:read"
	// PermUsageWrite reports usage events (POST /v1/usage/events). Meant
	// for the API keys of the machines that meter; admins hold it so that
	// they can create such keys.
	PermUsageWrite    Permission = "usage:write"
	PermAuditRead     Permission = "audit:read"
	PermPoliciesRead  Permission = "policies:read"
	PermPoliciesWrite Permission = "policies:write"
	PermWebhooksRead  Permission = "webhooks:read"
	PermWebhooksWrite Permission = "webhooks:write"
	PermOwnersWrite   Permission = "owners:write"
	// PermSessionsRead lists the sign-in sessions in the tenant;
	// PermSessionsWrite revokes them (docs/sessions.md).
	PermSessionsRead  Permission = "sessions:read"
	PermSessionsWrite Permission = "sessions:write"
)

// Catalogue lists every permission, sorted.
var catalogue = []Permission{
	PermAgentsRead, PermAgentsWrite, PermAPIKeysRead, PermAPIKeysWrite,
	PermAuditRead, PermMembersRead, PermMembersWrite, PermOwnersWrite,
	PermPoliciesRead, PermPoliciesWrite, PermRolesRead, PermRolesWrite,
	PermSessionsRead, PermSessionsWrite,
	PermTenantRead, PermTenantWrite, PermUsageRead, PermUsageWrite,
	PermWebhooksRead, PermWebhooksWrite,
}

// Catalogue returns a copy of the permission catalogue.
func Catalogue() []Permission { return slices.Clone(catalogue) }

// KnownPermission reports whether p is in the catalogue.
func KnownPermission(p string) bool {
	return slices.Contains(catalogue, Permission(p))
}

// Built-in roles. owner ⊇ admin ⊇ member.
const (
	RoleOwner  = "owner"
	RoleAdmin  = "admin"
	RoleMember = "member"
)

var memberPerms = []Permission{PermTenantRead, PermMembersRead, PermRolesRead, PermAgentsRead}

var adminPerms = append(slices.Clone(memberPerms),
	PermTenantWrite, PermMembersWrite, PermRolesWrite, PermAPIKeysRead,
	PermAPIKeysWrite, PermAgentsWrite, PermUsageRead, PermUsageWrite, PermAuditRead,
	PermPoliciesRead, PermPoliciesWrite, PermWebhooksRead, PermWebhooksWrite,
	PermSessionsRead, PermSessionsWrite)

// Only owners may grant or take away the owner role.
var ownerPerms = append(slices.Clone(adminPerms), PermOwnersWrite)

var builtinRoles = map[string][]Permission{
	RoleOwner:  ownerPerms,
	RoleAdmin:  adminPerms,
	RoleMember: memberPerms,
}

// IsBuiltinRole reports whether name is owner, admin or member.
func IsBuiltinRole(name string) bool {
	_, ok := builtinRoles[name]
	return ok
}

// BuiltinPermissions returns the permissions of a built-in role, or nil.
func BuiltinPermissions(role string) []Permission {
	return slices.Clone(builtinRoles[role])
}

// PermissionSet is the resolved permissions of an actor in a tenant.
type PermissionSet map[Permission]struct{}

// Has reports whether the set holds p.
func (s PermissionSet) Has(p Permission) bool {
	_, ok := s[p]
	return ok
}

// Sorted returns the permissions as sorted strings, for output.
func (s PermissionSet) Sorted() []string {
	out := make([]string, 0, len(s))
	for p := range s {
		out = append(out, string(p))
	}
	sort.Strings(out)
	return out
}

// ResolvePermissions unions the permissions of roles. custom maps custom role
// names to their definitions; unknown role names contribute nothing, so a
// deleted custom role fails closed.
func ResolvePermissions(roles []string, custom map[string]Role) PermissionSet {
	set := PermissionSet{}
	for _, r := range roles {
		if perms, ok := builtinRoles[r]; ok {
			for _, p := range perms {
				set[p] = struct{}{}
			}
			continue
		}
		if cr, ok := custom[r]; ok {
			for _, p := range cr.Permissions {
				if KnownPermission(p) {
					set[Permission(p)] = struct{}{}
				}
			}
		}
	}
	return set
}

// HasOwner reports whether roles include owner.
func HasOwner(roles []string) bool { return slices.Contains(roles, RoleOwner) }
