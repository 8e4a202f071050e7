package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"math"

	"github.com/tollgate/tollgate/cursor"
	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/policy"
)

// Tenants' schema extensions are stored as their policies are
// (policies.go): one row per version, the current one the greatest.

const schemaCols = `version, text, created_by, created_at`

func errSchemaVersionNotFound() error {
	return fault.NotFoundf(policy.CodeSchemaVersionNotFound, "schema version not found")
}

func errSchemaVersionConflict() error {
	return fault.Conflictf(policy.CodeSchemaVersionConflict, "the schema changed since the version this change was based on")
}

func scanSchema(tenantID string, withText bool) func(r scanner) (policy.SchemaVersion, error) {
	return func(r scanner) (policy.SchemaVersion, error) {
		sv := policy.SchemaVersion{TenantID: tenantID}
		dest := []any{&sv.Version, &sv.CreatedBy, at(&sv.CreatedAt)}
		if withText {
			dest = []any{&sv.Version, &sv.Text, &sv.CreatedBy, at(&sv.CreatedAt)}
		}
		if err := r.Scan(dest...); err != nil {
			return policy.SchemaVersion{}, err
		}
		return sv, nil
	}
}

// CurrentSchema returns tenantID's latest schema extension, or a
// SchemaVersion with only TenantID set (Version 0) when it has none,
// whether or not the tenant exists.
func (s *Store) CurrentSchema(ctx context.Context, tenantID string) (policy.SchemaVersion, error) {
	sv, err := scanSchema(tenantID, true)(s.queryRow(ctx, s.read,
		`SELECT `+schemaCols+` FROM schema_extensions WHERE tenant_id = ? ORDER BY version DESC LIMIT 1`, tenantID))
	if errors.Is(err, sql.ErrNoRows) {
		return policy.SchemaVersion{TenantID: tenantID}, nil
	}
	if err != nil {
		return policy.SchemaVersion{}, s.dbErr(err)
	}
	return sv, nil
}

// SchemaVersion returns version of tenantID's schema extension.
func (s *Store) SchemaVersion(ctx context.Context, tenantID string, version int64) (policy.SchemaVersion, error) {
	return get(ctx, s, scanSchema(tenantID, true), errSchemaVersionNotFound,
		`SELECT `+schemaCols+` FROM schema_extensions WHERE tenant_id = ? AND version = ?`, tenantID, version)
}

// ListSchemaVersions pages through tenantID's schema versions newest
// first, those before the decimal version in p.After, with Text left
// empty. Invalid "invalid_cursor" when p.After is neither "" nor a decimal
// integer.
func (s *Store) ListSchemaVersions(ctx context.Context, tenantID string, p cursor.Page) ([]policy.SchemaVersion, error) {
	p = p.Normalize()
	q := `SELECT version, created_by, created_at FROM schema_extensions WHERE tenant_id = ?`
	args := []any{tenantID}
	if p.After != "" {
		before, err := versionCursor(p.After)
		if err != nil {
			return nil, err
		}
		q += ` AND version < ?`
		args = append(args, before)
	}
	q += ` ORDER BY version DESC LIMIT ?`
	args = append(args, p.Limit)
	return readAll(ctx, s, scanSchema(tenantID, false), q, args...)
}

// AddSchema stores sv as version previous+1 of sv.TenantID's schema
// extension (sv.Version is ignored), after checking in the same
// transaction that previous is the current schema version and policies
// the current policy version. Concurrency is as in AddPolicySet: SQLite's
// one IMMEDIATE writer, PostgreSQL's primary key. A policy write that
// commits between the check and this commit on PostgreSQL is not seen;
// the snapshot build then fails closed (docs/policy.md).
func (s *Store) AddSchema(ctx context.Context, sv policy.SchemaVersion, previous, policies int64) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		var exists bool
		var current, currentPolicies int64
		err := s.queryRow(ctx, tx,
			`SELECT EXISTS (SELECT 1 FROM tenants WHERE id = ?),
			        (SELECT coalesce(max(version), 0) FROM schema_extensions WHERE tenant_id = ?),
			        (SELECT coalesce(max(version), 0) FROM policy_sets WHERE tenant_id = ?)`,
			sv.TenantID, sv.TenantID, sv.TenantID).Scan(&exists, &current, &currentPolicies)
		if err != nil {
			return err
		}
		if !exists {
			return errTenantNotFound()
		}
		if current != previous || previous == math.MaxInt64 {
			return errSchemaVersionConflict()
		}
		if currentPolicies != policies {
			return errPolicyVersionConflict()
		}
		_, err = s.exec(ctx, tx,
			`INSERT INTO schema_extensions (tenant_id, `+schemaCols+`) VALUES (?, ?, ?, ?, ?)`,
			sv.TenantID, previous+1, sv.Text, sv.CreatedBy, s.d.Time(sv.CreatedAt))
		switch {
		case s.violates(err, "schema_extensions_pkey"):
			return errSchemaVersionConflict()
		case s.violates(err, "schema_extensions_tenant_fkey"):
			return errTenantNotFound()
		}
		return err
	})
}
