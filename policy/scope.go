package policy

import (
	"fmt"
	"slices"

	"github.com/tollgate/tollgate/identity"
)

// actionPermissions are the actions that stand for one of Tollgate's
// tenant permissions: administration "as Tollgate's own API does it". A
// credential narrower than its holder — an API key, a delegated token —
// is permitted these only when its permissions hold the one named here,
// as Tollgate's own routes require. The other actions (on channels and
// tools) are the policies' alone.
var actionPermissions = map[string]identity.Permission{
	"VIEW_TENANT":     identity.PermTenantRead,
	"MANAGE_TENANT":   identity.PermTenantWrite,
	"MANAGE_MEMBERS":  identity.PermMembersWrite,
	"MANAGE_ROLES":    identity.PermRolesWrite,
	"MANAGE_API_KEYS": identity.PermAPIKeysWrite,
	"MANAGE_POLICIES": identity.PermPoliciesWrite,
	"MANAGE_OWNERS":   identity.PermOwnersWrite,
	"MANAGE_AGENT":    identity.PermAgentsWrite,
	"VIEW_USAGE":      identity.PermUsageRead,
}

// boundBy marks req as asked by ac about itself: with an API key or a
// delegated token, the decision is bounded by the credential's
// permissions. Sessions ask with all their roles give, and services ask
// about others, whose credentials are not in the question.
func boundBy(ac identity.ActorContext, req Request) Request {
	if ac.Credential == identity.CredentialAPIKey || ac.Credential == identity.CredentialDelegation {
		req.bounded, req.boundTo = true, ac.Permissions
	}
	return req
}

// outOfScope reports why a bounded request may not be permitted, or "".
func outOfScope(req Request) string {
	if !req.bounded {
		return ""
	}
	if p, ok := actionPermissions[req.Action]; ok && !slices.Contains(req.boundTo, string(p)) {
		return fmt.Sprintf("the credential's scopes lack %s, which %s needs", p, req.Action)
	}
	return ""
}
