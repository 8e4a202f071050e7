package identity

import "context"

// RolePermissions resolves the roles an actor holds in tenantID to a sorted
// permission list. Sessions almost always hold built-in roles only, whose
// lists are precomputed; custom roles need the tenant's definitions.
// Callers share the returned slice and must not modify it.
func (s *Service) RolePermissions(ctx context.Context, tenantID string, roles []string) ([]string, error) {
	mask := 0
	for _, r := range roles {
		bit, ok := builtinBit[r]
		if !ok {
			custom, err := s.CustomRoles(ctx, tenantID)
			if err != nil {
				return nil, err
			}
			return ResolvePermissions(roles, custom).Sorted(), nil
		}
		mask |= bit
	}
	return builtinPermissionSets[mask], nil
}

var builtinBit = map[string]int{RoleOwner: 1, RoleAdmin: 2, RoleMember: 4}

// builtinPermissionSets lists the permissions of every combination of
// built-in roles, indexed by builtinBit mask. It is computed once and never
// written again.
var builtinPermissionSets = builtinPermissionTable()

func builtinPermissionTable() [8][]string {
	var table [8][]string
	for mask := range table {
		var roles []string
		for r, bit := range builtinBit {
			if mask&bit != 0 {
				roles = append(roles, r)
			}
		}
		table[mask] = ResolvePermissions(roles, nil).Sorted()
	}
	return table
}
