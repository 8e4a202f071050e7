package storetest

import (
	"testing"
	"time"

	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/store"
)

func deletionTests() []test {
	return []test{
		{"ScheduleSuspendsAndCancels", testDeletionScheduleAndCancel},
		{"ClaimLeasesAndFences", testDeletionClaimLeasesAndFences},
		{"EraseTenant", testDeletionErase},
		{"EraseResumesAfterLostLease", testDeletionResumes},
	}
}

// deletion is tenantID's pending deletion, due grace after t0.
func deletion(tenantID string, grace time.Duration) identity.TenantDeletion {
	return identity.TenantDeletion{ID: "del-" + tenantID, TenantID: tenantID, Status: identity.DeletionPending,
		RequestedBy: "user:root", RequestedAt: at(0), DeleteAfter: at(grace), UpdatedAt: at(0)}
}

// testDeletionScheduleAndCancel: scheduling suspends the tenant and is
// refused while pending; a cancelled deletion can be scheduled again.
func testDeletionScheduleAndCancel(t *testing.T, s store.Store) {
	ctx := t.Context()
	newTenant(t, s, "ta", "user:owner")
	wantNotFound(t, s.ScheduleTenantDeletion(ctx, deletion("nope", time.Hour)), identity.CodeTenantNotFound)
	_, err := s.CancelTenantDeletion(ctx, "ta", "user:root", at(0))
	wantNotFound(t, err, identity.CodeTenantDeletionNotFound)
	_, err = s.GetTenantDeletion(ctx, "ta")
	wantNotFound(t, err, identity.CodeTenantDeletionNotFound)

	must(t, s.ScheduleTenantDeletion(ctx, deletion("ta", time.Hour)))
	if tn := ok(s.GetTenant(ctx, "ta"))(t); tn.Status != identity.TenantSuspended {
		t.Fatalf("tenant status after scheduling = %q, want suspended", tn.Status)
	}
	got := ok(s.GetTenantDeletion(ctx, "ta"))(t)
	if got.ID != "del-ta" || got.Status != identity.DeletionPending || !got.DeleteAfter.Equal(us(at(time.Hour))) || got.RequestedBy != "user:root" {
		t.Fatalf("deletion = %+v", got)
	}
	wantConflict(t, s.ScheduleTenantDeletion(ctx, deletion("ta", time.Minute)), identity.CodeTenantDeletionPending)

	c := ok(s.CancelTenantDeletion(ctx, "ta", "user:root2", at(time.Minute)))(t)
	if c.Status != identity.DeletionCancelled || c.CancelledBy != "user:root2" {
		t.Fatalf("cancelled = %+v", c)
	}
	_, err = s.CancelTenantDeletion(ctx, "ta", "user:root", at(0))
	wantNotFound(t, err, identity.CodeTenantDeletionNotFound)
	// Cancelling leaves the tenant suspended.
	if tn := ok(s.GetTenant(ctx, "ta"))(t); tn.Status != identity.TenantSuspended {
		t.Fatalf("tenant status after cancelling = %q, want suspended", tn.Status)
	}
	again := deletion("ta", 2*time.Hour)
	again.ID = "del-ta-2"
	must(t, s.ScheduleTenantDeletion(ctx, again))
	if got := ok(s.GetTenantDeletion(ctx, "ta"))(t); got.ID != "del-ta-2" || got.Status != identity.DeletionPending || got.CancelledBy != "" {
		t.Fatalf("rescheduled = %+v", got)
	}
}

// testDeletionClaimLeasesAndFences: only a due deletion is claimed, by one
// worker at a time; a worker whose lease passed to another is fenced off,
// and a claimed deletion can no longer be cancelled.
func testDeletionClaimLeasesAndFences(t *testing.T, s store.Store) {
	ctx := t.Context()
	newTenant(t, s, "ta", "user:owner")
	must(t, s.ScheduleTenantDeletion(ctx, deletion("ta", time.Hour)))
	if _, found := ok2(s.ClaimTenantDeletion(ctx, at(time.Minute), time.Minute))(t); found {
		t.Fatal("claimed a deletion in its grace period")
	}
	first, found := ok2(s.ClaimTenantDeletion(ctx, at(time.Hour), time.Minute))(t)
	if !found || first.Status != identity.DeletionRunning || first.Attempts != 1 {
		t.Fatalf("first claim = %+v, %v", first, found)
	}
	if _, found := ok2(s.ClaimTenantDeletion(ctx, at(time.Hour+30*time.Second), time.Minute))(t); found {
		t.Fatal("claimed a leased deletion")
	}
	_, err := s.CancelTenantDeletion(ctx, "ta", "user:root", at(time.Hour))
	wantConflict(t, err, identity.CodeTenantDeletionStarted)

	second, found := ok2(s.ClaimTenantDeletion(ctx, at(time.Hour+2*time.Minute), time.Minute))(t)
	if !found || second.Attempts != 2 {
		t.Fatalf("claim after the lease = %+v, %v", second, found)
	}
	_, _, err = s.EraseTenantBatch(ctx, first, at(time.Hour+2*time.Minute), time.Minute, 10)
	wantConflict(t, err, identity.CodeDeletionLeaseLost)
	wantConflict(t, s.FinishTenantDeletion(ctx, first, at(time.Hour+2*time.Minute)), identity.CodeDeletionLeaseLost)
	if _, _, err := s.EraseTenantBatch(ctx, second, at(time.Hour+2*time.Minute), time.Minute, 10); err != nil {
		t.Fatalf("the holder's batch: %v", err)
	}
}

// ok2 is ok for a deletion claim.
func ok2(d identity.TenantDeletion, found bool, err error) func(t *testing.T) (identity.TenantDeletion, bool) {
	return func(t *testing.T) (identity.TenantDeletion, bool) {
		t.Helper()
		must(t, err)
		return d, found
	}
}
