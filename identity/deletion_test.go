package identity_test

import (
	"testing"
	"time"

	"github.com/tollgate/tollgate/audit"
	"github.com/tollgate/tollgate/event"
	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/identity"
)

const grace = time.Hour

func newDeletionWorld(t *testing.T) *world {
	t.Helper()
	return newWorldWith(t, identity.Options{DeletionGrace: grace})
}

// TestScheduleTenantDeletionRights: only a platform admin's own session
// schedules, with the tenant's slug as confirmation; nobody else learns
// more than before.
func TestScheduleTenantDeletionRights(t *testing.T) {
	w := newDeletionWorld(t)
	for _, tc := range []struct {
		name    string
		caller  identity.Caller
		tenant  string
		confirm string
		kind    fault.Kind
		code    string
	}{
		{"the tenant's owner", w.as(w.owner), w.tenantA.ID, "tenant-a", fault.Forbidden, "platform_admin_required"},
		{"a stranger", w.as(w.stranger), w.tenantA.ID, "tenant-a", fault.Forbidden, "platform_admin_required"},
		{"a platform admin's API key", bounded(w.root, w.tenantA.ID, identity.PermTenantWrite), w.tenantA.ID, "tenant-a", fault.Forbidden, "platform_admin_required"},
		{"a malformed id", w.as(w.root), "not-an-id", "tenant-a", fault.NotFound, "tenant_not_found"},
		{"an unknown tenant", w.as(w.root), missingTenant, "tenant-a", fault.NotFound, "tenant_not_found"},
		{"another tenant's slug", w.as(w.root), w.tenantA.ID, "tenant-b", fault.Invalid, "deletion_confirm_mismatch"},
		{"no confirmation", w.as(w.root), w.tenantA.ID, "", fault.Invalid, "deletion_confirm_mismatch"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := w.svc.ScheduleTenantDeletion(w.ctx, tc.caller, tc.tenant, tc.confirm)
			want(t, err, tc.kind, tc.code)
		})
	}
	if tn, err := w.st.GetTenant(w.ctx, w.tenantA.ID); err != nil || tn.Status != identity.TenantActive {
		t.Fatalf("after refusals: %+v, %v", tn, err)
	}
	wantEvents(t, w.events.Take())
}

// TestScheduleSuspendsAndCancelKeepsSuspended: scheduling suspends an
// active tenant at once; cancelling leaves it suspended; reactivating
// waits for the cancellation.
func TestScheduleSuspendsAndCancelKeepsSuspended(t *testing.T) {
	w := newDeletionWorld(t)
	root := w.as(w.root)
	d, err := w.svc.ScheduleTenantDeletion(w.ctx, root, w.tenantA.ID, "tenant-a")
	mustOK(t, err)
	if d.Status != identity.DeletionPending || !d.DeleteAfter.Equal(d.RequestedAt.Add(grace)) || d.RequestedBy != w.root.ActorID() || d.ID == "" {
		t.Fatalf("deletion = %+v", d)
	}
	wantEvents(t, w.events.Take(), ev(event.KindTenantSuspended, w.tenantA.ID))
	_, err = w.svc.GetTenant(w.ctx, w.as(w.owner), w.tenantA.ID)
	want(t, err, fault.Forbidden, "tenant_suspended")
	_, err = w.svc.ScheduleTenantDeletion(w.ctx, root, w.tenantA.ID, "tenant-a")
	want(t, err, fault.Conflict, "tenant_deletion_pending")

	active := identity.TenantActive
	_, err = w.svc.UpdateTenant(w.ctx, root, w.tenantA.ID, identity.TenantPatch{Status: &active})
	want(t, err, fault.Conflict, "tenant_deletion_pending")

	_, err = w.svc.CancelTenantDeletion(w.ctx, w.as(w.owner), w.tenantA.ID)
	want(t, err, fault.Forbidden, "platform_admin_required")
	c, err := w.svc.CancelTenantDeletion(w.ctx, root, w.tenantA.ID)
	mustOK(t, err)
	if c.Status != identity.DeletionCancelled || c.CancelledBy != w.root.ActorID() {
		t.Fatalf("cancelled = %+v", c)
	}
	got, err := w.svc.GetTenantDeletion(w.ctx, root, w.tenantA.ID)
	mustOK(t, err)
	if got.Status != identity.DeletionCancelled {
		t.Fatalf("get = %+v", got)
	}
	_, err = w.svc.UpdateTenant(w.ctx, root, w.tenantA.ID, identity.TenantPatch{Status: &active})
	mustOK(t, err)

	// Nothing is erased after the grace period of a cancelled deletion.
	w.clock.Advance(2 * grace)
	mustOK(t, w.svc.EraseDue(w.ctx))
	if _, err := w.st.GetUser(w.ctx, w.owner.ID); err != nil {
		t.Fatalf("owner after a cancelled deletion: %v", err)
	}
}

