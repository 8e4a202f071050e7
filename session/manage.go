package session

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/tollgate/tollgate/cursor"
	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/ids"
)

// Filter selects sessions for a list. ActorID, TenantID or both are set:
// a person lists their own sessions in every tenant, an admin those in
// their tenant.
type Filter struct {
	ActorID  string
	TenantID string
	// LiveAt keeps the sessions neither revoked nor expired at that time.
	LiveAt time.Time
}

// Directory lists sessions (the store).
type Directory interface {
	// ListSessions pages through the sessions f selects, by id.
	ListSessions(ctx context.Context, f Filter, p cursor.Page) ([]Session, error)
}

// Revoke reasons of the session list.
const (
	ReasonRevokedByUser  = "revoked_by_user"
	ReasonRevokedByAdmin = "revoked_by_admin"
)

// Manager lists and revokes sessions: a person's own, and a tenant's for
// its admins.
type Manager struct {
	svc    *Service
	dir    Directory
	rights identity.TenantRights
}

// NewManager wires a Manager over the sessions of svc.
func NewManager(svc *Service, dir Directory, rights identity.TenantRights) *Manager {
	return &Manager{svc: svc, dir: dir, rights: rights}
}

func errSessionNotFound() error {
	return fault.NotFoundf(CodeSessionNotFound, "session not found")
}

// ListOwn lists the caller's live sessions in every tenant. Only the
// person's own access token may: an API key or an agent acting for them
// holds no right over how they are signed in.
func (m *Manager) ListOwn(ctx context.Context, ac identity.ActorContext, p cursor.Page) ([]Session, error) {
	if err := ac.RequireSession(); err != nil {
		return nil, err
	}
	return m.dir.ListSessions(ctx, Filter{ActorID: ac.ActorID, LiveAt: m.svc.now().UTC()}, p)
}

// RevokeOwn ends one of the caller's sessions, the current one included,
// at once. Another person's session is not found.
func (m *Manager) RevokeOwn(ctx context.Context, ac identity.ActorContext, id string) error {
	if err := ac.RequireSession(); err != nil {
		return err
	}
	sess, err := m.get(ctx, id)
	if err != nil {
		return err
	}
	if sess.ActorID != ac.ActorID {
		return errSessionNotFound()
	}
	return m.svc.revoke(ctx, sessionEnd{id: sess.ID, tenantID: sess.TenantID, holder: sess.ActorID, reason: ReasonRevokedByUser}, m.svc.now().UTC().Truncate(time.Microsecond))
}

// ListTenant lists the live sessions in tenantID, of one member when
// actorID is not "". Needs sessions:read there.
func (m *Manager) ListTenant(ctx context.Context, ac identity.ActorContext, tenantID, actorID string, p cursor.Page) ([]Session, error) {
	if actorID != "" {
		if err := validUserActor(actorID); err != nil {
			return nil, err
		}
	}
	if _, err := m.authorize(ctx, ac, tenantID, identity.PermSessionsRead); err != nil {
		return nil, err
	}
	return m.dir.ListSessions(ctx, Filter{TenantID: tenantID, ActorID: actorID, LiveAt: m.svc.now().UTC()}, p)
}

// RevokeInTenant ends a session in tenantID at once. Needs
// sessions:write there, and owners:write for an owner's session, as
// removing an owner does. A session in another tenant is not found.
func (m *Manager) RevokeInTenant(ctx context.Context, ac identity.ActorContext, tenantID, id string) error {
	perms, err := m.authorize(ctx, ac, tenantID, identity.PermSessionsWrite)
	if err != nil {
		return err
	}
	sess, err := m.get(ctx, id)
	if err != nil {
		return err
	}
	if sess.TenantID != tenantID {
		return errSessionNotFound()
	}
	if !perms.Has(identity.PermOwnersWrite) {
		mb, err := m.svc.identities.GetMember(ctx, tenantID, sess.ActorID)
		if err != nil && !errors.Is(err, fault.ErrNotFound) {
			return err
		}
		if slices.Contains(mb.Roles, identity.RoleOwner) {
			return fault.Forbiddenf(identity.CodePermissionDenied, "ending an owner's session needs the %s permission", identity.PermOwnersWrite)
		}
	}
	return m.svc.revoke(ctx, sessionEnd{id: sess.ID, tenantID: tenantID, holder: sess.ActorID, reason: ReasonRevokedByAdmin}, m.svc.now().UTC().Truncate(time.Microsecond))
}

func (m *Manager) get(ctx context.Context, id string) (Session, error) {
	if !ids.Valid(id) {
		return Session{}, errSessionNotFound()
	}
	return m.svc.sessions.GetSession(ctx, id)
}

// authorize returns what the caller may do in tenantID, refusing unless
// it includes perm.
func (m *Manager) authorize(ctx context.Context, ac identity.ActorContext, tenantID string, perm identity.Permission) (identity.PermissionSet, error) {
	perms, err := identity.CredentialPermissions(ctx, m.rights, ac, tenantID)
	if err != nil {
		return nil, err
	}
	return perms, identity.RequirePermissions(perms, perm)
}

// validUserActor checks a member filter: "user:" and an id.
func validUserActor(actorID string) error {
	id, ok := strings.CutPrefix(actorID, identity.UserActorPrefix)
	if !ok || !ids.Valid(id) {
		return fault.Invalidf("actor", identity.CodeInvalidActorID, "actor must be a user's actor id, user:<id>")
	}
	return nil
}
