package sqlstore

import (
	"bytes"
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/tollgate/tollgate/cursor"
	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/policy"
)

const resourceCols = `type, id, parents, attrs, updated_at`

// errResourceNotFound is policy.Store's NotFound for a resource.
func errResourceNotFound() error {
	return fault.NotFoundf(policy.CodeResourceNotFound, "resource not found")
}

// errPolicyVersionNotFound is policy.Store's NotFound for a policy version.
func errPolicyVersionNotFound() error {
	return fault.NotFoundf(policy.CodePolicyVersionNotFound, "policy version not found")
}

// errPolicyVersionConflict is AddPolicySet's Conflict.
func errPolicyVersionConflict() error {
	return fault.Conflictf(policy.CodePolicyVersionConflict, "the policies changed since the version this change was based on")
}

func errInvalidCursor() error {
	return fault.Invalidf("cursor", cursor.CodeInvalidCursor, "cursor is not valid")
}

// A resource's parents and attributes are stored as JSON: jsonb on
// PostgreSQL, TEXT on SQLite. Both are written as JSON text and read back
// as bytes.

// encodeParents writes parents as a JSON array of {"type", "id"}; nil is [].
func encodeParents(ps []policy.ResourceRef) (string, error) {
	if len(ps) == 0 {
		return "[]", nil
	}
	b, err := json.Marshal(ps)
	return string(b), err
}

// encodeAttrs writes attrs as a JSON object; nil is {}.
func encodeAttrs(attrs map[string]any) (string, error) {
	if len(attrs) == 0 {
		return "{}", nil
	}
	b, err := json.Marshal(attrs)
	return string(b), err
}

// decodeParents reads what encodeParents wrote; never nil.
func decodeParents(b []byte) ([]policy.ResourceRef, error) {
	var ps []policy.ResourceRef
	if err := json.Unmarshal(b, &ps); err != nil {
		return nil, err
	}
	if ps == nil {
		ps = []policy.ResourceRef{}
	}
	return ps, nil
}

// decodeAttrs reads what encodeAttrs wrote, numbers as json.Number, so that
// integers beyond float64's 53 bits come back exact; never nil.
func decodeAttrs(b []byte) (map[string]any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var attrs map[string]any
	if err := d.Decode(&attrs); err != nil {
		return nil, err
	}
	if attrs == nil {
		attrs = map[string]any{}
	}
	return attrs, nil
}

// resourceCursor splits a ListResources cursor "type/id" at its first "/":
// types never contain one, ids may.
func resourceCursor(after string) (typ, id string, err error) {
	typ, id, found := strings.Cut(after, "/")
	if !found {
		return "", "", errInvalidCursor()
	}
	return typ, id, nil
}

// versionCursor parses a ListPolicySetVersions cursor, a decimal version.
func versionCursor(after string) (int64, error) {
	v, err := strconv.ParseInt(after, 10, 64)
	if err != nil {
		return 0, errInvalidCursor()
	}
	return v, nil
}

func scanResource(tenantID string) func(r scanner) (policy.Resource, error) {
	return func(r scanner) (policy.Resource, error) {
		res := policy.Resource{TenantID: tenantID}
		var parents, attrs []byte
		if err := r.Scan(&res.Type, &res.ID, &parents, &attrs, at(&res.UpdatedAt)); err != nil {
			return policy.Resource{}, err
		}
		var err error
		if res.Parents, err = decodeParents(parents); err != nil {
			return policy.Resource{}, err
		}
		if res.Attrs, err = decodeAttrs(attrs); err != nil {
			return policy.Resource{}, err
		}
		return res, nil
	}
}

// upsertChunks are the row counts of the statements PutResources sends,
// largest first. Each statement upserts many rows, so a batch costs a few
// round trips rather than one per resource, and since a batch is cut into
// these sizes only, the database sees (and caches plans for) only these few
// statement texts. 256 rows are 1536 parameters, well within both
// databases' limits.
var upsertChunks = [...]int{256, 64, 16, 4, 1}

// upsertResources[i] upserts upsertChunks[i] rows of (tenant_id, type, id,
// parents, attrs, updated_at).
var upsertResources = func() (qs [len(upsertChunks)]string) {
	for i, n := range upsertChunks {
		qs[i] = `INSERT INTO resources (tenant_id, ` + resourceCols + `) VALUES ` +
			strings.Repeat(`(?, ?, ?, ?, ?, ?), `, n-1) + `(?, ?, ?, ?, ?, ?)
			 ON CONFLICT (tenant_id, type, id) DO UPDATE SET
			   parents = excluded.parents,
			   attrs = excluded.attrs,
			   updated_at = excluded.updated_at`
	}
	return qs
}()

