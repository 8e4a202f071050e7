package sqlstore

import (
	"context"
	"database/sql"
	"math"

	"github.com/tollgate/tollgate/cursor"
	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/policy"
)

// Tenants' schema extensions are stored as their policies are
// (policies.go): one row per version, the current one the greatest.

func errSchemaVersionNotFound() error {
	return fault.NotFoundf(policy.CodeSchemaVersionNotFound, "schema version not found")
}

func errSchemaVersionConflict() error {
	return fault.Conflictf(policy.CodeSchemaVersionConflict, "the schema changed since the version this change was based on")
}

// CurrentSchema returns tenantID's latest schema extension, or a
// SchemaVersion with only TenantID set (Version 0) when it has none,
// whether or not the tenant exists.
func (s *Store) CurrentSchema(ctx context.Context, tenantID string) (policy.SchemaVersion, error) {
	v, err := s.currentText(ctx, "schema_extensions", tenantID)
	return policy.SchemaVersion(v), err
}

// SchemaVersion returns version of tenantID's schema extension.
func (s *Store) SchemaVersion(ctx context.Context, tenantID string, version int64) (policy.SchemaVersion, error) {
	v, err := s.textVersion(ctx, "schema_extensions", tenantID, version, errSchemaVersionNotFound)
	return policy.SchemaVersion(v), err
}

// ListSchemaVersions pages through tenantID's schema versions as
// listTextVersions does.
func (s *Store) ListSchemaVersions(ctx context.Context, tenantID string, p cursor.Page) ([]policy.SchemaVersion, error) {
	vs, err := s.listTextVersions(ctx, "schema_extensions", tenantID, p)
	out := make([]policy.SchemaVersion, len(vs))
	for i, v := range vs {
		out[i] = policy.SchemaVersion(v)
	}
	return out, err
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
		err = s.insertTextVersion(ctx, tx, "schema_extensions", policy.PolicySet(sv), previous+1)
		switch {
		case s.violates(err, "schema_extensions_pkey"):
			return errSchemaVersionConflict()
		case s.violates(err, "schema_extensions_tenant_fkey"):
			return errTenantNotFound()
		}
		return err
	})
}
