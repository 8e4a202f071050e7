package credential

import "github.com/tollgate/tollgate/fault"

// Error codes of credential resolution and introspection. docs/errors.md
// describes each; a code never changes meaning once released.
const (
	// The actor of the credential (user, agent or service) is disabled.
	CodeActorDisabled fault.Code = "actor_disabled"
	// The token is valid but its session or credential has ended.
	CodeTokenRevoked fault.Code = "token_revoked"
	// Only services and platform admins with their own session may introspect.
	CodeIntrospectionNotAllowed fault.Code = "introspection_not_allowed"
	// An introspection request has no token.
	CodeTokenRequired fault.Code = "token_required"
)
