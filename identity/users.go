package identity

import (
	"context"
	"strconv"

	"github.com/tollgate/tollgate/audit"
	"github.com/tollgate/tollgate/cursor"
	"github.com/tollgate/tollgate/event"
	"github.com/tollgate/tollgate/fault"

	"github.com/tollgate/tollgate/ids"
)

// NewUser is the input of CreateUser. PasswordHash is already hashed (or an
// imported legacy hash); this package never sees plain passwords.
type NewUser struct {
	Email         string
	DisplayName   string
	PasswordHash  string
	PlatformAdmin bool
}

// CreateUser creates an active human user. Uniqueness is on the normalised
// email, so "Ann@Example.COM" and "ann@example.com" are one account.
func (s *Service) CreateUser(ctx context.Context, in NewUser) (User, error) {
	email, err := NormalizeEmail(in.Email)
	if err != nil {
		return User{}, err
	}
	if err := ValidateName("display_name", in.DisplayName, true); err != nil {
		return User{}, err
	}
	now := s.timestamp()
	u := User{
		ID: ids.NewAt(now), Email: email, DisplayName: in.DisplayName, Status: UserActive,
		PasswordHash: in.PasswordHash, PlatformAdmin: in.PlatformAdmin, CreatedAt: now, UpdatedAt: now,
	}
	ctx = audit.Record(ctx, audit.Event{Action: audit.ActionUserCreate, TargetType: "user", TargetID: u.ActorID(),
		Detail: map[string]string{"platform_admin": strconv.FormatBool(u.PlatformAdmin)}})
	if err := s.store.CreateUser(ctx, u); err != nil {
		return User{}, err
	}
	return u, nil
}

// ListUsers lists every user, for the admin CLI.
func (s *Service) ListUsers(ctx context.Context, p cursor.Page) ([]User, error) {
	return s.store.ListUsers(ctx, p.Normalize())
}

// ListTenants lists every tenant, for the admin CLI.
func (s *Service) ListTenants(ctx context.Context, p cursor.Page) ([]Tenant, error) {
	return s.store.ListTenants(ctx, p.Normalize())
}

// Bootstrap creates the first user as a platform admin and the owner of a
// new tenant. It is how an empty installation gets its first account.
func (s *Service) Bootstrap(ctx context.Context, u NewUser, t NewTenant) (User, Tenant, error) {
	// Checked up front so that a bad tenant does not leave a user behind.
	if _, err := t.validate(); err != nil {
		return User{}, Tenant{}, err
	}
	if _, err := s.store.GetTenantBySlug(ctx, t.Slug); err == nil {
		return User{}, Tenant{}, fault.Conflictf(CodeTenantSlugTaken, "a tenant with slug %q exists", t.Slug)
	}
	u.PlatformAdmin = true
	user, err := s.CreateUser(ctx, u)
	if err != nil {
		return User{}, Tenant{}, err
	}
	tenant, err := s.CreateTenant(ctx, user.ActorID(), t)
	if err != nil {
		return User{}, Tenant{}, err
	}
	return user, tenant, nil
}

// SetUserStatus disables or re-enables a user (platform admins only; not
// oneself, so the last admin cannot lock everyone out by accident). A
// disabled user's tokens, keys and agents' delegated tokens stop at once on
// every replica; their refresh tokens are refused at the next refresh.
func (s *Service) SetUserStatus(ctx context.Context, c Caller, userID string, status UserStatus) (User, error) {
	if !s.isPlatformAdmin(ctx, c) {
		return User{}, fault.Forbiddenf(CodePlatformAdminRequired, "only a platform admin may change a user's status")
	}
	if status != UserActive && status != UserDisabled {
		return User{}, fault.Invalidf("status", CodeInvalidStatus, "status must be active or disabled")
	}
	if !ids.Valid(userID) {
		return User{}, fault.NotFoundf(CodeUserNotFound, "user not found")
	}
	u, err := s.store.GetUser(ctx, userID)
	if err != nil {
		return User{}, err
	}
	if u.ActorID() == c.ActorID {
		return User{}, fault.Conflictf(CodeCannotChangeOwnStatus, "you cannot change your own status")
	}
	if u.Status == status {
		return u, nil
	}
	u.Status, u.UpdatedAt = status, s.timestamp()
	ctx = audit.Record(ctx, audit.Event{Action: audit.ActionUserUpdate, TargetType: "user", TargetID: u.ActorID(),
		Detail: map[string]string{"status": string(u.Status)}})
	if err := s.store.UpdateUser(ctx, u); err != nil {
		return User{}, err
	}
	kind := event.KindActorEnabled
	if status == UserDisabled {
		kind = event.KindActorDisabled
	}
	s.notify.Notify(ctx, event.Event{Kind: kind, ID: u.ActorID(), At: u.UpdatedAt})
	return u, nil
}
