package identity

import (
	"context"
	"errors"
	"time"

	"github.com/tollgate/tollgate/audit"
	"github.com/tollgate/tollgate/event"
	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/ids"
)

// TenantDeleted is the status of a deleted tenant's tombstone: the row
// stays, emptied, so that its audit stream keeps a name and every
// credential that names it stays blocked (the block lists hold every tenant
// that is not active).
const TenantDeleted TenantStatus = "deleted"

// DeletionStatus is where a tenant's deletion is.
type DeletionStatus string

const (
	// DeletionPending: scheduled, in its grace period or waiting for a
	// worker; it may still be cancelled.
	DeletionPending DeletionStatus = "pending"
	// DeletionRunning: a worker is erasing the tenant; too late to cancel.
	DeletionRunning DeletionStatus = "running"
	// DeletionDone: the tenant is erased.
	DeletionDone DeletionStatus = "done"
	// DeletionCancelled: a platform admin cancelled it during the grace
	// period.
	DeletionCancelled DeletionStatus = "cancelled"
)

// DefaultDeletionGrace is how long a scheduled deletion waits when the
// operator sets no tenant_deletion_grace.
const DefaultDeletionGrace = 7 * 24 * time.Hour

// TenantDeletion is a platform admin's request to delete a tenant.
type TenantDeletion struct {
	// ID is the deletion's own id, answered to the admin as its receipt.
	ID          string
	TenantID    string
	Status      DeletionStatus
	RequestedBy string
	RequestedAt time.Time
	// DeleteAfter ends the grace period: erasure starts no earlier.
	DeleteAfter time.Time
	CancelledBy string
	// Attempts counts the workers that claimed it; it fences their
	// batches.
	Attempts int
	// Step is the index of the erasure step in progress; Erased the rows
	// erased so far.
	Step       int
	Erased     int64
	FinishedAt *time.Time // nil until done
	UpdatedAt  time.Time
}

// DeletionStore persists tenant deletions and erases tenants. Every
// method is scoped by tenant id.
type DeletionStore interface {
	// ScheduleTenantDeletion writes d (pending) and suspends its tenant
	// unless it already is, in one transaction. A cancelled deletion of
	// the tenant is replaced. Conflict "tenant_deletion_pending" when one
	// is pending or running; NotFound "tenant_not_found" when the tenant
	// does not exist or is deleted.
	ScheduleTenantDeletion(ctx context.Context, d TenantDeletion) error
	// GetTenantDeletion: NotFound "tenant_deletion_not_found".
	GetTenantDeletion(ctx context.Context, tenantID string) (TenantDeletion, error)
	// CancelTenantDeletion marks a pending deletion cancelled and returns
	// it. NotFound "tenant_deletion_not_found" when there is none (or it is
	// already cancelled); Conflict "tenant_deletion_started" when a worker
	// has claimed it or it is done.
	CancelTenantDeletion(ctx context.Context, tenantID, by string, at time.Time) (TenantDeletion, error)
	// ClaimTenantDeletion leases one due deletion (pending or running,
	// DeleteAfter reached, lease free) until now+lease: it becomes running
	// and its Attempts grows by one. Workers on other replicas skip a
	// claimed row. ok is false when none is due.
	ClaimTenantDeletion(ctx context.Context, now time.Time, lease time.Duration) (d TenantDeletion, ok bool, err error)
	// EraseTenantBatch erases at most limit rows of d's tenant, in one
	// transaction that also extends the lease to now+lease and records the
	// progress. done reports that nothing is left to erase. Conflict
	// "deletion_lease_lost" when d.Attempts no longer matches: another
	// worker claimed it.
	EraseTenantBatch(ctx context.Context, d TenantDeletion, now time.Time, lease time.Duration, limit int) (erased int, done bool, err error)
	// FinishTenantDeletion turns the tenant into its tombstone (status
	// deleted, empty name, slug "deleted-<id>") and marks d done, fenced
	// as EraseTenantBatch is.
	FinishTenantDeletion(ctx context.Context, d TenantDeletion, at time.Time) error
}

// requirePlatformAdmin refuses callers other than a platform admin's own
// session: deleting a tenant is the platform's act, not the tenant's.
func (s *Service) requirePlatformAdmin(ctx context.Context, c Caller) error {
	if !s.isPlatformAdmin(ctx, c) {
		return fault.Forbiddenf(CodePlatformAdminRequired, "deleting a tenant needs a platform admin's own session")
	}
	return nil
}

