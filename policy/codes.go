package policy

import "github.com/tollgate/tollgate/fault"

// Error codes of policies, decisions and registered resources. docs/errors.md
// describes each; a code never changes meaning once released.
const (
	// Policies.

	// A policy text was refused; see InvalidError.
	CodeInvalidPolicy fault.Code = "invalid_policy"
	// A policy write or validation has no text.
	CodeTextRequired fault.Code = "text_required"
	// The tenant's policies changed since the version the write was based on.
	CodePolicyVersionConflict fault.Code = "policy_version_conflict"
	CodePolicyVersionNotFound fault.Code = "policy_version_not_found"
	// A tenant's policy snapshot could not be loaded.
	CodePolicyUnavailable fault.Code = "policy_unavailable"

	// Schema extensions.

	// A schema extension was refused; see SchemaInvalidError.
	CodeInvalidSchema fault.Code = "invalid_schema"
	// A schema extension would leave the tenant's stored policies or
	// registered resources invalid; the error names the first.
	CodeSchemaInUse fault.Code = "schema_in_use"
	// The tenant's schema changed since the version the write was based on.
	CodeSchemaVersionConflict fault.Code = "schema_version_conflict"
	CodeSchemaVersionNotFound fault.Code = "schema_version_not_found"

	// Requests.

	// A decision request, resource or lookup is malformed.
	CodeInvalidAuthorizationRequest fault.Code = "invalid_authorization_request"
	// A batch of decisions or resources is empty or too large.
	CodeInvalidBatch fault.Code = "invalid_batch"
	// A person asked for a decision with a token of no tenant.
	CodeTenantNotSelected fault.Code = "tenant_not_selected"
	// A service asked for a decision without naming the principal.
	CodePrincipalRequired fault.Code = "principal_required"
	// A person or agent asked about another principal; only services may.
	CodePrincipalNotCaller fault.Code = "principal_not_caller"
	// A service acted on a resource type it is not registered for, or
	// wrote policies while registered for some types only.
	CodeResourceTypeNotRegistered fault.Code = "resource_type_not_registered"

	// Resources.

	CodeResourceNotFound fault.Code = "resource_not_found"
	// The resource's parents would make it its own ancestor.
	CodeCyclicParents fault.Code = "cyclic_parents"
	// A batch names the same resource twice.
	CodeDuplicateResource fault.Code = "duplicate_resource"
)
