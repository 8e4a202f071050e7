package storetest

import (
	"testing"

	"github.com/tollgate/tollgate/audit"
)

// The tamper cases change rows directly in the database, as someone with
// write access to it could, and check that verify names the first broken
// link. Each starts from tamperSetup: t1 holds seq 1..10 with signed
// digests through 4 and through 10; t2 holds 3 events that must keep
// verifying whatever is done to t1.

func tamperSetup(t *testing.T, b AuditBackend) ([]audit.Event, audit.Keys) {
	t.Helper()
	kr, keys := digestKeys(t, b.Store)
	dg := audit.NewDigester(b.Store, kr, audit.DigesterOptions{})
	all := appendAudit(t, b.Store, auditEvents("t1", 0, 4), 4)
	if _, stored, err := dg.DigestStream(t.Context(), "t1"); err != nil || !stored {
		t.Fatalf("digest: %v %v", stored, err)
	}
	all = append(all, appendAudit(t, b.Store, auditEvents("t1", 4, 6), 3)...)
	if _, stored, err := dg.DigestStream(t.Context(), "t1"); err != nil || !stored {
		t.Fatalf("digest: %v %v", stored, err)
	}
	appendAudit(t, b.Store, auditEvents("t2", 0, 3), 3)
	wantVerified(t, verify(t, b.Store, "t1", keys), 10)
	return all, keys
}

// wantBreak checks that t1's first broken link is at seq with kind, and
// that t2 is untouched.
func wantBreak(t *testing.T, b AuditBackend, keys audit.Keys, seq int64, kind audit.BreakKind) {
	t.Helper()
	r := verify(t, b.Store, "t1", keys)
	if r.Break == nil || r.Break.Seq != seq || r.Break.Kind != kind {
		t.Fatalf("verify t1: %s; want a break at seq %d: %s", r, seq, kind)
	}
	if r.Err() == nil {
		t.Errorf("Report.Err of a broken chain is nil")
	}
	wantVerified(t, verify(t, b.Store, "t2", keys), 3)
}

func testAuditTamperEdit(t *testing.T, b AuditBackend) {
	_, keys := tamperSetup(t, b)
	b.Exec(t, `UPDATE audit_events SET reason = ? WHERE tenant_id = ? AND seq = ?`, "otp", "t1", 6)
	wantBreak(t, b, keys, 6, audit.BreakEdited)
}

func testAuditTamperEditDetail(t *testing.T, b AuditBackend) {
	_, keys := tamperSetup(t, b)
	b.Exec(t, `UPDATE audit_events SET detail = ? WHERE tenant_id = ? AND seq = ?`, `{"n":"2"}`, "t1", 3)
	wantBreak(t, b, keys, 3, audit.BreakEdited)
}

func testAuditTamperDelete(t *testing.T, b AuditBackend) {
	_, keys := tamperSetup(t, b)
	b.Exec(t, `DELETE FROM audit_events WHERE tenant_id = ? AND seq = ?`, "t1", 6)
	wantBreak(t, b, keys, 6, audit.BreakDeleted)
}

func testAuditTamperReorder(t *testing.T, b AuditBackend) {
	_, keys := tamperSetup(t, b)
	// Swap seq 6 and 7 through a free seq: the primary key holds at every
	// step.
	b.Exec(t, `UPDATE audit_events SET seq = 1000 WHERE tenant_id = ? AND seq = 6`, "t1")
	b.Exec(t, `UPDATE audit_events SET seq = 6 WHERE tenant_id = ? AND seq = 7`, "t1")
	b.Exec(t, `UPDATE audit_events SET seq = 7 WHERE tenant_id = ? AND seq = 1000`, "t1")
	wantBreak(t, b, keys, 6, audit.BreakPrevMismatch)
}

// testAuditTamperInsertForged inserts a well-formed event at seq 6, its
// hash correctly computed on seq 5, shifting the later events up and the
// head with them: the link from the forged event to the next is what
// breaks.
func testAuditTamperInsertForged(t *testing.T, b AuditBackend) {
	all, keys := tamperSetup(t, b)
	forged := auditEvent("t1", 5)
	forged.Time = all[4].Time // copied from seq 5's row below
	forged.Reason = "forged"
	forged.Detail = nil
	forged.RequestID = all[4].RequestID
	chained := []audit.Event{forged}
	audit.Link(audit.Head{TenantID: "t1", Seq: 5, Hash: all[4].Hash}, chained)
	f := chained[0]
	b.Exec(t, `UPDATE audit_events SET seq = seq + 1000 WHERE tenant_id = ? AND seq >= 6`, "t1")
	b.Exec(t, `UPDATE audit_events SET seq = seq - 999 WHERE tenant_id = ? AND seq > 1000`, "t1")
	b.Exec(t, `INSERT INTO audit_events (`+auditColumnsForTests+`)
		SELECT tenant_id, ?, ?, occurred_at, actor_id, on_behalf_of, credential_kind, credential_id, action,
		       target_type, target_id, outcome, ?, client_ip, user_agent, request_id, trace_id, '{}', ?, ?
		FROM audit_events WHERE tenant_id = ? AND seq = 5`,
		f.Seq, f.ID, f.Reason, f.PrevHash, f.Hash, "t1")
	b.Exec(t, `UPDATE audit_heads SET seq = seq + 1 WHERE tenant_id = ?`, "t1")
	// The forged event itself verifies; the event after it does not link.
	wantBreak(t, b, keys, 7, audit.BreakPrevMismatch)
}

