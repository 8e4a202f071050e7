package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"math"

	"github.com/tollgate/tollgate/cursor"
	"github.com/tollgate/tollgate/policy"
)

const (
	resourceCols  = `type, id, parents, attrs, updated_at`
	policySetCols = `version, text, created_by, created_at`
)

func scanResource(tenantID string) func(r scanner) (policy.Resource, error) {
	return func(r scanner) (policy.Resource, error) {
		res := policy.Resource{TenantID: tenantID}
		var parents, attrs string
		var updated int64
		if err := r.Scan(&res.Type, &res.ID, &parents, &attrs, &updated); err != nil {
			return policy.Resource{}, err
		}
		var err error
		if res.Parents, err = policy.DecodeParents([]byte(parents)); err != nil {
			return policy.Resource{}, err
		}
		if res.Attrs, err = policy.DecodeAttrs([]byte(attrs)); err != nil {
			return policy.Resource{}, err
		}
		res.UpdatedAt = fromTS(updated)
		return res, nil
	}
}

// PutResources upserts rs as tenantID's resources in one transaction: all
// of them or none. Each resource's own TenantID is ignored; tenantID rules.
// Of two resources with the same (type, id) in rs the later wins. NotFound
// "tenant_not_found" when the tenant does not exist, even for an empty rs,
// which otherwise writes nothing.
func (s *Store) PutResources(ctx context.Context, tenantID string, rs []policy.Resource) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		var exists bool
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM tenants WHERE id = ?)`, tenantID).Scan(&exists); err != nil {
			return err
		}
		if !exists {
			return errTenantNotFound()
		}
		if len(rs) == 0 {
			return nil
		}
		stmt, err := tx.PrepareContext(ctx,
			`INSERT INTO resources (tenant_id, `+resourceCols+`) VALUES (?, ?, ?, ?, ?, ?)
			 ON CONFLICT (tenant_id, type, id) DO UPDATE SET
			   parents = excluded.parents,
			   attrs = excluded.attrs,
			   updated_at = excluded.updated_at`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, r := range rs {
			parents, err := policy.EncodeParents(r.Parents)
			if err != nil {
				return err
			}
			attrs, err := policy.EncodeAttrs(r.Attrs)
			if err != nil {
				return err
			}
			_, err = stmt.ExecContext(ctx, tenantID, r.Type, r.ID, parents, attrs, ts(r.UpdatedAt))
			if isForeignKey(err) {
				return errTenantNotFound()
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
}

// DeleteResource deletes tenantID's resource (typ, id).
func (s *Store) DeleteResource(ctx context.Context, tenantID, typ, id string) error {
	res, err := s.write.ExecContext(ctx,
		`DELETE FROM resources WHERE tenant_id = ? AND type = ? AND id = ?`, tenantID, typ, id)
	return affectedOne(res, err, policy.ErrResourceNotFound)
}

// GetResource returns tenantID's resource (typ, id).
func (s *Store) GetResource(ctx context.Context, tenantID, typ, id string) (policy.Resource, error) {
	r, err := scanResource(tenantID)(s.read.QueryRowContext(ctx,
		`SELECT `+resourceCols+` FROM resources WHERE tenant_id = ? AND type = ? AND id = ?`, tenantID, typ, id))
	return one(r, err, policy.ErrResourceNotFound)
}

// ListResources pages through tenantID's resources by (type, id), after
// the "type/id" in p.After. A p.Limit of 0 or less lists them all; a
// positive one is not clamped. Invalid "invalid_cursor" when p.After is
// neither "" nor holds a "/".
func (s *Store) ListResources(ctx context.Context, tenantID string, p cursor.Page) ([]policy.Resource, error) {
	q := `SELECT ` + resourceCols + ` FROM resources WHERE tenant_id = ?`
	args := []any{tenantID}
	if p.After != "" {
		typ, id, err := policy.ResourceCursor(p.After)
		if err != nil {
			return nil, err
		}
		q += ` AND (type, id) > (?, ?)`
		args = append(args, typ, id)
	}
	q += ` ORDER BY type, id`
	if p.Limit > 0 {
		q += ` LIMIT ?`
		args = append(args, p.Limit)
	}
	rows, err := s.read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, dbErr(err)
	}
	return collect(rows, scanResource(tenantID))
}

func scanPolicySet(tenantID string, withText bool) func(r scanner) (policy.PolicySet, error) {
	return func(r scanner) (policy.PolicySet, error) {
		ps := policy.PolicySet{TenantID: tenantID}
		var created int64
		dest := []any{&ps.Version, &ps.CreatedBy, &created}
		if withText {
			dest = []any{&ps.Version, &ps.Text, &ps.CreatedBy, &created}
		}
		if err := r.Scan(dest...); err != nil {
			return policy.PolicySet{}, err
		}
		ps.CreatedAt = fromTS(created)
		return ps, nil
	}
}

// CurrentPolicySet returns tenantID's latest policy version, or a
// PolicySet with only TenantID set (Version 0) when it has none, whether or
// not the tenant exists.
func (s *Store) CurrentPolicySet(ctx context.Context, tenantID string) (policy.PolicySet, error) {
	ps, err := scanPolicySet(tenantID, true)(s.read.QueryRowContext(ctx,
		`SELECT `+policySetCols+` FROM policy_sets WHERE tenant_id = ? ORDER BY version DESC LIMIT 1`, tenantID))
	if errors.Is(err, sql.ErrNoRows) {
		return policy.PolicySet{TenantID: tenantID}, nil
	}
	if err != nil {
		return policy.PolicySet{}, dbErr(err)
	}
	return ps, nil
}

// PolicySetVersion returns version of tenantID's policies.
func (s *Store) PolicySetVersion(ctx context.Context, tenantID string, version int64) (policy.PolicySet, error) {
	ps, err := scanPolicySet(tenantID, true)(s.read.QueryRowContext(ctx,
		`SELECT `+policySetCols+` FROM policy_sets WHERE tenant_id = ? AND version = ?`, tenantID, version))
	return one(ps, err, policy.ErrPolicyVersionNotFound)
}

// ListPolicySetVersions pages through tenantID's policy versions newest
// first, those before the decimal version in p.After, with Text left
// empty. p.Limit is normalised as in every other list. Invalid
// "invalid_cursor" when p.After is neither "" nor a decimal integer.
func (s *Store) ListPolicySetVersions(ctx context.Context, tenantID string, p cursor.Page) ([]policy.PolicySet, error) {
	p = p.Normalize()
	q := `SELECT version, created_by, created_at FROM policy_sets WHERE tenant_id = ?`
	args := []any{tenantID}
	if p.After != "" {
		before, err := policy.VersionCursor(p.After)
		if err != nil {
			return nil, err
		}
		q += ` AND version < ?`
		args = append(args, before)
	}
	q += ` ORDER BY version DESC LIMIT ?`
	args = append(args, p.Limit)
	rows, err := s.read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, dbErr(err)
	}
	return collect(rows, scanPolicySet(tenantID, false))
}

// AddPolicySet stores ps as version previous+1 of ps.TenantID's policies
// (ps.Version is ignored). The write transaction is IMMEDIATE on the one
// write connection, so no other writer runs between the check of the
// current version and the insert. NotFound "tenant_not_found" outranks
// Conflict "policy_version_conflict".
func (s *Store) AddPolicySet(ctx context.Context, ps policy.PolicySet, previous int64) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		var exists bool
		var current int64
		err := tx.QueryRowContext(ctx,
			`SELECT EXISTS (SELECT 1 FROM tenants WHERE id = ?),
			        (SELECT coalesce(max(version), 0) FROM policy_sets WHERE tenant_id = ?)`,
			ps.TenantID, ps.TenantID).Scan(&exists, &current)
		if err != nil {
			return err
		}
		if !exists {
			return errTenantNotFound()
		}
		if current != previous || previous == math.MaxInt64 {
			return policy.ErrPolicyVersionConflict()
		}
		_, err = tx.ExecContext(ctx,
			`INSERT INTO policy_sets (tenant_id, `+policySetCols+`) VALUES (?, ?, ?, ?, ?)`,
			ps.TenantID, previous+1, ps.Text, ps.CreatedBy, ts(ps.CreatedAt))
		switch {
		case isUnique(err, "policy_sets.version"):
			return policy.ErrPolicyVersionConflict()
		case isForeignKey(err):
			return errTenantNotFound()
		}
		return err
	})
}
