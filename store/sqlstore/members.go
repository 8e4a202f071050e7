package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"github.com/tollgate/tollgate/cursor"
	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/identity"
)

const memberCols = `tenant_id, actor_id, roles, created_at, updated_at`

func errMemberNotFound() error {
	return fault.NotFoundf(identity.CodeMemberNotFound, "member not found")
}

func (s *Store) scanMember(r scanner) (m identity.Membership, err error) {
	err = r.Scan(&m.TenantID, &m.ActorID, s.d.ScanList(&m.Roles), at(&m.CreatedAt), at(&m.UpdatedAt))
	return m, err
}

// AddMember inserts m. NotFound "tenant_not_found" when the tenant does not
// exist (the only foreign key on memberships).
func (s *Store) AddMember(ctx context.Context, m identity.Membership) error {
	_, err := s.exec(ctx, s.write,
		`INSERT INTO memberships (`+memberCols+`) VALUES (?, ?, ?, ?, ?)`,
		m.TenantID, m.ActorID, s.d.List(m.Roles), s.d.Time(m.CreatedAt), s.d.Time(m.UpdatedAt))
	switch {
	case s.violates(err, "memberships_pkey"):
		return fault.Conflictf(identity.CodeMemberExists, "already a member of this tenant")
	case s.violates(err, "memberships_tenant_fkey"):
		return errTenantNotFound()
	}
	return s.dbErr(err)
}

// GetMember returns actorID's membership of tenantID.
func (s *Store) GetMember(ctx context.Context, tenantID, actorID string) (identity.Membership, error) {
	return get(ctx, s, s.scanMember, errMemberNotFound,
		`SELECT `+memberCols+` FROM memberships WHERE tenant_id = ? AND actor_id = ?`, tenantID, actorID)
}

// GetStanding joins the tenant to the user's membership and to the user,
// so that a cold API key costs one round trip for all three.
func (s *Store) GetStanding(ctx context.Context, tenantID, userID string) (identity.Standing, error) {
	var st identity.Standing
	err := s.queryRow(ctx, s.read,
		`SELECT t.status, m.actor_id IS NOT NULL, COALESCE(m.roles, ?), COALESCE(u.status, '')
		 FROM tenants t
		 LEFT JOIN memberships m ON m.tenant_id = t.id AND m.actor_id = ?
		 LEFT JOIN users u ON u.id = ?
		 WHERE t.id = ?`,
		s.d.List(nil), identity.UserActorPrefix+userID, userID, tenantID).
		Scan(&st.TenantStatus, &st.Member, s.d.ScanList(&st.Roles), &st.UserStatus)
	return one(s, st, err, errTenantNotFound)
}

// ListMembers pages through tenantID's memberships by actor id.
func (s *Store) ListMembers(ctx context.Context, tenantID string, p cursor.Page) ([]identity.Membership, error) {
	return list(ctx, s, p, s.scanMember,
		`SELECT `+memberCols+` FROM memberships WHERE tenant_id = ? AND actor_id > ? ORDER BY actor_id LIMIT ?`, tenantID)
}

// AllMembers implements identity.Store.
func (s *Store) AllMembers(ctx context.Context, tenantID string) ([]identity.Membership, error) {
	return readAll(ctx, s, s.scanMember, `SELECT `+memberCols+` FROM memberships WHERE tenant_id = ?`, tenantID)
}

// SetMemberRoles replaces a member's roles, refusing to demote the last
// owner. The interface passes no time, so updated_at is the store's clock.
func (s *Store) SetMemberRoles(ctx context.Context, tenantID, actorID string, roles []string) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		current, err := s.lockedMemberRoles(ctx, tx, tenantID, actorID)
		if err != nil {
			return err
		}
		if identity.HasOwner(current) && !identity.HasOwner(roles) {
			if err := s.requireOtherOwner(ctx, tx, tenantID, actorID); err != nil {
				return err
			}
		}
		_, err = s.exec(ctx, tx,
			`UPDATE memberships SET roles = ?, updated_at = ? WHERE tenant_id = ? AND actor_id = ?`,
			s.d.List(roles), s.d.Time(time.Now()), tenantID, actorID)
		return err
	})
}

// RemoveMember deletes a membership, refusing to remove the last owner.
func (s *Store) RemoveMember(ctx context.Context, tenantID, actorID string) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		current, err := s.lockedMemberRoles(ctx, tx, tenantID, actorID)
		if err != nil {
			return err
		}
		if identity.HasOwner(current) {
			if err := s.requireOtherOwner(ctx, tx, tenantID, actorID); err != nil {
				return err
			}
		}
		_, err = s.exec(ctx, tx,
			`DELETE FROM memberships WHERE tenant_id = ? AND actor_id = ?`, tenantID, actorID)
		return err
	})
}

// lockedMemberRoles locks the tenant row, then reads the member's roles.
// Without the lock two transactions demoting two different owners would each
// see the other still owning and both commit, leaving no owner. (On SQLite
// the IMMEDIATE write transaction already excludes every other writer.)
func (s *Store) lockedMemberRoles(ctx context.Context, tx *sql.Tx, tenantID, actorID string) ([]string, error) {
	if err := s.lockTenant(ctx, tx, tenantID); err != nil {
		return nil, err
	}
	var roles []string
	err := s.queryRow(ctx, tx,
		`SELECT roles FROM memberships WHERE tenant_id = ? AND actor_id = ?`, tenantID, actorID).
		Scan(s.d.ScanList(&roles))
	return one(s, roles, err, errMemberNotFound)
}

// requireOtherOwner fails with "last_owner" unless a member other than
// actorID owns tenantID. Running inside the transaction that holds the
// tenant lock (lockedMemberRoles) makes the check and the write that follows
// one step.
func (s *Store) requireOtherOwner(ctx context.Context, tx *sql.Tx, tenantID, actorID string) error {
	var ok bool
	err := s.queryRow(ctx, tx,
		`SELECT EXISTS (SELECT 1 FROM memberships WHERE tenant_id = ? AND actor_id <> ? AND `+
			s.d.ListHas("roles")+`)`,
		tenantID, actorID, identity.RoleOwner).Scan(&ok)
	if err != nil {
		return err
	}
	if !ok {
		return fault.Conflictf(identity.CodeLastOwner, "a tenant must keep at least one owner")
	}
	return nil
}
