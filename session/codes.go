package session

import "github.com/tollgate/tollgate/fault"

// Error codes of sign-in, sessions and refresh tokens. docs/errors.md describes
// each; a code never changes meaning once released.
const (
	// Wrong email or password, unknown email, or disabled account; all look the
	// same.
	CodeInvalidCredentials fault.Code = "invalid_credentials"
	// At sign-in: the password is empty or too long.
	CodeInvalidPassword fault.Code = "invalid_password"
	// At sign-in: neither a tenant id nor a well-formed slug.
	CodeInvalidTenant fault.Code = "invalid_tenant"
	// At sign-in or tenant switch: not a member of the tenant, or no such
	// tenant.
	CodeTenantAccessDenied fault.Code = "tenant_access_denied"
	// The refresh token is unknown, expired, revoked or already used, or its
	// user is disabled.
	CodeInvalidRefreshToken fault.Code = "invalid_refresh_token"
	// A new session's random id collided with an existing one.
	CodeSessionExists   fault.Code = "session_exists"
	CodeSessionNotFound fault.Code = "session_not_found"
)
