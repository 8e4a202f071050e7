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
	// A service is registered for the tenants it acts in: the list is
	// required, ["*"] for every tenant.
	CodeTenantsRequired fault.Code = "tenants_required"
	// A service's tenants name one that does not exist.
	CodeUnknownTenant fault.Code = "unknown_tenant"
	// A service's resource types name one the policy engine does not know.
	CodeUnknownResourceType fault.Code = "unknown_resource_type"
	// A reach list mixes "*" with names, or is too long.
	CodeInvalidReach fault.Code = "invalid_reach"
)
