package identity

import "github.com/tollgate/tollgate/fault"

// Error codes of tenant deletion; docs/errors.md describes each.
const (
	// CodeTenantDeletionNotFound: the tenant has no deletion to show or
	// cancel.
	CodeTenantDeletionNotFound fault.Code = "tenant_deletion_not_found"
	// CodeTenantDeletionPending: the tenant's deletion is scheduled; cancel
	// it before scheduling another or reactivating the tenant.
	CodeTenantDeletionPending fault.Code = "tenant_deletion_pending"
	// CodeTenantDeletionStarted: erasure has begun (or ended) and can no
	// longer be cancelled.
	CodeTenantDeletionStarted fault.Code = "tenant_deletion_started"
	// CodeDeletionConfirmMismatch: the request's confirm is not the
	// tenant's slug.
	CodeDeletionConfirmMismatch fault.Code = "deletion_confirm_mismatch"
	// CodeDeletionLeaseLost: an eraser's lease passed to another worker;
	// it stops (internal, never answered to a client).
	CodeDeletionLeaseLost fault.Code = "deletion_lease_lost"
)
