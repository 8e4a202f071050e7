package sqlstore

import (
	"context"
	"database/sql"

	"github.com/tollgate/tollgate/cursor"
	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/identity"
)

const tenantCols = `t.id, t.slug, t.name, t.status, t.mfa, t.created_at, t.updated_at`

func errTenantNotFound() error {
	return fault.NotFoundf(identity.CodeTenantNotFound, "tenant not found")
}

// tenantDest is the scan destination of tenantCols.
func tenantDest(t *identity.Tenant) []any {
	return []any{&t.ID, &t.Slug, &t.Name, &t.Status, &t.MFA, at(&t.CreatedAt), at(&t.UpdatedAt)}
}

func scanTenant(r scanner) (t identity.Tenant, err error) {
	err = r.Scan(tenantDest(&t)...)
	return t, err
}

// CreateTenant inserts t and owner's membership in one transaction.
func (s *Store) CreateTenant(ctx context.Context, t identity.Tenant, owner identity.Membership) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := s.exec(ctx, tx,
			`INSERT INTO tenants (id, slug, name, status, mfa, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			t.ID, t.Slug, t.Name, string(t.Status), string(tenantMFA(t.MFA)), s.d.Time(t.CreatedAt), s.d.Time(t.UpdatedAt))
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
	return get(ctx, s, scanTenant, errTenantNotFound, `SELECT `+tenantCols+` FROM tenants t WHERE t.id = ?`, id)
}

// GetTenantBySlug returns the tenant with slug.
func (s *Store) GetTenantBySlug(ctx context.Context, slug string) (identity.Tenant, error) {
	return get(ctx, s, scanTenant, errTenantNotFound, `SELECT `+tenantCols+` FROM tenants t WHERE t.slug = ?`, slug)
}

// tenantMFA is the rule stored for m: a tenant made before MFA existed,
// or by a caller that did not say, is optional.
func tenantMFA(m identity.TenantMFA) identity.TenantMFA {
	if m == "" {
		return identity.MFAOptional
	}
	return m
}

// UpdateTenant writes t's name, status, MFA rule and update time.
func (s *Store) UpdateTenant(ctx context.Context, t identity.Tenant) error {
	res, err := s.exec(ctx, s.write,
		`UPDATE tenants SET name = ?, status = ?, mfa = ?, updated_at = ? WHERE id = ?`,
		t.Name, string(t.Status), string(tenantMFA(t.MFA)), s.d.Time(t.UpdatedAt), t.ID)
	return s.affectedOne(res, err, errTenantNotFound)
}

// ListTenants pages through every tenant by id.
func (s *Store) ListTenants(ctx context.Context, p cursor.Page) ([]identity.Tenant, error) {
	return list(ctx, s, p, scanTenant, `SELECT `+tenantCols+` FROM tenants t WHERE t.id > ? ORDER BY t.id LIMIT ?`)
}

// ListTenantsOf pages through actorID's tenants by tenant id.
func (s *Store) ListTenantsOf(ctx context.Context, actorID string, p cursor.Page) ([]identity.TenantMembership, error) {
	return list(ctx, s, p, s.scanTenantMembership,
		`SELECT `+tenantCols+`, m.roles FROM memberships m JOIN tenants t ON t.id = m.tenant_id
		 WHERE m.actor_id = ? AND m.tenant_id > ? ORDER BY m.tenant_id LIMIT ?`, actorID)
}

func (s *Store) scanTenantMembership(r scanner) (tm identity.TenantMembership, err error) {
	err = r.Scan(append(tenantDest(&tm.Tenant), s.d.ScanList(&tm.Roles))...)
	return tm, err
}

// CountTenants counts every tenant.
func (s *Store) CountTenants(ctx context.Context) (int, error) {
	return s.count(ctx, `SELECT count(*) FROM tenants`)
}

// CountTenantsOf counts the tenants actorID owns.
func (s *Store) CountTenantsOf(ctx context.Context, actorID string) (int, error) {
	return s.count(ctx, `SELECT count(*) FROM memberships WHERE actor_id = ? AND `+s.d.ListHas("roles"),
		actorID, identity.RoleOwner)
}
