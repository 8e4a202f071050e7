package storetest

import (
	"testing"

	"github.com/tollgate/tollgate/audit"
	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/identity"
)

// The transactional outbox: events recorded in a context (audit.Record)
// are written by the next write made with it, in its transaction.

func outboxEvent(tenantID, action string) audit.Event {
	return audit.Event{TenantID: tenantID, ActorID: "user:owner", Action: action, TargetType: "tenant", TargetID: tenantID}
}

// testAuditOutboxCommitsWithTheAct: a transaction (CreateTenant) and a
// single statement (UpdateTenant) each carry their act's event.
func testAuditOutboxCommitsWithTheAct(t *testing.T, b AuditBackend) {
	s := b.Store
	ctx := audit.Record(t.Context(), outboxEvent("ta", "tenant.create"))
	must(t, s.CreateTenant(ctx, tenant("ta", "slug-ta"), membership("ta", "user:owner", identity.RoleOwner)))
	if audit.Pending(ctx) {
		t.Fatal("the write left its events pending")
	}
	tn := tenant("ta", "slug-ta")
	tn.Name = "Renamed"
	must(t, s.UpdateTenant(audit.Record(t.Context(), outboxEvent("ta", "tenant.update")), tn))
	// A write without events records nothing.
	must(t, s.UpdateTenant(t.Context(), tn))

	evs, err := s.ReadAudit(t.Context(), "ta", 0, 10)
	must(t, err)
	if len(evs) != 2 || evs[0].Action != "tenant.create" || evs[1].Action != "tenant.update" || evs[1].Seq != 2 {
		t.Fatalf("stream %+v", evs)
	}
}

// testAuditOutboxFailedActRecordsNothing: a write that fails rolls its
// events back with it and hands them back, so that a retry records them.
func testAuditOutboxFailedActRecordsNothing(t *testing.T, b AuditBackend) {
	s := b.Store
	newTenant(t, s, "ta", "user:owner")
	ctx := audit.Record(t.Context(), outboxEvent("tb", "tenant.create"))
	// The slug is taken: the act fails.
	err := s.CreateTenant(ctx, tenant("tb", "slug-ta"), membership("tb", "user:owner", identity.RoleOwner))
	if fault.KindOf(err) != fault.Conflict {
		t.Fatalf("creating a tenant with a taken slug: %v", err)
	}
	evs, err := s.ReadAudit(t.Context(), "tb", 0, 10)
	must(t, err)
	if len(evs) != 0 {
		t.Fatalf("a failed act recorded %+v", evs)
	}
	if !audit.Pending(ctx) {
		t.Fatal("a failed write did not hand its events back")
	}
	must(t, s.CreateTenant(ctx, tenant("tb", "slug-tb"), membership("tb", "user:owner", identity.RoleOwner)))
	if evs, err = s.ReadAudit(t.Context(), "tb", 0, 10); err != nil || len(evs) != 1 {
		t.Fatalf("the retry recorded %+v, %v", evs, err)
	}
}

// testAuditOutboxInvalidEventFailsTheAct: an event the log refuses fails
// the act rather than letting it go unrecorded.
func testAuditOutboxInvalidEventFailsTheAct(t *testing.T, b AuditBackend) {
	s := b.Store
	bad := outboxEvent("ta", "Not An Action")
	err := s.CreateTenant(audit.Record(t.Context(), bad), tenant("ta", "slug-ta"), membership("ta", "user:owner", identity.RoleOwner))
	if fault.KindOf(err) != fault.Invalid {
		t.Fatalf("an act with an invalid event: %v", err)
	}
	if _, err := s.GetTenant(t.Context(), "ta"); fault.KindOf(err) != fault.NotFound {
		t.Fatalf("the act happened anyway: %v", err)
	}
}