// testAuditTamperAppendBeyondHead appends a correctly chained event
// without moving the head, as a writer around the store would.
func testAuditTamperAppendBeyondHead(t *testing.T, b AuditBackend) {
	all, keys := tamperSetup(t, b)
	chained := []audit.Event{auditEvent("t1", 10)}
	chained[0].Time = all[9].Time
	chained[0].Detail = nil
	audit.Link(audit.Head{TenantID: "t1", Seq: 10, Hash: all[9].Hash}, chained)
	f := chained[0]
	b.Exec(t, `INSERT INTO audit_events (`+auditColumnsForTests+`)
		SELECT tenant_id, ?, ?, occurred_at, actor_id, on_behalf_of, credential_kind, credential_id, action,
		       target_type, target_id, outcome, reason, client_ip, user_agent, request_id, trace_id, '{}', ?, ?
		FROM audit_events WHERE tenant_id = ? AND seq = 10`,
		f.Seq, f.ID, f.PrevHash, f.Hash, "t1")
	b.Exec(t, `UPDATE audit_events SET request_id = ? WHERE tenant_id = ? AND seq = 11`, f.RequestID, "t1")
	wantBreak(t, b, keys, 11, audit.BreakHeadMismatch)
}

// testAuditTamperTruncateTail cuts the last events and moves the head back
// to match: only the digest through seq 10 still knows they existed.
func testAuditTamperTruncateTail(t *testing.T, b AuditBackend) {
	all, keys := tamperSetup(t, b)
	b.Exec(t, `DELETE FROM audit_events WHERE tenant_id = ? AND seq > 8`, "t1")
	b.Exec(t, `UPDATE audit_heads SET seq = 8, hash = ? WHERE tenant_id = ?`, all[7].Hash, "t1")
	wantBreak(t, b, keys, 9, audit.BreakDeleted)
}

// testAuditTamperRewriteChain edits seq 3 and recomputes every later hash
// and the head, which anyone can: the chain is whole again, and only the
// signed digest through seq 4 tells.
func testAuditTamperRewriteChain(t *testing.T, b AuditBackend) {
	all, keys := tamperSetup(t, b)
	rewritten := append([]audit.Event(nil), all[2:]...)
	rewritten[0].Reason = "rewritten"
	head := audit.Link(audit.Head{TenantID: "t1", Seq: 2, Hash: all[1].Hash}, rewritten)
	b.Exec(t, `UPDATE audit_events SET reason = ? WHERE tenant_id = ? AND seq = 3`, "rewritten", "t1")
	for _, e := range rewritten {
		b.Exec(t, `UPDATE audit_events SET prev_hash = ?, hash = ? WHERE tenant_id = ? AND seq = ?`, e.PrevHash, e.Hash, "t1", e.Seq)
	}
	b.Exec(t, `UPDATE audit_heads SET hash = ? WHERE tenant_id = ?`, head.Hash, "t1")
	wantBreak(t, b, keys, 4, audit.BreakDigest)
}

func testAuditTamperDigestSignature(t *testing.T, b AuditBackend) {
	_, keys := tamperSetup(t, b)
	d := ok(b.Store.ListAuditDigests(t.Context(), "t1", 0, 1))(t)[0]
	d.Signature[0] ^= 1
	b.Exec(t, `UPDATE audit_digests SET signature = ? WHERE tenant_id = ? AND through_seq = ?`, d.Signature, "t1", d.ThroughSeq)
	wantBreak(t, b, keys, 4, audit.BreakDigest)
}

func testAuditTamperDigestHead(t *testing.T, b AuditBackend) {
	all, keys := tamperSetup(t, b)
	b.Exec(t, `UPDATE audit_digests SET head_hash = ? WHERE tenant_id = ? AND through_seq = 10`, all[8].Hash, "t1")
	wantBreak(t, b, keys, 10, audit.BreakDigest)
}

const auditColumnsForTests = `tenant_id, seq, id, occurred_at, actor_id, on_behalf_of, credential_kind, credential_id,
	action, target_type, target_id, outcome, reason, client_ip, user_agent, request_id, trace_id, detail, prev_hash, hash`
