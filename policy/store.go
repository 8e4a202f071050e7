package policy

import (
	"context"

	"github.com/tollgate/tollgate/cursor"
)

// Store persists registered resources and the versions of tenants' own
// policies. Every method is scoped by tenant.
type Store interface {
	// PutResources inserts or replaces resources (all of one tenant)
	// atomically: all of them or none. UpdatedAt is stored as given.
	// NotFound "tenant_not_found" when the tenant does not exist.
	PutResources(ctx context.Context, tenantID string, rs []Resource) error
	// CountResources counts tenantID's registered resources.
	CountResources(ctx context.Context, tenantID string) (int, error)
	// DeleteResource removes one resource. NotFound "resource_not_found".
	DeleteResource(ctx context.Context, tenantID, typ, id string) error
	// GetResource returns one resource. NotFound "resource_not_found".
	GetResource(ctx context.Context, tenantID, typ, id string) (Resource, error)
	// ListResources returns the tenant's resources ordered by (type, id),
	// after the (type, id) in p.After (encoded "type/id", "" for the
	// start), at most p.Limit (0: all of them, for building a snapshot).
	ListResources(ctx context.Context, tenantID string, p cursor.Page) ([]Resource, error)

	// CurrentPolicySet returns the tenant's latest policy version, or a
	// zero PolicySet (Version 0) when it has none.
	CurrentPolicySet(ctx context.Context, tenantID string) (PolicySet, error)
	// PolicySetVersion returns one version. NotFound
	// "policy_version_not_found".
	PolicySetVersion(ctx context.Context, tenantID string, version int64) (PolicySet, error)
	// ListPolicySetVersions lists versions newest first, before
	// p.After (a version number as decimal text, "" for the newest), at
	// most p.Limit; Text is left empty.
	ListPolicySetVersions(ctx context.Context, tenantID string, p cursor.Page) ([]PolicySet, error)
	// AddPolicySet stores ps as version previous+1, where previous must be
	// the tenant's current version (0 when none): Conflict
	// "policy_version_conflict" when another change came first. NotFound
	// "tenant_not_found" when the tenant does not exist.
	AddPolicySet(ctx context.Context, ps PolicySet, previous int64) error

	// CurrentSchema returns the tenant's latest schema extension version,
	// or a zero SchemaVersion (Version 0) when it has none.
	CurrentSchema(ctx context.Context, tenantID string) (SchemaVersion, error)
	// SchemaVersion returns one version. NotFound
	// "schema_version_not_found".
	SchemaVersion(ctx context.Context, tenantID string, version int64) (SchemaVersion, error)
	// ListSchemaVersions lists versions newest first, before p.After (a
	// version number as decimal text, "" for the newest), at most
	// p.Limit; Text is left empty.
	ListSchemaVersions(ctx context.Context, tenantID string, p cursor.Page) ([]SchemaVersion, error)
	// AddSchema stores sv as version previous+1, where previous must be
	// the tenant's current schema version (0 when none) and policies its
	// current policy version, both checked in the write's transaction, so
	// that the policies checked against the new schema are the ones it
	// goes live with: Conflict "schema_version_conflict" or
	// "policy_version_conflict" when another change came first. NotFound
	// "tenant_not_found" when the tenant does not exist.
	AddSchema(ctx context.Context, sv SchemaVersion, previous, policies int64) error
}
