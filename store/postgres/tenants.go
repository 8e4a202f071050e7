package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/tollgate/tollgate/cursor"
	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/identity"
)

const tenantCols = `t.id, t.slug, t.name, t.status, t.created_at, t.updated_at`

func errTenantNotFound() error { return fault.NotFoundf("tenant_not_found", "tenant not found") }

func scanTenant(r pgx.Row, extra ...any) (identity.Tenant, error) {
	var t identity.Tenant
	dest := append([]any{&t.ID, &t.Slug, &t.Name, &t.Status, &t.CreatedAt, &t.UpdatedAt}, extra...)
	if err := r.Scan(dest...); err != nil {
		return identity.Tenant{}, err
	}
	t.CreatedAt, t.UpdatedAt = t.CreatedAt.UTC(), t.UpdatedAt.UTC()
	return t, nil
}

// CreateTenant inserts t and owner's membership in one transaction.
func (s *Store) CreateTenant(ctx context.Context, t identity.Tenant, owner identity.Membership) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx,
			`INSERT INTO tenants (id, slug, name, status, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6)`,
			t.ID, t.Slug, t.Name, string(t.Status), ts(t.CreatedAt), ts(t.UpdatedAt))
		switch violated(err) {
		case "tenants_slug_key":
			return fault.Conflictf("tenant_slug_taken", "a tenant with this slug exists")
		case "tenants_pkey":
			return fault.Conflictf("tenant_exists", "a tenant with this id exists")
		}
		if err != nil {
			return err
		}
		// The owner always joins the tenant being created, whatever TenantID
		// the caller left in owner.
		_, err = tx.Exec(ctx,
			`INSERT INTO memberships (tenant_id, actor_id, roles, created_at, updated_at) VALUES ($1, $2, $3, $4, $5)`,
			t.ID, owner.ActorID, list(owner.Roles), ts(owner.CreatedAt), ts(owner.UpdatedAt))
		return err
	})
}

// GetTenant returns the tenant with id.
func (s *Store) GetTenant(ctx context.Context, id string) (identity.Tenant, error) {
	return s.getTenant(ctx, `SELECT `+tenantCols+` FROM tenants t WHERE t.id = $1`, id)
}

// GetTenantBySlug returns the tenant with slug.
func (s *Store) GetTenantBySlug(ctx context.Context, slug string) (identity.Tenant, error) {
	return s.getTenant(ctx, `SELECT `+tenantCols+` FROM tenants t WHERE t.slug = $1`, slug)
}

func (s *Store) getTenant(ctx context.Context, query, arg string) (identity.Tenant, error) {
	t, err := scanTenant(s.pool.QueryRow(ctx, query, arg))
	return one(t, err, errTenantNotFound)
}

// UpdateTenant writes t's name, status and update time.
func (s *Store) UpdateTenant(ctx context.Context, t identity.Tenant) error {
	tag, err := s.pool.Exec(ctx,
		`UPDATE tenants SET name = $1, status = $2, updated_at = $3 WHERE id = $4`,
		t.Name, string(t.Status), ts(t.UpdatedAt), t.ID)
	return affectedOne(tag, err, errTenantNotFound)
}

// ListTenants pages through every tenant by id.
func (s *Store) ListTenants(ctx context.Context, p cursor.Page) ([]identity.Tenant, error) {
	p = p.Normalize()
	rows, err := s.pool.Query(ctx,
		`SELECT `+tenantCols+` FROM tenants t WHERE t.id > $1 ORDER BY t.id LIMIT $2`, p.After, p.Limit)
	if err != nil {
		return nil, dbErr(err)
	}
	return collect(rows, func(r pgx.Row) (identity.Tenant, error) { return scanTenant(r) })
}

// ListTenantsOf pages through actorID's tenants by tenant id.
func (s *Store) ListTenantsOf(ctx context.Context, actorID string, p cursor.Page) ([]identity.TenantMembership, error) {
	p = p.Normalize()
	rows, err := s.pool.Query(ctx,
		`SELECT `+tenantCols+`, m.roles FROM memberships m JOIN tenants t ON t.id = m.tenant_id
		 WHERE m.actor_id = $1 AND m.tenant_id > $2 ORDER BY m.tenant_id LIMIT $3`,
		actorID, p.After, p.Limit)
	if err != nil {
		return nil, dbErr(err)
	}
	return collect(rows, func(r pgx.Row) (identity.TenantMembership, error) {
		var tm identity.TenantMembership
		var err error
		tm.Tenant, err = scanTenant(r, &tm.Roles)
		return tm, err
	})
}

// CountTenants counts every tenant.
func (s *Store) CountTenants(ctx context.Context) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, `SELECT count(*) FROM tenants`).Scan(&n)
	return n, dbErr(err)
}
