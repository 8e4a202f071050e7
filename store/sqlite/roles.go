package sqlite

import (
	"context"
	"database/sql"

	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/identity"
)

const roleCols = `tenant_id, name, description, permissions, created_at, updated_at`

func errRoleNotFound() error { return fault.NotFoundf("role_not_found", "role not found") }

func scanRole(r scanner) (identity.Role, error) {
	var role identity.Role
	var perms string
	var created, updated int64
	if err := r.Scan(&role.TenantID, &role.Name, &role.Description, &perms, &created, &updated); err != nil {
		return identity.Role{}, err
	}
	var err error
	if role.Permissions, err = decodeList(perms); err != nil {
		return identity.Role{}, err
	}
	role.CreatedAt, role.UpdatedAt = fromTS(created), fromTS(updated)
	return role, nil
}

// PutRole creates or replaces r, keeping the original created_at. NotFound
// "tenant_not_found" when the tenant does not exist.
func (s *Store) PutRole(ctx context.Context, r identity.Role) error {
	_, err := s.write.ExecContext(ctx,
		`INSERT INTO roles (`+roleCols+`) VALUES (?, ?, ?, ?, ?, ?)
		 ON CONFLICT (tenant_id, name) DO UPDATE SET
		   description = excluded.description,
		   permissions = excluded.permissions,
		   updated_at = excluded.updated_at`,
		r.TenantID, r.Name, r.Description, encodeList(r.Permissions), ts(r.CreatedAt), ts(r.UpdatedAt))
	if isForeignKey(err) {
		return errTenantNotFound()
	}
	return dbErr(err)
}

// GetRole returns tenantID's custom role name.
func (s *Store) GetRole(ctx context.Context, tenantID, name string) (identity.Role, error) {
	r, err := scanRole(s.read.QueryRowContext(ctx,
		`SELECT `+roleCols+` FROM roles WHERE tenant_id = ? AND name = ?`, tenantID, name))
	return one(r, err, errRoleNotFound)
}

// ListRoles returns all of tenantID's custom roles by name.
func (s *Store) ListRoles(ctx context.Context, tenantID string) ([]identity.Role, error) {
	rows, err := s.read.QueryContext(ctx,
		`SELECT `+roleCols+` FROM roles WHERE tenant_id = ? ORDER BY name`, tenantID)
	if err != nil {
		return nil, dbErr(err)
	}
	return collect(rows, scanRole)
}

// DeleteRole deletes a custom role that no member of the tenant holds.
func (s *Store) DeleteRole(ctx context.Context, tenantID, name string) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		var inUse bool
		err := tx.QueryRowContext(ctx,
			`SELECT EXISTS (
			   SELECT 1 FROM memberships m, json_each(m.roles) r
			   WHERE m.tenant_id = ? AND r.value = ?)`, tenantID, name).Scan(&inUse)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM roles WHERE tenant_id = ? AND name = ?`, tenantID, name)
		if err := affectedOne(res, err, errRoleNotFound); err != nil {
			return err
		}
		// Not found outranks in use: a member can hold a role name that was
		// never defined, and that must not hide the fact that it does not exist.
		if inUse {
			return fault.Conflictf("role_in_use", "members still hold this role")
		}
		return nil
	})
}
