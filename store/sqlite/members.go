package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/tollgate/tollgate/cursor"
	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/identity"
)

const memberCols = `tenant_id, actor_id, roles, created_at, updated_at`

func errMemberNotFound() error { return fault.NotFoundf("member_not_found", "member not found") }

func scanMember(r scanner) (identity.Membership, error) {
	var m identity.Membership
	var roles string
	var created, updated int64
	if err := r.Scan(&m.TenantID, &m.ActorID, &roles, &created, &updated); err != nil {
		return identity.Membership{}, err
	}
	var err error
	if m.Roles, err = decodeList(roles); err != nil {
		return identity.Membership{}, err
	}
	m.CreatedAt, m.UpdatedAt = fromTS(created), fromTS(updated)
	return m, nil
}

// AddMember inserts m. NotFound "tenant_not_found" when the tenant does not
// exist (the only foreign key on memberships).
func (s *Store) AddMember(ctx context.Context, m identity.Membership) error {
	_, err := s.write.ExecContext(ctx,
		`INSERT INTO memberships (`+memberCols+`) VALUES (?, ?, ?, ?, ?)`,
		m.TenantID, m.ActorID, encodeList(m.Roles), ts(m.CreatedAt), ts(m.UpdatedAt))
	switch {
	case isUnique(err, "memberships.actor_id"):
		return fault.Conflictf("member_exists", "already a member of this tenant")
	case isForeignKey(err):
		return errTenantNotFound()
	}
	return dbErr(err)
}

// GetMember returns actorID's membership of tenantID.
func (s *Store) GetMember(ctx context.Context, tenantID, actorID string) (identity.Membership, error) {
	m, err := scanMember(s.read.QueryRowContext(ctx,
		`SELECT `+memberCols+` FROM memberships WHERE tenant_id = ? AND actor_id = ?`, tenantID, actorID))
	return one(m, err, errMemberNotFound)
}

// ListMembers pages through tenantID's memberships by actor id.
func (s *Store) ListMembers(ctx context.Context, tenantID string, p cursor.Page) ([]identity.Membership, error) {
	p = p.Normalize()
	rows, err := s.read.QueryContext(ctx,
		`SELECT `+memberCols+` FROM memberships WHERE tenant_id = ? AND actor_id > ? ORDER BY actor_id LIMIT ?`,
		tenantID, p.After, p.Limit)
	if err != nil {
		return nil, dbErr(err)
	}
	return collect(rows, scanMember)
}

// SetMemberRoles replaces a member's roles, refusing to demote the last
// owner. The interface passes no time, so updated_at is the store's clock.
func (s *Store) SetMemberRoles(ctx context.Context, tenantID, actorID string, roles []string) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		current, err := memberRoles(ctx, tx, tenantID, actorID)
		if err != nil {
			return err
		}
		if identity.HasOwner(current) && !identity.HasOwner(roles) {
			if err := requireOtherOwner(ctx, tx, tenantID, actorID); err != nil {
				return err
			}
		}
		_, err = tx.ExecContext(ctx,
			`UPDATE memberships SET roles = ?, updated_at = ? WHERE tenant_id = ? AND actor_id = ?`,
			encodeList(roles), ts(time.Now()), tenantID, actorID)
		return err
	})
}

// RemoveMember deletes a membership, refusing to remove the last owner.
func (s *Store) RemoveMember(ctx context.Context, tenantID, actorID string) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		current, err := memberRoles(ctx, tx, tenantID, actorID)
		if err != nil {
			return err
		}
		if identity.HasOwner(current) {
			if err := requireOtherOwner(ctx, tx, tenantID, actorID); err != nil {
				return err
			}
		}
		_, err = tx.ExecContext(ctx,
			`DELETE FROM memberships WHERE tenant_id = ? AND actor_id = ?`, tenantID, actorID)
		return err
	})
}

func memberRoles(ctx context.Context, tx *sql.Tx, tenantID, actorID string) ([]string, error) {
	var roles string
	err := tx.QueryRowContext(ctx,
		`SELECT roles FROM memberships WHERE tenant_id = ? AND actor_id = ?`, tenantID, actorID).Scan(&roles)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errMemberNotFound()
	}
	if err != nil {
		return nil, err
	}
	return decodeList(roles)
}

// requireOtherOwner fails with "last_owner" unless a member other than
// actorID owns tenantID. Running inside the IMMEDIATE transaction makes the
// check and the write that follows one step.
func requireOtherOwner(ctx context.Context, tx *sql.Tx, tenantID, actorID string) error {
	var ok bool
	err := tx.QueryRowContext(ctx,
		`SELECT EXISTS (
		   SELECT 1 FROM memberships m, json_each(m.roles) r
		   WHERE m.tenant_id = ? AND m.actor_id <> ? AND r.value = ?)`,
		tenantID, actorID, identity.RoleOwner).Scan(&ok)
	if err != nil {
		return err
	}
	if !ok {
		return fault.Conflictf("last_owner", "a tenant must keep at least one owner")
	}
	return nil
}
