package storetest

import (
	"testing"
	"time"

	"github.com/tollgate/tollgate/audit"
	"github.com/tollgate/tollgate/fault"
)

// pruneSetup is tamperSetup's streams (t1: seq 1..10, events i ms after
// t0, digests through 4 and 10; t2: 3 events), then a retention run 400
// days after t0+6ms: t1, on the default, loses seq 1..6; t2 keeps
// everything through a retention of its own.
func pruneSetup(t *testing.T, b AuditBackend) audit.Keys {
	t.Helper()
	kr, keys := digestKeys(t, b.Store)
	dg := audit.NewDigester(b.Store, kr, audit.DigesterOptions{})
	for _, from := range []int{0, 4} {
		appendAudit(t, b.Store, auditEvents("t1", from, []int{4, 6}[from/4]), 3)
		if _, _, err := dg.DigestStream(t.Context(), "t1"); err != nil {
			t.Fatal(err)
		}
	}
	appendAudit(t, b.Store, auditEvents("t2", 0, 3), 3)
	must(t, b.Store.SetAuditRetention(t.Context(), "t2", 500, at(0)))
	now := at(6*time.Millisecond).AddDate(0, 0, audit.DefaultRetentionDays)
	p := audit.NewPruner(b.Store, kr, 0, func() time.Time { return now })
	check(t, "pruned", ok(p.PruneAll(t.Context()))(t), int64(6))
	check(t, "pruned again", ok(p.PruneAll(t.Context()))(t), int64(0))
	return keys
}

// testAuditRetentionPruneThenVerify: the rest of a pruned stream verifies
// from its signed anchor, with the digest after it; the other stream is
// whole.
func testAuditRetentionPruneThenVerify(t *testing.T, b AuditBackend) {
	keys := pruneSetup(t, b)
	r := verify(t, b.Store, "t1", keys)
	if r.Break != nil || r.From != 7 || r.Events != 5 || r.Pruned != 6 || r.Digests != 2 || r.Anchored != 10 {
		t.Fatalf("verify t1 after pruning: %s (%+v)", r, r)
	}
	wantVerified(t, verify(t, b.Store, "t2", keys), 3)
	kept := ok(b.Store.ReadAudit(t.Context(), "t1", 0, 10))(t)
	check(t, "first kept", kept[0].Seq, int64(7))
	// The prune is recorded in the stream it pruned, once.
	if last := kept[len(kept)-1]; len(kept) != 5 || last.Action != audit.ActionPrune || last.Detail["through_seq"] != "6" || last.ActorID != "" {
		t.Fatalf("after pruning: %d events, the last %+v", len(kept), last)
	}
	ds := ok(b.Store.ListAuditDigests(t.Context(), "t1", 0, 10))(t)
	if len(ds) != 2 || ds[0].Kind != audit.DigestPrune || ds[0].ThroughSeq != 6 || ds[1].Kind != audit.DigestHead {
		t.Fatalf("digests after pruning: %+v", ds)
	}
}

// testAuditRetentionOverrides: a tenant's own retention is stored,
// replaced and removed; out-of-range values are refused; SetRetention
// records the change in the tenant's stream.
func testAuditRetentionOverrides(t *testing.T, b AuditBackend) {
	ctx := t.Context()
	s := b.Store
	must(t, audit.SetRetention(ctx, s, "ta", 30, at(0)))
	if evs := readAll(t, s, "ta", 10); len(evs) != 1 || evs[0].Action != audit.ActionRetentionPut || evs[0].Detail["days"] != "30" {
		t.Fatalf("recorded: %+v", evs)
	}
	must(t, s.SetAuditRetention(ctx, "tb", 90, at(0)))
	must(t, s.SetAuditRetention(ctx, "ta", 60, at(time.Second)))
	check(t, "set", ok(s.AuditRetentions(ctx))(t), map[string]int{"ta": 60, "tb": 90})
	must(t, s.SetAuditRetention(ctx, "tb", 0, at(time.Second)))
	check(t, "removed", ok(s.AuditRetentions(ctx))(t), map[string]int{"ta": 60})
	for _, days := range []int{-1, audit.MaxRetentionDays + 1} {
		wantFault(t, s.SetAuditRetention(ctx, "ta", days, at(0)), fault.Invalid, audit.CodeRetentionInvalid)
	}
}

func testAuditRetentionTamperFirstKept(t *testing.T, b AuditBackend) {
	keys := pruneSetup(t, b)
	b.Exec(t, `DELETE FROM audit_events WHERE tenant_id = ? AND seq = ?`, "t1", 7)
	wantBreak(t, b, keys, 7, audit.BreakDeleted)
}

func testAuditRetentionTamperEditAfter(t *testing.T, b AuditBackend) {
	keys := pruneSetup(t, b)
	b.Exec(t, `UPDATE audit_events SET reason = ? WHERE tenant_id = ? AND seq = ?`, "otp", "t1", 8)
	wantBreak(t, b, keys, 8, audit.BreakEdited)
}

// Without its anchor, a pruned stream is a stream whose start was cut.
func testAuditRetentionTamperDropAnchor(t *testing.T, b AuditBackend) {
	keys := pruneSetup(t, b)
	b.Exec(t, `DELETE FROM audit_digests WHERE tenant_id = ? AND through_seq = ?`, "t1", 6)
	wantBreak(t, b, keys, 1, audit.BreakDeleted)
}

func testAuditRetentionTamperAnchorHash(t *testing.T, b AuditBackend) {
	keys := pruneSetup(t, b)
	b.Exec(t, `UPDATE audit_digests SET head_hash = (SELECT hash FROM audit_events WHERE tenant_id = ? AND seq = ?)
		WHERE tenant_id = ? AND through_seq = ?`, "t1", 8, "t1", 6)
	wantBreak(t, b, keys, 7, audit.BreakDigest)
}

// A periodic digest is no anchor: cutting a stream at one and calling it
// pruning is found.
func testAuditRetentionTamperFakePrune(t *testing.T, b AuditBackend) {
	keys := pruneSetup(t, b)
	b.Exec(t, `DELETE FROM audit_events WHERE tenant_id = ? AND seq <= ?`, "t1", 9)
	b.Exec(t, `DELETE FROM audit_digests WHERE tenant_id = ? AND through_seq < ?`, "t1", 10)
	b.Exec(t, `UPDATE audit_digests SET kind = ? WHERE tenant_id = ? AND through_seq = ?`, "prune", "t1", 10)
	wantBreak(t, b, keys, 11, audit.BreakDigest)
}
