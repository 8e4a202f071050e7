package jwks

import "github.com/tollgate/tollgate/fault"

// Error codes of the SDK's remote JWK Set. docs/errors.md describes each; a
// code never changes meaning once released.
const (
	// The JWK Set could not be fetched; the keys fetched before stay in use.
	CodeJWKSUnavailable fault.Code = "jwks_unavailable"
	// The fetched JWK Set is too large or not a valid set of Tollgate keys.
	CodeJWKSInvalid fault.Code = "jwks_invalid"
	// The JWK Set URL is not a valid URL.
	CodeJWKSURLInvalid fault.Code = "jwks_url_invalid"
)
