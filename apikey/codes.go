package apikey

import "github.com/tollgate/tollgate/fault"

// Error codes of API keys. docs/errors.md describes each; a code never changes
// meaning once released.
const (
	// No such key, or the caller may not see it.
	CodeAPIKeyNotFound fault.Code = "api_key_not_found"
	// A new key's random id collided with an existing one.
	CodeAPIKeyExists fault.Code = "api_key_exists"
	// The key was revoked (401), or a revoked key was to be rotated (409).
	CodeAPIKeyRevoked fault.Code = "api_key_revoked"
	CodeAPIKeyExpired fault.Code = "api_key_expired"
	// The key's holder (or its agent's owner) can no longer act in the key's
	// tenant.
	CodeAPIKeyHolderInactive fault.Code = "api_key_holder_inactive"
	// The key is malformed, unknown, or not a current secret; all look the
	// same. secret.Parse builds the same code for a malformed key.
	CodeInvalidAPIKey fault.Code = "invalid_api_key"
	// Keys can be created only for oneself, one's agents, or (platform admins)
	// a service.
	CodeKeyForOtherUser fault.Code = "key_for_other_user"
	// A requested scope is a permission the creator does not hold.
	CodeScopeExceedsRights fault.Code = "scope_exceeds_rights"
	CodeExpiresAtInPast    fault.Code = "expires_at_in_past"
	// An expiry past what RFC 3339 can write (after 9999-12-31 UTC).
	CodeExpiresAtOutOfRange fault.Code = "expires_at_out_of_range"
)