// TestEraseDue: nothing happens in the grace period; then the tenant is
// erased, its people who belong nowhere else with it, every replica is
// told, and its audit chain still verifies.
func TestEraseDue(t *testing.T) {
	w := newDeletionWorld(t)
	w.join(w.tenantB.ID, w.member, identity.RoleMember)
	root := w.as(w.root)
	_, err := w.svc.ScheduleTenantDeletion(w.ctx, root, w.tenantA.ID, "tenant-a")
	mustOK(t, err)
	w.events.Take()

	w.clock.Advance(grace - time.Second)
	mustOK(t, w.svc.EraseDue(w.ctx))
	if _, err := w.st.GetUser(w.ctx, w.owner.ID); err != nil {
		t.Fatalf("erased in the grace period: %v", err)
	}
	w.clock.Advance(time.Second)
	mustOK(t, w.svc.EraseDue(w.ctx))

	a := w.tenantA.ID
	wantEvents(t, w.events.Take(), ev(event.KindTenantSuspended, a), evIn(event.KindPolicyChanged, a, a),
		ev(event.KindQuotasChanged, a), ev(event.KindMetersChanged, a), ev(event.KindTenantLimitsChanged, a))
	for _, u := range []identity.User{w.owner, w.admin} {
		_, err := w.st.GetUser(w.ctx, u.ID)
		want(t, err, fault.NotFound, "user_not_found")
	}
	for _, u := range []identity.User{w.member, w.root, w.outB} {
		if _, err := w.st.GetUser(w.ctx, u.ID); err != nil {
			t.Fatalf("%s: %v", u.Email, err)
		}
	}
	// The tombstone is nobody's to see, a platform admin's included; the
	// deletion's record stays for them.
	_, err = w.svc.GetTenant(w.ctx, root, a)
	want(t, err, fault.NotFound, "tenant_not_found")
	_, err = w.svc.ScheduleTenantDeletion(w.ctx, root, a, "tenant-a")
	want(t, err, fault.NotFound, "tenant_not_found")
	d, err := w.svc.GetTenantDeletion(w.ctx, root, a)
	mustOK(t, err)
	if d.Status != identity.DeletionDone || d.FinishedAt == nil {
		t.Fatalf("deletion = %+v", d)
	}
	_, err = w.svc.CancelTenantDeletion(w.ctx, root, a)
	want(t, err, fault.NotFound, "tenant_not_found")
	// The slug can be taken again.
	if _, err := w.svc.CreateTenant(w.ctx, w.outB.ActorID(), identity.NewTenant{Slug: "tenant-a"}); err != nil {
		t.Fatalf("reusing the slug: %v", err)
	}

	for _, stream := range []string{a, ""} {
		r, err := audit.Verify(w.ctx, w.st, stream, audit.VerifyOptions{})
		if err != nil || r.Err() != nil {
			t.Fatalf("verify %q: %v, %v", stream, err, r)
		}
		evs, err := w.st.ReadAudit(w.ctx, stream, r.Events-1, 1)
		if err != nil || len(evs) != 1 || evs[0].Action != audit.ActionTenantDeleted || evs[0].TargetID != a {
			t.Fatalf("last event of %q: %+v, %v", stream, evs, err)
		}
	}
}

func mustOK(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
}