// liveTenant returns a tenant that exists and is not deleted.
func (s *Service) liveTenant(ctx context.Context, tenantID string) (Tenant, error) {
	if !ids.Valid(tenantID) {
		return Tenant{}, errTenantNotFound()
	}
	t, err := s.store.GetTenant(ctx, tenantID)
	switch {
	case errors.Is(err, fault.ErrNotFound) || err == nil && t.Status == TenantDeleted:
		return Tenant{}, errTenantNotFound()
	case err != nil:
		return Tenant{}, err
	}
	return t, nil
}

// ScheduleTenantDeletion schedules tenantID's deletion after the grace
// period, suspending the tenant now if it is active. confirm must repeat
// the tenant's slug: a request naming the wrong tenant by id fails.
func (s *Service) ScheduleTenantDeletion(ctx context.Context, c Caller, tenantID, confirm string) (TenantDeletion, error) {
	if err := s.requirePlatformAdmin(ctx, c); err != nil {
		return TenantDeletion{}, err
	}
	t, err := s.liveTenant(ctx, tenantID)
	if err != nil {
		return TenantDeletion{}, err
	}
	if confirm != t.Slug {
		return TenantDeletion{}, fault.Invalidf("confirm", CodeDeletionConfirmMismatch, "confirm must be the tenant's slug")
	}
	now := s.timestamp()
	d := TenantDeletion{
		ID: ids.NewAt(now), TenantID: t.ID, Status: DeletionPending, RequestedBy: c.ActorID,
		RequestedAt: now, DeleteAfter: now.Add(s.opts.DeletionGrace), UpdatedAt: now,
	}
	events := []audit.Event{{Action: audit.ActionTenantDeletionScheduled, TargetType: "tenant", TargetID: t.ID,
		Detail: map[string]string{"deletion": d.ID, "delete_after": d.DeleteAfter.Format(time.RFC3339)}}}
	suspending := t.Status == TenantActive
	if suspending {
		events = append(events, audit.Event{TenantID: t.ID, Action: audit.ActionTenantSuspend, TargetType: "tenant", TargetID: t.ID,
			Detail: map[string]string{"status": string(TenantSuspended), "mfa": string(t.MFA), "deletion": d.ID}})
	}
	ctx = audit.Record(ctx, events...)
	if err := s.store.ScheduleTenantDeletion(ctx, d); err != nil {
		return TenantDeletion{}, err
	}
	if suspending {
		s.notify.Notify(ctx, event.Event{Kind: event.KindTenantSuspended, ID: t.ID, At: now})
	}
	return d, nil
}

// GetTenantDeletion shows a tenant's deletion, finished ones included.
func (s *Service) GetTenantDeletion(ctx context.Context, c Caller, tenantID string) (TenantDeletion, error) {
	if err := s.requirePlatformAdmin(ctx, c); err != nil {
		return TenantDeletion{}, err
	}
	if !ids.Valid(tenantID) {
		return TenantDeletion{}, errTenantNotFound()
	}
	if _, err := s.store.GetTenant(ctx, tenantID); err != nil {
		if errors.Is(err, fault.ErrNotFound) {
			return TenantDeletion{}, errTenantNotFound()
		}
		return TenantDeletion{}, err
	}
	return s.store.GetTenantDeletion(ctx, tenantID)
}

// CancelTenantDeletion cancels a pending deletion. The tenant stays
// suspended: reactivating it is a separate, deliberate act.
func (s *Service) CancelTenantDeletion(ctx context.Context, c Caller, tenantID string) (TenantDeletion, error) {
	if err := s.requirePlatformAdmin(ctx, c); err != nil {
		return TenantDeletion{}, err
	}
	if _, err := s.liveTenant(ctx, tenantID); err != nil {
		return TenantDeletion{}, err
	}
	ctx = audit.Record(ctx, audit.Event{Action: audit.ActionTenantDeletionCancelled, TargetType: "tenant", TargetID: tenantID})
	return s.store.CancelTenantDeletion(ctx, tenantID, c.ActorID, s.timestamp())
}

// refuseReactivation stops a platform admin from lifting the suspension of
// a tenant whose deletion is scheduled: the erasure would run on an active
// tenant.
func (s *Service) refuseReactivation(ctx context.Context, tenantID string) error {
	d, err := s.store.GetTenantDeletion(ctx, tenantID)
	switch {
	case errors.Is(err, fault.ErrNotFound):
		return nil
	case err != nil:
		return err
	case d.Status == DeletionPending || d.Status == DeletionRunning:
		return fault.Conflictf(CodeTenantDeletionPending, "the tenant's deletion is scheduled; cancel it first")
	}
	return nil
}
