package identity

import "github.com/tollgate/tollgate/fault"

// Error codes of tenants, users, members, roles, agents and the scopes of
// credentials. docs/errors.md describes each; a code never changes meaning once
// released.
const (
	// Tenants.

	// The tenant does not exist, its id is malformed, or the caller may not see
	// it; the three look the same so that tenants cannot be enumerated.
	CodeTenantNotFound  fault.Code = "tenant_not_found"
	CodeTenantSlugTaken fault.Code = "tenant_slug_taken"
	// A new tenant's random id collided with an existing one.
	CodeTenantExists fault.Code = "tenant_exists"
	// The tenant is suspended: its members and credentials may not act in it.
	CodeTenantSuspended fault.Code = "tenant_suspended"
	// A tenant id is needed (a service's decision, a list of API keys) and none
	// was given.
	CodeTenantRequired fault.Code = "tenant_required"
	// The caller is a member but lacks the permission named in the detail.
	CodePermissionDenied fault.Code = "permission_denied"
	// Only a platform admin (some: with their own session) may do this.
	CodePlatformAdminRequired fault.Code = "platform_admin_required"
	// A configured limit (max_tenants_per_user, max_agents_per_tenant,
	// max_api_keys_per_actor, max_resources_per_tenant) is reached; the
	// detail names the setting and its value. API keys and resources use it
	// too.
	CodeLimitReached fault.Code = "limit_reached"

	// Users.

	CodeUserNotFound fault.Code = "user_not_found"
	// A new user's random id collided with an existing one.
	CodeUserExists fault.Code = "user_exists"
	// Rights were computed for a user who is disabled.
	CodeUserDisabled fault.Code = "user_disabled"
	// A user with this normalised email exists.
	CodeEmailTaken fault.Code = "email_taken"
	// A platform admin may not disable or re-enable themselves.
	CodeCannotChangeOwnStatus fault.Code = "cannot_change_own_status"

	// Members.

	CodeMemberExists   fault.Code = "member_exists"
	CodeMemberNotFound fault.Code = "member_not_found"
	// The change would leave the tenant without an owner.
	CodeLastOwner fault.Code = "last_owner"
	// Both actor_id and email name the member to add.
	CodeAmbiguousMember fault.Code = "ambiguous_member"
	// Neither actor_id nor email names the member to add.
	CodeMissingMember fault.Code = "missing_member"
	// The actor id is malformed or of a type not allowed here.
	CodeInvalidActorID fault.Code = "invalid_actor_id"

	// Roles.

	CodeRoleNotFound fault.Code = "role_not_found"
	// A custom role cannot be deleted while members hold it.
	CodeRoleInUse fault.Code = "role_in_use"
	// owner, admin and member cannot be changed or deleted.
	CodeBuiltinRole fault.Code = "builtin_role"
	// A role is neither built-in nor defined in the tenant.
	CodeUnknownRole fault.Code = "unknown_role"
	// A roles list is empty or too long.
	CodeInvalidRoles    fault.Code = "invalid_roles"
	CodeInvalidRoleName fault.Code = "invalid_role_name"
	// A role's description is too long or not valid UTF-8.
	CodeInvalidDescription fault.Code = "invalid_description"
	// More permissions than the catalogue has.
	CodeInvalidPermissions fault.Code = "invalid_permissions"
	// A permission is not in the catalogue.
	CodeUnknownPermission fault.Code = "unknown_permission"
	// owners:write belongs to owner alone and cannot be put into a custom role.
	CodeReservedPermission fault.Code = "reserved_permission"

	// Agents.

	CodeAgentNotFound fault.Code = "agent_not_found"
	// A new agent's random id collided with an existing one.
	CodeAgentExists    fault.Code = "agent_exists"
	CodeAgentNameTaken fault.Code = "agent_name_taken"
	// A disabled agent cannot be given an API key.
	CodeAgentDisabled fault.Code = "agent_disabled"
	// Only a person may do this (create agents); agents and services may not.
	CodeHumanRequired fault.Code = "human_required"
	// An agent's or service's description is too long.
	CodeDescriptionTooLong fault.Code = "description_too_long"

	// Validation.

	CodeInvalidEmail fault.Code = "invalid_email"
	// A tenant, agent, key or display name is empty, too long, or has bad
	// characters.
	CodeInvalidName fault.Code = "invalid_name"
	CodeInvalidSlug fault.Code = "invalid_slug"
	// A tenant slug is a reserved word (admin, api, www …) or punycode (xn--).
	CodeReservedSlug fault.Code = "reserved_slug"
	// A status the resource does not have.
	CodeInvalidStatus fault.Code = "invalid_status"
	// A tenant's mfa is neither optional nor required.
	CodeInvalidMFA fault.Code = "invalid_mfa"

	// Scopes.

	// The caller is not a service holding the scope the endpoint needs.
	CodeScopeRequired fault.Code = "scope_required"
	// A service acted in a tenant it is not registered for.
	CodeTenantNotRegistered fault.Code = "tenant_not_registered"
	CodeTooManyScopes       fault.Code = "too_many_scopes"
	// A scope is not a permission of the catalogue (API keys) or not a service
	// scope (services).
	CodeUnknownScope fault.Code = "unknown_scope"
	// Only a person's own session may do this, not an API key or another token.
	CodeSessionRequired fault.Code = "session_required"
)

// Invitations.
const (
	// CodeInvitationNotFound: no invitation with that id in the tenant
	// (or it is no longer pending).
	CodeInvitationNotFound fault.Code = "invitation_not_found"
	// CodeInvitationPending: the address already has a pending invitation
	// to the tenant; resend it instead.
	CodeInvitationPending fault.Code = "invitation_pending"
	// CodeInvalidInvitationToken: the token is malformed, unknown, or was
	// replaced by a resend.
	CodeInvalidInvitationToken fault.Code = "invalid_invitation_token"
	// CodeInvitationUsed: the invitation was already accepted.
	CodeInvitationUsed fault.Code = "invitation_used"
	// CodeInvitationRevoked: the invitation was revoked.
	CodeInvitationRevoked fault.Code = "invitation_revoked"
	// CodeInvitationExpired: the invitation's time ran out.
	CodeInvitationExpired fault.Code = "invitation_expired"
	// CodeInvitationEmailMismatch: the signed-in user is not the invited
	// address.
	CodeInvitationEmailMismatch fault.Code = "invitation_email_mismatch"
	// CodeSignInRequired: the invited address has an account; accept while
	// signed in as it.
	CodeSignInRequired fault.Code = "sign_in_required"
)

// Accepting and mailing.
const (
	// CodeMissingPassword: a new account needs a password.
	CodeMissingPassword fault.Code = "missing_password"
	// CodeMailUnavailable: the service was built without email.
	CodeMailUnavailable fault.Code = "mail_unavailable"
)
