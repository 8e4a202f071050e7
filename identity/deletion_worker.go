package identity

import (
	"context"
	"time"

	"github.com/tollgate/tollgate/audit"
	"github.com/tollgate/tollgate/event"
)

// Erasure runs in transactions of at most deletionBatch rows, so that a
// large tenant neither holds locks for long nor needs one huge
// transaction, under a lease that each batch extends: a worker that dies
// leaves the deletion to another once deletionLease has passed, and that
// one resumes at the recorded step.
const (
	deletionBatch = 500
	deletionLease = 2 * time.Minute
)

// EraseDue erases every tenant whose deletion is due, one after the other,
// until none is left or ctx ends. Every replica may run it: a claim leases
// one deletion to one worker.
func (s *Service) EraseDue(ctx context.Context) error {
	for ctx.Err() == nil {
		d, ok, err := s.store.ClaimTenantDeletion(ctx, s.timestamp(), deletionLease)
		if err != nil || !ok {
			return err
		}
		if err := s.erase(ctx, d); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// erase erases d's tenant batch by batch, then leaves its tombstone.
func (s *Service) erase(ctx context.Context, d TenantDeletion) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		_, done, err := s.store.EraseTenantBatch(ctx, d, s.timestamp(), deletionLease, deletionBatch)
		if err != nil {
			return err
		}
		if done {
			break
		}
	}
	now := s.timestamp()
	detail := map[string]string{"deletion": d.ID, "requested_by": d.RequestedBy}
	// The tenant's own stream ends with the deletion too, so that a
	// verifier of that stream alone sees why it stops.
	ctx = audit.Record(ctx,
		audit.Event{Action: audit.ActionTenantDeleted, TargetType: "tenant", TargetID: d.TenantID, Detail: detail},
		audit.Event{TenantID: d.TenantID, Action: audit.ActionTenantDeleted, TargetType: "tenant", TargetID: d.TenantID, Detail: detail})
	if err := s.store.FinishTenantDeletion(ctx, d, now); err != nil {
		return err
	}
	// Every replica drops what it holds of the tenant. It stays blocked:
	// its tombstone is not active.
	for _, kind := range []string{event.KindTenantSuspended, event.KindPolicyChanged, event.KindQuotasChanged,
		event.KindMetersChanged, event.KindTenantLimitsChanged} {
		e := event.Event{Kind: kind, ID: d.TenantID, At: now}
		if kind == event.KindPolicyChanged {
			e.Tenant = d.TenantID
		}
		s.notify.Notify(ctx, e)
	}
	return nil
}
