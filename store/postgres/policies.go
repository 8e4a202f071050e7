package postgres

import (
	"cmp"
	"context"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/tollgate/tollgate/cursor"
	"github.com/tollgate/tollgate/policy"
)

const (
	resourceCols  = `type, id, parents, attrs, updated_at`
	policySetCols = `version, text, created_by, created_at`
)

func scanResource(tenantID string) func(r pgx.Row) (policy.Resource, error) {
	return func(r pgx.Row) (policy.Resource, error) {
		res := policy.Resource{TenantID: tenantID}
		var parents, attrs []byte
		if err := r.Scan(&res.Type, &res.ID, &parents, &attrs, &res.UpdatedAt); err != nil {
			return policy.Resource{}, err
		}
		var err error
		if res.Parents, err = policy.DecodeParents(parents); err != nil {
			return policy.Resource{}, err
		}
		if res.Attrs, err = policy.DecodeAttrs(attrs); err != nil {
			return policy.Resource{}, err
		}
		res.UpdatedAt = res.UpdatedAt.UTC()
		return res, nil
	}
}

const upsertResource = `INSERT INTO resources (tenant_id, ` + resourceCols + `) VALUES ($1, $2, $3, $4, $5, $6)
	ON CONFLICT (tenant_id, type, id) DO UPDATE SET
	  parents = EXCLUDED.parents,
	  attrs = EXCLUDED.attrs,
	  updated_at = EXCLUDED.updated_at`

