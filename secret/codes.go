package secret

import "github.com/tollgate/tollgate/fault"

// Error codes of secrets. docs/errors.md describes each; a code never changes
// meaning once released.
//
// secret.Parse also builds a code from its what argument, "invalid_"+what:
// apikey.CodeInvalidAPIKey, and invalid_client_secret, which the token endpoint
// never shows (serviceaccount answers CodeInvalidClient).
const (
	// The grace period of a rotation (API key or client secret) is out of
	// range.
	CodeInvalidGracePeriod fault.Code = "invalid_grace_period"
)
