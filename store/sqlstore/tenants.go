package sqlstore

import (
	"context"
	"database/sql"

	"github.com/tollgate/tollgate/cursor"
	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/identity"
)

const tenantCols = `t.id, t.slug, t.name, t.status, t.created_at, t.updated_at`

func errTenantNotFound() error {
	return fault.NotFoundf(identity.CodeTenantNotFound, "tenant not found")
}

func scanTenant(r scanner, extra ...any) (identity.Tenant, error) {
	var t identity.Tenant
	dest := append([]any{&t.ID, &t.Slug, &t.Name, &t.Status, at(&t.CreatedAt), at(&t.UpdatedAt)}, extra...)
	if err := r.Scan(dest...); err != nil {
		return identity.Tenant{}, err
	}
	return t, nil
}

// CreateTenant inserts t and owner's membership in one transaction.
func (s *Store) CreateTenant(ctx context.Context, t identity.Tenant, owner identity.Membership) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := s.exec(ctx, tx,
			`INSERT INTO tenants (id, slug, name, status, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)`,
			t.ID, t.Slug, t.Name, string(t.Status), s.d.Time(t.CreatedAt), s.d.Time(t.UpdatedAt))
		switch {
		case s.violates(err, "tenants_slug_key"):
			return fault.Conflictf(identity.CodeTenantSlugTaken, "a tenant with this slug exists")
		case s.violates(err, "tenants_pkey"):
			return fault.Conflictf(identity.CodeTenantExists, "a tenant with this id exists")
		case err != nil:
			return err
		}
		// The owner always joins the tenant being created, whatever TenantID
		// the caller left in owner.
		_, err = s.exec(ctx, tx,
			`INSERT INTO memberships (tenant_id, actor_id, roles, created_at, updated_at) VALUES (?, ?, ?, ?, ?)`,
			t.ID, owner.ActorID, s.d.List(owner.Roles), s.d.Time(owner.CreatedAt), s.d.Time(owner.UpdatedAt))
		return err
	})
}

// GetTenant returns the tenant with id.
func (s *Store) GetTenant(ctx context.Context, id string) (identity.Tenant, error) {
	return s.getTenant(ctx, `SELECT `+tenantCols+` FROM tenants t WHERE t.id = ?`, id)
}

// GetTenantBySlug returns the tenant with slug.
func (s *Store) GetTenantBySlug(ctx context.Context, slug string) (identity.Tenant, error) {
	return s.getTenant(ctx, `SELECT `+tenantCols+` FROM tenants t WHERE t.slug = ?`, slug)
}

func (s *Store) getTenant(ctx context.Context, query, arg string) (identity.Tenant, error) {
	t, err := scanTenant(s.queryRow(ctx, s.read, query, arg))
	return one(s, t, err, errTenantNotFound)
}

// UpdateTenant writes t's name, status and update time.
func (s *Store) UpdateTenant(ctx context.Context, t identity.Tenant) error {
	res, err := s.exec(ctx, s.write,
		`UPDATE tenants SET name = ?, status = ?, updated_at = ? WHERE id = ?`,
		t.Name, string(t.Status), s.d.Time(t.UpdatedAt), t.ID)
	return s.affectedOne(res, err, errTenantNotFound)
}

// ListTenants pages through every tenant by id.
func (s *Store) ListTenants(ctx context.Context, p cursor.Page) ([]identity.Tenant, error) {
	p = p.Normalize()
	rows, err := s.query(ctx, s.read,
		`SELECT `+tenantCols+` FROM tenants t WHERE t.id > ? ORDER BY t.id LIMIT ?`, p.After, p.Limit)
	return collect(s, rows, err, func(r scanner) (identity.Tenant, error) { return scanTenant(r) })
}

// ListTenantsOf pages through actorID's tenants by tenant id.
func (s *Store) ListTenantsOf(ctx context.Context, actorID string, p cursor.Page) ([]identity.TenantMembership, error) {
	p = p.Normalize()
	rows, err := s.query(ctx, s.read,
		`SELECT `+tenantCols+`, m.roles FROM memberships m JOIN tenants t ON t.id = m.tenant_id
		 WHERE m.actor_id = ? AND m.tenant_id > ? ORDER BY m.tenant_id LIMIT ?`,
		actorID, p.After, p.Limit)
	return collect(s, rows, err, func(r scanner) (identity.TenantMembership, error) {
		var tm identity.TenantMembership
		var err error
		tm.Tenant, err = scanTenant(r, s.d.ScanList(&tm.Roles))
		return tm, err
	})
}

// CountTenants counts every tenant.
func (s *Store) CountTenants(ctx context.Context) (int, error) {
	var n int
	err := s.queryRow(ctx, s.read, `SELECT count(*) FROM tenants`).Scan(&n)
	return n, s.dbErr(err)
}

// CountTenantsOf counts the tenants actorID owns.
func (s *Store) CountTenantsOf(ctx context.Context, actorID string) (int, error) {
	var n int
	err := s.queryRow(ctx, s.read,
		`SELECT count(*) FROM memberships WHERE actor_id = ? AND `+s.d.ListHas("roles"),
		actorID, identity.RoleOwner).Scan(&n)
	return n, s.dbErr(err)
}
