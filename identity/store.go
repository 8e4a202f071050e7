package identity

import (
	"context"
	"time"

	"github.com/tollgate/tollgate/cursor"
)

// Store persists identities. Implementations must scope every tenant-owned
// query by tenant id, return fault errors (NotFound, Conflict) with the codes
// documented on each method, and enforce the invariants that need atomicity.
//
// Lists return at most p.Limit items with ids greater than p.After, ordered by
// id (for memberships: by actor id).
type Store interface {
	AgentStore
	InvitationStore
	DeletionStore

	// CreateTenant inserts t and makes owner its first owner, atomically.
	// Conflict "tenant_slug_taken" when the slug exists.
	CreateTenant(ctx context.Context, t Tenant, owner Membership) error
	// GetTenant: NotFound "tenant_not_found".
	GetTenant(ctx context.Context, id string) (Tenant, error)
	// GetTenantBySlug: NotFound "tenant_not_found".
	GetTenantBySlug(ctx context.Context, slug string) (Tenant, error)
	// UpdateTenant writes Name, Status and UpdatedAt. NotFound "tenant_not_found".
	UpdateTenant(ctx context.Context, t Tenant) error
	// ListTenants lists every tenant (platform view).
	ListTenants(ctx context.Context, p cursor.Page) ([]Tenant, error)
	// ListTenantsOf lists the tenants actorID is a member of, ordered by tenant id.
	ListTenantsOf(ctx context.Context, actorID string, p cursor.Page) ([]TenantMembership, error)
	// CountTenants reports how many tenants exist (for the first-run hint).
	CountTenants(ctx context.Context) (int, error)
	// CountTenantsOf counts the tenants in which actorID holds the owner
	// role (for the max_tenants_per_user limit).
	CountTenantsOf(ctx context.Context, actorID string) (int, error)

	// CreateUser: Conflict "email_taken" when the normalised email exists.
	CreateUser(ctx context.Context, u User) error
	// GetUser by raw id (without "user:"). NotFound "user_not_found".
	GetUser(ctx context.Context, id string) (User, error)
	// GetUserByEmail by normalised email. NotFound "user_not_found".
	GetUserByEmail(ctx context.Context, email string) (User, error)
	// UpdateUser writes DisplayName, Status, PlatformAdmin, PasswordHash and
	// UpdatedAt. NotFound "user_not_found".
	UpdateUser(ctx context.Context, u User) error
	// ReplacePasswordHash sets the user's password hash to newHash if it is
	// still oldHash, touching nothing else: a login that re-hashes must
	// not undo a change made to the user meanwhile, nor a password change.
	// It reports whether it replaced the hash; NotFound "user_not_found".
	ReplacePasswordHash(ctx context.Context, id, oldHash, newHash string, at time.Time) (bool, error)
	// ListUsers lists every user (platform view).
	ListUsers(ctx context.Context, p cursor.Page) ([]User, error)

	// AddMember inserts a membership. Conflict "member_exists".
	AddMember(ctx context.Context, m Membership) error
	// GetMember: NotFound "member_not_found".
	GetMember(ctx context.Context, tenantID, actorID string) (Membership, error)
	// GetStanding reads in one query the tenant, the user's membership of
	// it and the user (raw id, without "user:"), as far as they decide the
	// user's rights there: resolving an API key cold needs all three.
	// NotFound "tenant_not_found" when the tenant does not exist.
	GetStanding(ctx context.Context, tenantID, userID string) (Standing, error)
	// ListMembers lists a tenant's memberships ordered by actor id; p.After is
	// an actor id.
	ListMembers(ctx context.Context, tenantID string, p cursor.Page) ([]Membership, error)
	// AllMembers lists every membership of a tenant in one read, in no
	// particular order: a policy snapshot's whole read, where pages would
	// cost a round trip per 200 members.
	AllMembers(ctx context.Context, tenantID string) ([]Membership, error)
	// SetMemberRoles replaces the roles of an existing membership.
	// NotFound "member_not_found"; Conflict "last_owner" when the change would
	// leave the tenant without an owner (checked in the same transaction).
	SetMemberRoles(ctx context.Context, tenantID, actorID string, roles []string) error
	// RemoveMember deletes a membership. NotFound "member_not_found";
	// Conflict "last_owner" as for SetMemberRoles.
	RemoveMember(ctx context.Context, tenantID, actorID string) error

	// PutRole creates or replaces a custom role (keeps CreatedAt on replace).
	PutRole(ctx context.Context, r Role) error
	// GetRole: NotFound "role_not_found".
	GetRole(ctx context.Context, tenantID, name string) (Role, error)
	// ListRoles lists a tenant's custom roles ordered by name.
	ListRoles(ctx context.Context, tenantID string) ([]Role, error)
	// DeleteRole: NotFound "role_not_found"; Conflict "role_in_use" when any
	// member of the tenant holds it (checked in the same transaction).
	DeleteRole(ctx context.Context, tenantID, name string) error
}
