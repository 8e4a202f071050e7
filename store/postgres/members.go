package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tollgate/tollgate/cursor"
	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/identity"
)

const memberCols = `tenant_id, actor_id, roles, created_at, updated_at`

func errMemberNotFound() error { return fault.NotFoundf("member_not_found", "member not found") }

func scanMember(r pgx.Row) (identity.Membership, error) {
	var m identity.Membership
	if err := r.Scan(&m.TenantID, &m.ActorID, &m.Roles, &m.CreatedAt, &m.UpdatedAt); err != nil {
		return identity.Membership{}, err
	}
	m.CreatedAt, m.UpdatedAt = m.CreatedAt.UTC(), m.UpdatedAt.UTC()
	return m, nil
}

// AddMember inserts m. NotFound "tenant_not_found" when the tenant does not
// exist.
func (s *Store) AddMember(ctx context.Context, m identity.Membership) error {
	_, err := s.pool.Exec(ctx,
		`INSERT INTO memberships (`+memberCols+`) VALUES ($1, $2, $3, $4, $5)`,
		m.TenantID, m.ActorID, list(m.Roles), ts(m.CreatedAt), ts(m.UpdatedAt))
	switch violated(err) {
	case "memberships_pkey":
		return fault.Conflictf("member_exists", "already a member of this tenant")
	case "memberships_tenant_fkey":
		return errTenantNotFound()
	}
	return dbErr(err)
}

// GetMember returns actorID's membership of tenantID.
func (s *Store) GetMember(ctx context.Context, tenantID, actorID string) (identity.Membership, error) {
	m, err := scanMember(s.pool.QueryRow(ctx,
		`SELECT `+memberCols+` FROM memberships WHERE tenant_id = $1 AND actor_id = $2`, tenantID, actorID))
	return one(m, err, errMemberNotFound)
}

// ListMembers pages through tenantID's memberships by actor id.
func (s *Store) ListMembers(ctx context.Context, tenantID string, p cursor.Page) ([]identity.Membership, error) {
	p = p.Normalize()
	rows, err := s.pool.Query(ctx,
		`SELECT `+memberCols+` FROM memberships WHERE tenant_id = $1 AND actor_id > $2 ORDER BY actor_id LIMIT $3`,
		tenantID, p.After, p.Limit)
	if err != nil {
		return nil, dbErr(err)
	}
	return collect(rows, scanMember)
}

// SetMemberRoles replaces a member's roles, refusing to demote the last
// owner. The interface passes no time, so updated_at is the store's clock.
func (s *Store) SetMemberRoles(ctx context.Context, tenantID, actorID string, roles []string) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		current, err := lockedMemberRoles(ctx, tx, tenantID, actorID)
		if err != nil {
			return err
		}
		if identity.HasOwner(current) && !identity.HasOwner(roles) {
			if err := requireOtherOwner(ctx, tx, tenantID, actorID); err != nil {
				return err
			}
		}
		_, err = tx.Exec(ctx,
			`UPDATE memberships SET roles = $1, updated_at = $2 WHERE tenant_id = $3 AND actor_id = $4`,
			list(roles), ts(time.Now()), tenantID, actorID)
		return err
	})
}

// RemoveMember deletes a membership, refusing to remove the last owner.
func (s *Store) RemoveMember(ctx context.Context, tenantID, actorID string) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		current, err := lockedMemberRoles(ctx, tx, tenantID, actorID)
		if err != nil {
			return err
		}
		if identity.HasOwner(current) {
			if err := requireOtherOwner(ctx, tx, tenantID, actorID); err != nil {
				return err
			}
		}
		_, err = tx.Exec(ctx, `DELETE FROM memberships WHERE tenant_id = $1 AND actor_id = $2`, tenantID, actorID)
		return err
	})
}

// lockedMemberRoles locks the tenant row, then reads the member's roles.
// Without the lock two transactions demoting two different owners would each
// see the other still owning and both commit, leaving no owner.
func lockedMemberRoles(ctx context.Context, tx pgx.Tx, tenantID, actorID string) ([]string, error) {
	if err := lockTenant(ctx, tx, tenantID); err != nil {
		return nil, err
	}
	var roles []string
	err := tx.QueryRow(ctx,
		`SELECT roles FROM memberships WHERE tenant_id = $1 AND actor_id = $2`, tenantID, actorID).Scan(&roles)
	if isNoRows(err) {
		return nil, errMemberNotFound()
	}
	return roles, err
}

// requireOtherOwner fails with "last_owner" unless a member other than
// actorID owns tenantID.
func requireOtherOwner(ctx context.Context, tx pgx.Tx, tenantID, actorID string) error {
	var ok bool
	err := tx.QueryRow(ctx,
		`SELECT EXISTS (SELECT 1 FROM memberships WHERE tenant_id = $1 AND actor_id <> $2 AND $3 = ANY (roles))`,
		tenantID, actorID, identity.RoleOwner).Scan(&ok)
	if err != nil {
		return err
	}
	if !ok {
		return fault.Conflictf("last_owner", "a tenant must keep at least one owner")
	}
	return nil
}