// PutResources upserts rs as tenantID's resources in one transaction, sent
// as one batch: all of them or none. Each resource's own TenantID is
// ignored; tenantID rules. Of two resources with the same (type, id) in rs
// the later wins. NotFound "tenant_not_found" when the tenant does not
// exist, even for an empty rs, which otherwise writes nothing.
func (s *Store) PutResources(ctx context.Context, tenantID string, rs []policy.Resource) error {
	if len(rs) == 0 {
		var exists bool
		if err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM tenants WHERE id = $1)`, tenantID).Scan(&exists); err != nil {
			return dbErr(err)
		}
		if !exists {
			return errTenantNotFound()
		}
		return nil
	}
	// Upserting in (type, id) order makes concurrent batches that overlap
	// take their row locks in the same order, so they queue instead of
	// deadlocking. The sort is stable: of two with the same key, the later
	// still writes last and wins.
	rs = slices.Clone(rs)
	slices.SortStableFunc(rs, func(a, b policy.Resource) int {
		return cmp.Or(strings.Compare(a.Type, b.Type), strings.Compare(a.ID, b.ID))
	})
	b := &pgx.Batch{}
	for _, r := range rs {
		parents, err := policy.EncodeParents(r.Parents)
		if err != nil {
			return dbErr(err)
		}
		attrs, err := policy.EncodeAttrs(r.Attrs)
		if err != nil {
			return dbErr(err)
		}
		b.Queue(upsertResource, tenantID, r.Type, r.ID, parents, attrs, ts(r.UpdatedAt))
	}
	return s.inTx(ctx, func(tx pgx.Tx) error {
		br := tx.SendBatch(ctx, b)
		for range rs {
			if _, err := br.Exec(); err != nil {
				_ = br.Close()
				if violated(err) == "resources_tenant_fkey" {
					return errTenantNotFound()
				}
				return err
			}
		}
		return br.Close()
	})
}

// DeleteResource deletes tenantID's resource (typ, id).
func (s *Store) DeleteResource(ctx context.Context, tenantID, typ, id string) error {
	tag, err := s.pool.Exec(ctx,
		`DELETE FROM resources WHERE tenant_id = $1 AND type = $2 AND id = $3`, tenantID, typ, id)
	return affectedOne(tag, err, policy.ErrResourceNotFound)
}

// GetResource returns tenantID's resource (typ, id).
func (s *Store) GetResource(ctx context.Context, tenantID, typ, id string) (policy.Resource, error) {
	r, err := scanResource(tenantID)(s.pool.QueryRow(ctx,
		`SELECT `+resourceCols+` FROM resources WHERE tenant_id = $1 AND type = $2 AND id = $3`, tenantID, typ, id))
	return one(r, err, policy.ErrResourceNotFound)
}

// ListResources pages through tenantID's resources by (type, id), after
// the "type/id" in p.After. A p.Limit of 0 or less lists them all; a
// positive one is not clamped. Invalid "invalid_cursor" when p.After is
// neither "" nor holds a "/".
func (s *Store) ListResources(ctx context.Context, tenantID string, p cursor.Page) ([]policy.Resource, error) {
	q := `SELECT ` + resourceCols + ` FROM resources WHERE tenant_id = $1`
	args := []any{tenantID}
	if p.After != "" {
		typ, id, err := policy.ResourceCursor(p.After)
		if err != nil {
			return nil, err
		}
		// A row comparison, which the primary key's index serves; the
		// columns' COLLATE "C" applies to the parameters too.
		q += ` AND (type, id) > ($2, $3)`
		args = append(args, typ, id)
	}
	q += ` ORDER BY type, id`
	if p.Limit > 0 {
		args = append(args, p.Limit)
		q += ` LIMIT $` + strconv.Itoa(len(args))
	}
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, dbErr(err)
	}
	return collect(rows, scanResource(tenantID))
}

func scanPolicySet(tenantID string, withText bool) func(r pgx.Row) (policy.PolicySet, error) {
	return func(r pgx.Row) (policy.PolicySet, error) {
		ps := policy.PolicySet{TenantID: tenantID}
		dest := []any{&ps.Version, &ps.CreatedBy, &ps.CreatedAt}
		if withText {
			dest = []any{&ps.Version, &ps.Text, &ps.CreatedBy, &ps.CreatedAt}
		}
		if err := r.Scan(dest...); err != nil {
			return policy.PolicySet{}, err
		}
		ps.CreatedAt = ps.CreatedAt.UTC()
		return ps, nil
	}
}

// CurrentPolicySet returns tenantID's latest policy version, or a
// PolicySet with only TenantID set (Version 0) when it has none, whether or
// not the tenant exists.
func (s *Store) CurrentPolicySet(ctx context.Context, tenantID string) (policy.PolicySet, error) {
	ps, err := scanPolicySet(tenantID, true)(s.pool.QueryRow(ctx,
		`SELECT `+policySetCols+` FROM policy_sets WHERE tenant_id = $1 ORDER BY version DESC LIMIT 1`, tenantID))
	if isNoRows(err) {
		return policy.PolicySet{TenantID: tenantID}, nil
	}
	if err != nil {
		return policy.PolicySet{}, dbErr(err)
	}
	return ps, nil
}

// PolicySetVersion returns version of tenantID's policies.
func (s *Store) PolicySetVersion(ctx context.Context, tenantID string, version int64) (policy.PolicySet, error) {
	ps, err := scanPolicySet(tenantID, true)(s.pool.QueryRow(ctx,
		`SELECT `+policySetCols+` FROM policy_sets WHERE tenant_id = $1 AND version = $2`, tenantID, version))
	return one(ps, err, policy.ErrPolicyVersionNotFound)
}

// ListPolicySetVersions pages through tenantID's policy versions newest
// first, those before the decimal version in p.After, with Text left
// empty. p.Limit is normalised as in every other list. Invalid
// "invalid_cursor" when p.After is neither "" nor a decimal integer.
func (s *Store) ListPolicySetVersions(ctx context.Context, tenantID string, p cursor.Page) ([]policy.PolicySet, error) {
	p = p.Normalize()
	q := `SELECT version, created_by, created_at FROM policy_sets WHERE tenant_id = $1`
	args := []any{tenantID}
	if p.After != "" {
		before, err := policy.VersionCursor(p.After)
		if err != nil {
			return nil, err
		}
		args = append(args, before)
		q += ` AND version < $2`
	}
	args = append(args, p.Limit)
	q += ` ORDER BY version DESC LIMIT $` + strconv.Itoa(len(args))
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, dbErr(err)
	}
	return collect(rows, scanPolicySet(tenantID, false))
}

// AddPolicySet stores ps as version previous+1 of ps.TenantID's policies
// (ps.Version is ignored), after checking in the same transaction that
// previous is the current version. Of two concurrent writers that both
// pass the check, the second blocks on the primary key until the first
// commits and then fails with a unique violation: Conflict
// "policy_version_conflict" either way. NotFound "tenant_not_found"
// outranks the conflict.
func (s *Store) AddPolicySet(ctx context.Context, ps policy.PolicySet, previous int64) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		var exists bool
		var current int64
		err := tx.QueryRow(ctx,
			`SELECT EXISTS (SELECT 1 FROM tenants WHERE id = $1),
			        (SELECT coalesce(max(version), 0) FROM policy_sets WHERE tenant_id = $1)`,
			ps.TenantID).Scan(&exists, &current)
		if err != nil {
			return err
		}
		if !exists {
			return errTenantNotFound()
		}
		if current != previous || previous == math.MaxInt64 {
			return policy.ErrPolicyVersionConflict()
		}
		_, err = tx.Exec(ctx,
			`INSERT INTO policy_sets (tenant_id, `+policySetCols+`) VALUES ($1, $2, $3, $4, $5)`,
			ps.TenantID, previous+1, ps.Text, ps.CreatedBy, ts(ps.CreatedAt))
		switch violated(err) {
		case "policy_sets_pkey":
			return policy.ErrPolicyVersionConflict()
		case "policy_sets_tenant_fkey":
			return errTenantNotFound()
		}
		return err
	})
}
