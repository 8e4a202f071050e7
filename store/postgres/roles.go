package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/identity"
)

const roleCols = `tenant_id, name, description, permissions, created_at, updated_at`

func errRoleNotFound() error { return fault.NotFoundf("role_not_found", "role not found") }

func scanRole(r pgx.Row) (identity.Role, error) {
	var role identity.Role
	err := r.Scan(&role.TenantID, &role.Name, &role.Description, &role.Permissions, &role.CreatedAt, &role.UpdatedAt)
	if err != nil {
		return identity.Role{}, err
	}
	role.CreatedAt, role.UpdatedAt = role.CreatedAt.UTC(), role.UpdatedAt.UTC()
	return role, nil
}

// PutRole creates or replaces r, keeping the original created_at. NotFound
// "tenant_not_found" when the tenant does not exist.
func (s *Store) PutRole(ctx context.Context, r identity.Role) error {
	_, err := s.pool.Exec(ctx,
		`INSERT INTO roles (`+roleCols+`) VALUES ($1, $2, $3, $4, $5, $6)
		 ON CONFLICT (tenant_id, name) DO UPDATE SET
		   description = EXCLUDED.description,
		   permissions = EXCLUDED.permissions,
		   updated_at = EXCLUDED.updated_at`,
		r.TenantID, r.Name, r.Description, list(r.Permissions), ts(r.CreatedAt), ts(r.UpdatedAt))
	if violated(err) == "roles_tenant_fkey" {
		return errTenantNotFound()
	}
	return dbErr(err)
}

// GetRole returns tenantID's custom role name.
func (s *Store) GetRole(ctx context.Context, tenantID, name string) (identity.Role, error) {
	r, err := scanRole(s.pool.QueryRow(ctx,
		`SELECT `+roleCols+` FROM roles WHERE tenant_id = $1 AND name = $2`, tenantID, name))
	return one(r, err, errRoleNotFound)
}

// ListRoles returns all of tenantID's custom roles by name.
func (s *Store) ListRoles(ctx context.Context, tenantID string) ([]identity.Role, error) {
	rows, err := s.pool.Query(ctx,
		`SELECT `+roleCols+` FROM roles WHERE tenant_id = $1 ORDER BY name`, tenantID)
	if err != nil {
		return nil, dbErr(err)
	}
	return collect(rows, scanRole)
}

// DeleteRole deletes a custom role that no member of the tenant holds. The
// tenant row lock orders it against SetMemberRoles and, through the foreign
// key check, against AddMember, so a member cannot gain the role between
// the check and the delete.
func (s *Store) DeleteRole(ctx context.Context, tenantID, name string) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		if err := lockTenant(ctx, tx, tenantID); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `DELETE FROM roles WHERE tenant_id = $1 AND name = $2`, tenantID, name)
		if err := affectedOne(tag, err, errRoleNotFound); err != nil {
			return err
		}
		var inUse bool
		err = tx.QueryRow(ctx,
			`SELECT EXISTS (SELECT 1 FROM memberships WHERE tenant_id = $1 AND $2 = ANY (roles))`,
			tenantID, name).Scan(&inUse)
		if err != nil {
			return err
		}
		if inUse {
			return fault.Conflictf("role_in_use", "members still hold this role")
		}
		return nil
	})
}
