package identity

import (
	"context"
	"errors"
	"strings"

	"github.com/tollgate/tollgate/audit"
	"github.com/tollgate/tollgate/cursor"
	"github.com/tollgate/tollgate/event"

	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/ids"
)

// NewMember names an existing user by actor id, with roles.
type NewMember struct {
	ActorID string
	Roles   []string
}

// ListMembers lists a tenant's members (members:read).
func (s *Service) ListMembers(ctx context.Context, c Caller, tenantID string, p cursor.Page) ([]Membership, error) {
	if _, err := s.resolveFor(ctx, c, tenantID, PermMembersRead); err != nil {
		return nil, err
	}
	return s.store.ListMembers(ctx, tenantID, p.Normalize())
}

// GetMember returns one membership (members:read, or the member themself
// in their own session: a key or delegated token needs members:read for its
// holder's membership too).
func (s *Service) GetMember(ctx context.Context, c Caller, tenantID, actorID string) (Membership, error) {
	a, err := s.resolve(ctx, c, tenantID)
	if err != nil {
		return Membership{}, err
	}
	if actorID != c.ActorID || c.Bounded {
		if err := a.require(PermMembersRead); err != nil {
			return Membership{}, err
		}
	}
	return s.store.GetMember(ctx, tenantID, actorID)
}

// AddMember adds an existing user to a tenant (members:write; granting owner
// needs owners:write).
func (s *Service) AddMember(ctx context.Context, c Caller, tenantID string, in NewMember) (Membership, error) {
	a, err := s.resolveFor(ctx, c, tenantID, PermMembersWrite)
	if err != nil {
		return Membership{}, err
	}
	return s.addMember(ctx, a, MemberRequest{ActorID: in.ActorID, Roles: in.Roles})
}

// addMember adds the user in.ActorID names for a caller already allowed
// members:write. in.Email only matters to refuse a request naming both.
func (s *Service) addMember(ctx context.Context, a access, in MemberRequest) (Membership, error) {
	roles, err := s.checkAssignable(ctx, a, in.Roles)
	if err != nil {
		return Membership{}, err
	}
	actorID, err := s.resolveUser(ctx, in)
	if err != nil {
		return Membership{}, err
	}
	tenantID := a.tenant.ID
	now := s.timestamp()
	m := Membership{TenantID: tenantID, ActorID: actorID, Roles: roles, CreatedAt: now, UpdatedAt: now}
	ctx = audit.Record(ctx, audit.Event{TenantID: tenantID, Action: audit.ActionMemberAdd, TargetType: "member", TargetID: actorID,
		Detail: map[string]string{"roles": audit.List(roles)}})
	if err := s.store.AddMember(ctx, m); err != nil {
		return Membership{}, err
	}
	s.notify.Notify(ctx, event.Event{Kind: event.KindActorChanged, ID: actorID, Tenant: tenantID, At: now})
	return m, nil
}

// resolveUser finds the user in.ActorID names. Only users are members in
// this release; agents and services join with the credentials work.
func (s *Service) resolveUser(ctx context.Context, in MemberRequest) (string, error) {
	switch {
	case in.ActorID != "" && in.Email != "":
		return "", fault.Invalidf("actor_id", CodeAmbiguousMember, "give either actor_id or email, not both")
	case in.ActorID == "":
		return "", fault.Invalidf("actor_id", CodeMissingMember, "give actor_id or email")
	}
	id, ok := strings.CutPrefix(in.ActorID, UserActorPrefix)
	if !ok || !ids.Valid(id) {
		return "", fault.Invalidf("actor_id", CodeInvalidActorID, "actor_id must look like user:<id>")
	}
	u, err := s.store.GetUser(ctx, id)
	if errors.Is(err, fault.ErrNotFound) {
		// An actor id is not a guessable address: saying it has no user
		// tells nothing about who has an account.
		return "", fault.NotFoundf(CodeUserNotFound, "no user has this actor id")
	}
	if err != nil {
		return "", err
	}
	return u.ActorID(), nil
}

