package sqlstore

import (
	"context"
	"database/sql"

	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/identity"
)

const roleCols = `tenant_id, name, description, permissions, created_at, updated_at`

func errRoleNotFound() error { return fault.NotFoundf(identity.CodeRoleNotFound, "role not found") }

func (s *Store) scanRole(r scanner) (role identity.Role, err error) {
	err = r.Scan(&role.TenantID, &role.Name, &role.Description, s.d.ScanList(&role.Permissions),
		at(&role.CreatedAt), at(&role.UpdatedAt))
	return role, err
}

// PutRole creates or replaces r, keeping the original created_at. NotFound
// "tenant_not_found" when the tenant does not exist.
func (s *Store) PutRole(ctx context.Context, r identity.Role) error {
	_, err := s.exec(ctx, s.write,
		`INSERT INTO roles (`+roleCols+`) VALUES (?, ?, ?, ?, ?, ?)
		 ON CONFLICT (tenant_id, name) DO UPDATE SET
		   description = excluded.description,
		   permissions = excluded.permissions,
		   updated_at = excluded.updated_at`,
		r.TenantID, r.Name, r.Description, s.d.List(r.Permissions), s.d.Time(r.CreatedAt), s.d.Time(r.UpdatedAt))
	if s.violates(err, "roles_tenant_fkey") {
		return errTenantNotFound()
	}
	return s.dbErr(err)
}

// GetRole returns tenantID's custom role name.
func (s *Store) GetRole(ctx context.Context, tenantID, name string) (identity.Role, error) {
	return get(ctx, s, s.scanRole, errRoleNotFound,
		`SELECT `+roleCols+` FROM roles WHERE tenant_id = ? AND name = ?`, tenantID, name)
}

// ListRoles returns all of tenantID's custom roles by name.
func (s *Store) ListRoles(ctx context.Context, tenantID string) ([]identity.Role, error) {
	return readAll(ctx, s, s.scanRole, `SELECT `+roleCols+` FROM roles WHERE tenant_id = ? ORDER BY name`, tenantID)
}

// DeleteRole deletes a custom role that no member of the tenant holds. The
// tenant row lock orders it against SetMemberRoles and, through the foreign
// key check, against AddMember, so a member cannot gain the role between
// the check and the delete. (On SQLite the IMMEDIATE write transaction
// already excludes every other writer.)
func (s *Store) DeleteRole(ctx context.Context, tenantID, name string) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.lockTenant(ctx, tx, tenantID); err != nil {
			return err
		}
		res, err := s.exec(ctx, tx, `DELETE FROM roles WHERE tenant_id = ? AND name = ?`, tenantID, name)
		if err := s.affectedOne(res, err, errRoleNotFound); err != nil {
			return err
		}
		// Not found outranks in use: a member can hold a role name that was
		// never defined, and that must not hide the fact that it does not exist.
		// Returning the conflict rolls the delete back.
		var inUse bool
		err = s.queryRow(ctx, tx,
			`SELECT EXISTS (SELECT 1 FROM memberships WHERE tenant_id = ? AND `+s.d.ListHas("roles")+`)`,
			tenantID, name).Scan(&inUse)
		if err != nil {
			return err
		}
		if inUse {
			return fault.Conflictf(identity.CodeRoleInUse, "members still hold this role")
		}
		return nil
	})
}