// PutResources upserts rs as tenantID's resources in one transaction, in
// as few statements as upsertChunks allows: all of them or none. Each
// resource's own TenantID is ignored; tenantID rules. Of two resources with
// the same (type, id) in rs the later wins. NotFound "tenant_not_found"
// when the tenant does not exist, even for an empty rs, which otherwise
// writes nothing.
func (s *Store) PutResources(ctx context.Context, tenantID string, rs []policy.Resource) error {
	if len(rs) == 0 {
		return s.mustExist(ctx, "tenants", tenantID, errTenantNotFound)
	}
	// Upserting in (type, id) order makes concurrent batches that overlap
	// take their row locks in the same order, so they queue instead of
	// deadlocking. The sort is stable: of two with the same key, the later
	// is the one kept.
	rs = slices.Clone(rs)
	slices.SortStableFunc(rs, func(a, b policy.Resource) int {
		return cmp.Or(strings.Compare(a.Type, b.Type), strings.Compare(a.ID, b.ID))
	})
	// Only the last of each key is written: PostgreSQL refuses a statement
	// that upserts the same row twice, and writing the later alone is what
	// writing both in order would leave.
	args := make([]any, 0, 6*len(rs))
	for i, r := range rs {
		if i+1 < len(rs) && rs[i+1].Type == r.Type && rs[i+1].ID == r.ID {
			continue
		}
		parents, err := encodeParents(r.Parents)
		if err != nil {
			return s.dbErr(err)
		}
		attrs, err := encodeAttrs(r.Attrs)
		if err != nil {
			return s.dbErr(err)
		}
		args = append(args, tenantID, r.Type, r.ID, parents, attrs, s.d.Time(r.UpdatedAt))
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		for i, n := range upsertChunks {
			for len(args) >= 6*n {
				_, err := s.exec(ctx, tx, upsertResources[i], args[:6*n]...)
				if s.violates(err, "resources_tenant_fkey") {
					return errTenantNotFound()
				}
				if err != nil {
					return err
				}
				args = args[6*n:]
			}
		}
		return nil
	})
}

// DeleteResource deletes tenantID's resource (typ, id).
func (s *Store) DeleteResource(ctx context.Context, tenantID, typ, id string) error {
	res, err := s.exec(ctx, s.write,
		`DELETE FROM resources WHERE tenant_id = ? AND type = ? AND id = ?`, tenantID, typ, id)
	return s.affectedOne(res, err, errResourceNotFound)
}

// GetResource returns tenantID's resource (typ, id).
func (s *Store) GetResource(ctx context.Context, tenantID, typ, id string) (policy.Resource, error) {
	return get(ctx, s, scanResource(tenantID), errResourceNotFound,
		`SELECT `+resourceCols+` FROM resources WHERE tenant_id = ? AND type = ? AND id = ?`, tenantID, typ, id)
}

// ListResources pages through tenantID's resources by (type, id), after
// the "type/id" in p.After. A p.Limit of 0 or less lists them all; a
// positive one is not clamped. Invalid "invalid_cursor" when p.After is
// neither "" nor holds a "/".
func (s *Store) ListResources(ctx context.Context, tenantID string, p cursor.Page) ([]policy.Resource, error) {
	q := `SELECT ` + resourceCols + ` FROM resources WHERE tenant_id = ?`
	args := []any{tenantID}
	if p.After != "" {
		typ, id, err := resourceCursor(p.After)
		if err != nil {
			return nil, err
		}
		// A row comparison, which the primary key's index serves; on
		// PostgreSQL the columns' COLLATE "C" applies to the parameters
		// too, and SQLite compares BINARY: both order bytewise.
		q += ` AND (type, id) > (?, ?)`
		args = append(args, typ, id)
	}
	q += ` ORDER BY type, id`
	if p.Limit > 0 {
		q += ` LIMIT ?`
		args = append(args, p.Limit)
	}
	return readAll(ctx, s, scanResource(tenantID), q, args...)
}

// CurrentPolicySet returns tenantID's latest policy version, or a
// PolicySet with only TenantID set (Version 0) when it has none, whether or
// not the tenant exists.
func (s *Store) CurrentPolicySet(ctx context.Context, tenantID string) (policy.PolicySet, error) {
	return s.currentText(ctx, "policy_sets", tenantID)
}

// PolicySetVersion returns version of tenantID's policies.
func (s *Store) PolicySetVersion(ctx context.Context, tenantID string, version int64) (policy.PolicySet, error) {
	return s.textVersion(ctx, "policy_sets", tenantID, version, errPolicyVersionNotFound)
}

// ListPolicySetVersions pages through tenantID's policy versions as
// listTextVersions does.
func (s *Store) ListPolicySetVersions(ctx context.Context, tenantID string, p cursor.Page) ([]policy.PolicySet, error) {
	return s.listTextVersions(ctx, "policy_sets", tenantID, p)
}

// AddPolicySet stores ps as version previous+1 of ps.TenantID's policies
// (ps.Version is ignored), after checking in the same transaction that
// previous is the current version. On SQLite the write transaction is
// IMMEDIATE on the one write connection, so no other writer runs between
// the check and the insert. On PostgreSQL, of two concurrent writers that
// both pass the check, the second blocks on the primary key until the
// first commits and then fails with a unique violation: Conflict
// "policy_version_conflict" either way. NotFound "tenant_not_found"
// outranks the conflict.
func (s *Store) AddPolicySet(ctx context.Context, ps policy.PolicySet, previous int64) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		var exists bool
		var current int64
		err := s.queryRow(ctx, tx,
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
			return errPolicyVersionConflict()
		}
		err = s.insertTextVersion(ctx, tx, "policy_sets", ps, previous+1)
		switch {
		case s.violates(err, "policy_sets_pkey"):
			return errPolicyVersionConflict()
		case s.violates(err, "policy_sets_tenant_fkey"):
			return errTenantNotFound()
		}
		return err
	})
}

// CountResources counts tenantID's registered resources.
func (s *Store) CountResources(ctx context.Context, tenantID string) (int, error) {
	return s.count(ctx, `SELECT count(*) FROM resources WHERE tenant_id = ?`, tenantID)
}
