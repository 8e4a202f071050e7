package serviceaccount

import "github.com/tollgate/tollgate/fault"

// Error codes of services and their client secrets. docs/errors.md describes
// each; a code never changes meaning once released.
const (
	CodeServiceNotFound fault.Code = "service_not_found"
	// A new service's random id collided with an existing one.
	CodeServiceExists    fault.Code = "service_exists"
	CodeServiceNameTaken fault.Code = "service_name_taken"
	// A disabled service cannot be given an API key.
	CodeServiceDisabled fault.Code = "service_disabled"
	// The name is not a slug.
	CodeInvalidServiceName fault.Code = "invalid_service_name"
	// A new client secret's random id collided with an existing one.
	CodeServiceSecretExists fault.Code = "service_secret_exists"
	// No client secret has the id a presented secret carries.
	CodeServiceSecretNotFound fault.Code = "service_secret_not_found"
	// Client authentication failed, whichever part was wrong; /oauth/token
	// answers the OAuth error invalid_client.
	CodeInvalidClient fault.Code = "invalid_client"
)
