// Package identity holds Tollgate's tenants, human users, memberships and
// roles: the types, the rules that keep them consistent, and the Store
// interface the backends implement.
package identity

import "time"

// TenantStatus is whether a tenant may be used.
type TenantStatus string

const (
	TenantActive    TenantStatus = "active"
	TenantSuspended TenantStatus = "suspended"
)

// TenantMFA is whether a tenant's members must sign in with a second
// factor.
type TenantMFA string

const (
	// MFAOptional: each member chooses.
	MFAOptional TenantMFA = "optional"
	// MFARequired: no session enters the tenant without a second factor;
	// a member without one must enrol first.
	MFARequired TenantMFA = "required"
)

// Tenant is an organisation (a microDAO). Every tenant-scoped record belongs
// to exactly one.
type Tenant struct {
	ID        string
	Slug      string
	Name      string
	Status    TenantStatus
	MFA       TenantMFA
	CreatedAt time.Time
	UpdatedAt time.Time
}

// UserStatus is whether a user may sign in.
type UserStatus string

const (
	UserActive   UserStatus = "active"
	UserDisabled UserStatus = "disabled"
)

// UserActorPrefix is the actor-id prefix of human users.
const UserActorPrefix = "user:"

// User is a human actor. Its actor id is "user:" + ID.
type User struct {
	ID            string
	Email         string // normalised; see NormalizeEmail
	DisplayName   string
	Status        UserStatus
	PasswordHash  string
	PlatformAdmin bool
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// ActorID returns the user's typed actor id.
func (u User) ActorID() string { return UserActorPrefix + u.ID }

// Membership is an actor's roles in one tenant.
type Membership struct {
	TenantID  string
	ActorID   string
	Roles     []string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Standing is what decides a user's rights in a tenant, read at once
// (Store.GetStanding).
type Standing struct {
	TenantStatus TenantStatus
	// Member is false when the user holds no membership of the tenant.
	Member bool
	Roles  []string
	// UserStatus is "" when there is no such user.
	UserStatus UserStatus
}

// Role is a tenant-defined role: a named set of catalogue permissions.
type Role struct {
	TenantID    string
	Name        string
	Description string
	Permissions []string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// TenantMembership pairs a tenant with the caller's roles in it; it is what
// "the tenants I belong to" lists.
type TenantMembership struct {
	Tenant Tenant
	Roles  []string
}