// UpdateMemberRoles replaces a member's roles. Changing who is an owner, in
// either direction, needs owners:write; the store keeps at least one owner.
func (s *Service) UpdateMemberRoles(ctx context.Context, c Caller, tenantID, actorID string, roles []string) (Membership, error) {
	a, err := s.resolveFor(ctx, c, tenantID, PermMembersWrite)
	if err != nil {
		return Membership{}, err
	}
	current, err := s.store.GetMember(ctx, tenantID, actorID)
	if err != nil {
		return Membership{}, err
	}
	roles, err = s.checkAssignable(ctx, a, roles)
	if err != nil {
		return Membership{}, err
	}
	if err := s.checkOutranks(ctx, a, current); err != nil {
		return Membership{}, err
	}
	ctx = audit.Record(ctx, audit.Event{TenantID: tenantID, Action: audit.ActionMemberUpdate, TargetType: "member", TargetID: actorID,
		Detail: map[string]string{"roles": audit.List(roles), "previous_roles": audit.List(current.Roles)}})
	if err := s.store.SetMemberRoles(ctx, tenantID, actorID, roles); err != nil {
		return Membership{}, err
	}
	s.notify.Notify(ctx, event.Event{Kind: event.KindActorChanged, ID: actorID, Tenant: tenantID, At: s.timestamp()})
	// Re-read so that the answer carries the store's timestamps.
	return s.store.GetMember(ctx, tenantID, actorID)
}

// RemoveMember removes a member (members:write; removing an owner needs
// owners:write). Anyone may remove themself — leaving a tenant — in their
// own session, unless they are its last owner. A key or delegated token
// never leaves for its holder: it is refused like any bounded caller
// without members:write, and with it still needs the person's session.
func (s *Service) RemoveMember(ctx context.Context, c Caller, tenantID, actorID string) error {
	a, err := s.resolve(ctx, c, tenantID)
	if err != nil {
		return err
	}
	current, err := s.store.GetMember(ctx, tenantID, actorID)
	if err != nil {
		return err
	}
	leaving := actorID == c.ActorID
	if !leaving || c.Bounded {
		if err := a.require(PermMembersWrite); err != nil {
			return err
		}
	}
	if leaving && c.Bounded {
		return errSessionRequired()
	}
	if !leaving {
		if err := s.checkOutranks(ctx, a, current); err != nil {
			return err
		}
	}
	ctx = audit.Record(ctx, audit.Event{TenantID: tenantID, Action: audit.ActionMemberRemove, TargetType: "member", TargetID: actorID,
		Detail: map[string]string{"roles": audit.List(current.Roles)}})
	if err := s.store.RemoveMember(ctx, tenantID, actorID); err != nil {
		return err
	}
	s.notify.Notify(ctx, event.Event{Kind: event.KindActorChanged, ID: actorID, Tenant: tenantID, At: s.timestamp()})
	return nil
}

// checkAssignable validates roles and checks the caller may hand them out:
// every role, built-in or custom, must exist and grant nothing the caller
// lacks — so members:write alone cannot mint admins — and owner needs
// owners:write.
func (s *Service) checkAssignable(ctx context.Context, a access, roles []string) ([]string, error) {
	roles, err := ValidateRoleNames(roles)
	if err != nil {
		return nil, err
	}
	custom := map[string]Role{}
	for _, r := range roles {
		if IsBuiltinRole(r) {
			continue
		}
		role, err := s.store.GetRole(ctx, a.tenant.ID, r)
		if err != nil {
			if errors.Is(err, fault.ErrNotFound) {
				return nil, fault.Invalidf("roles", CodeUnknownRole, "role %q is not defined in this tenant", r)
			}
			return nil, err
		}
		custom[r] = role
	}
	if err := a.covers(roles, custom); err != nil {
		return nil, err
	}
	return roles, nil
}

// checkOutranks refuses to let the caller change or remove a member whose
// roles grant something the caller lacks: an admin cannot demote an owner,
// and a custom "hr" role cannot touch an admin.
func (s *Service) checkOutranks(ctx context.Context, a access, target Membership) error {
	custom, err := s.customRolesFor(ctx, a.tenant.ID, target.Roles)
	if err != nil {
		return err
	}
	return a.covers(target.Roles, custom)
}

// covers reports whether the caller holds every permission roles grant.
func (a access) covers(roles []string, custom map[string]Role) error {
	granted := ResolvePermissions(roles, custom)
	for _, p := range granted.Sorted() {
		if !a.has(Permission(p)) {
			return fault.Forbiddenf(CodePermissionDenied, "that needs %s, which you do not hold", p)
		}
	}
	return nil
}
