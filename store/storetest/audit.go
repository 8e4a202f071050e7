package storetest

import (
	"crypto/rand"
	"fmt"
	"testing"
	"time"

	"github.com/tollgate/tollgate/audit"
	"github.com/tollgate/tollgate/fault"
	tgids "github.com/tollgate/tollgate/ids"
	"github.com/tollgate/tollgate/store"
	"github.com/tollgate/tollgate/token"
)

// AuditBackend is a fresh, migrated, empty store for the audit cases, with
// what they need beyond store.Store.
type AuditBackend struct {
	Store store.Store
	// Replica is a second Store instance on the same database, as another
	// replica (or process) would open it.
	Replica store.Store
	// Exec runs one statement with "?" placeholders directly on the
	// database, as someone with write access to it could, bypassing the
	// store. Times are not passed as arguments (their type differs between
	// databases); statements copy them from existing rows.
	Exec func(t *testing.T, query string, args ...any)
}

type auditTest struct {
	name string
	run  func(t *testing.T, b AuditBackend)
}

// RunAudit runs the audit log's conformance cases; open is called once per
// case, from parallel subtests, and registers its cleanup on t.
func RunAudit(t *testing.T, open func(t *testing.T) AuditBackend) {
	tests := []auditTest{
		{"AppendAssignsChain", testAuditAppendAssignsChain},
		{"ChainContinuesAcrossAppends", testAuditChainContinues},
		{"StreamsPerTenant", testAuditStreamsPerTenant},
		{"CrossTenantReadImpossible", testAuditCrossTenantRead},
		{"Pages", testAuditPages},
		{"InvalidBatchStoresNothing", testAuditInvalidBatch},
		{"DigestsRoundTrip", testAuditDigestsRoundTrip},
		{"DigesterSignsMovedStreams", testAuditDigester},
		{"DigestKeysPermanent", testAuditKeysPermanent},
		{"ConcurrentReplicasNeverFork", testAuditConcurrentReplicas},
		// The webhook dispatcher follows these streams; its claims are
		// raced across two replicas here, where a second Store exists.
		{"WebhookClaimsNeverShared", testWebhookClaimsNeverShared},
		{"TamperEdit", testAuditTamperEdit},
		{"TamperEditDetail", testAuditTamperEditDetail},
		{"TamperDelete", testAuditTamperDelete},
		{"TamperReorder", testAuditTamperReorder},
		{"TamperInsertForged", testAuditTamperInsertForged},
		{"TamperAppendBeyondHead", testAuditTamperAppendBeyondHead},
		{"TamperTruncateTail", testAuditTamperTruncateTail},
		{"TamperRewriteChain", testAuditTamperRewriteChain},
		{"TamperDigestSignature", testAuditTamperDigestSignature},
		{"TamperDigestHead", testAuditTamperDigestHead},
		{"OutboxCommitsWithTheAct", testAuditOutboxCommitsWithTheAct},
		{"OutboxFailedActRecordsNothing", testAuditOutboxFailedActRecordsNothing},
		{"OutboxInvalidEventFailsTheAct", testAuditOutboxInvalidEventFailsTheAct},
		{"QueryFilters", testAuditQueryFilters},
		{"QueryPages", testAuditQueryPages},
		{"QueryDecisionWindow", testAuditQueryDecisionWindow},
		{"QueryCrossTenantImpossible", testAuditQueryCrossTenant},
		{"QueryInvalid", testAuditQueryInvalid},
		{"SeqRange", testAuditSeqRange},
		{"RetentionPruneThenVerify", testAuditRetentionPruneThenVerify},
		{"RetentionOverrides", testAuditRetentionOverrides},
		{"RetentionTamperFirstKept", testAuditRetentionTamperFirstKept},
		{"RetentionTamperEditAfter", testAuditRetentionTamperEditAfter},
		{"RetentionTamperDropAnchor", testAuditRetentionTamperDropAnchor},
		{"RetentionTamperAnchorHash", testAuditRetentionTamperAnchorHash},
		{"RetentionTamperFakePrune", testAuditRetentionTamperFakePrune},
		{"ForwardClaimAndAdvance", testAuditForwardClaimAndAdvance},
		{"ForwardLeaseTakeover", testAuditForwardLeaseTakeover},
		{"ForwardClaimsNeverShared", testAuditForwardClaimsNeverShared},
	}
	t.Run("Audit", func(t *testing.T) {
		t.Parallel()
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				tc.run(t, open(t))
			})
		}
	})
}

// auditEvent is an event of tenant at t0+i ms, with a detail.
func auditEvent(tenant string, i int) audit.Event {
	tm := at(time.Duration(i) * time.Millisecond)
	return audit.Event{
		ID: tgids.NewAt(tm), Time: tm, TenantID: tenant,
		ActorID: "user:93", CredentialKind: "session", CredentialID: "s1",
		Action: audit.ActionSessionLogin, TargetType: "user", TargetID: "user:93",
		Outcome: audit.Success, Reason: "password", ClientIP: "192.0.2.1",
		UserAgent: "Mozilla/5.0 \"quoted\" \x01", RequestID: fmt.Sprintf("req-%d", i), TraceID: "4bf92f3577b34da6a3ce929d0e0e4736",
		Detail: map[string]string{"n": fmt.Sprint(i), "ünïcode": "<&>"},
	}
}

func auditEvents(tenant string, from, n int) []audit.Event {
	out := make([]audit.Event, n)
	for i := range out {
		out[i] = auditEvent(tenant, from+i)
	}
	return out
}

// appendAudit appends events in batches of batch.
func appendAudit(t *testing.T, s store.Store, events []audit.Event, batch int) []audit.Event {
	t.Helper()
	var out []audit.Event
	for start := 0; start < len(events); start += batch {
		got := ok(s.AppendAudit(t.Context(), events[start:min(start+batch, len(events))]))(t)
		out = append(out, got...)
	}
	return out
}

// readAll reads a stream to its end in pages of page.
func readAll(t *testing.T, s store.Store, tenant string, page int) []audit.Event {
	t.Helper()
	var out []audit.Event
	var after int64
	for {
		got := ok(s.ReadAudit(t.Context(), tenant, after, page))(t)
		out = append(out, got...)
		if len(got) < page {
			return out
		}
		after = got[len(got)-1].Seq
	}
}

// digestKeys is a loaded Ed25519 keyring over the store's audit key table,
// sealed with a random master key, and the KeySet that verifies with it.
func digestKeys(t *testing.T, s store.Store) (*token.Keyring, audit.Keys) {
	t.Helper()
	return digestKeysSealed(t, s, newSealer(t))
}

func newSealer(t *testing.T) *token.Sealer {
	t.Helper()
	mk := make([]byte, token.MasterKeySize)
	_, _ = rand.Read(mk)
	sealer, err := token.NewSealer(mk)
	must(t, err)
	return sealer
}

// digestKeysSealed is digestKeys with the given master key, which replicas
// share.
func digestKeysSealed(t *testing.T, s store.Store, sealer *token.Sealer) (*token.Keyring, audit.Keys) {
	t.Helper()
	kr := token.NewKeyring(s.AuditKeyStore(), sealer, token.KeyringOptions{Algorithm: token.AlgEdDSA})
	must(t, kr.Load(t.Context()))
	keys := ok(audit.LoadKeys(t.Context(), s.AuditKeyStore(), sealer))(t)
	return kr, keys
}

// verify verifies a stream and returns its report.
func verify(t *testing.T, s store.Store, tenant string, keys audit.KeySet) *audit.Report {
	t.Helper()
	return ok(audit.Verify(t.Context(), s, tenant, audit.VerifyOptions{Keys: keys, PageSize: 7, ReadAhead: 3}))(t)
}

func wantVerified(t *testing.T, r *audit.Report, events int64) {
	t.Helper()
	if r.Break != nil || r.Events != events {
		t.Fatalf("verify: %s; want ok with %d events", r, events)
	}
}

func testAuditAppendAssignsChain(t *testing.T, b AuditBackend) {
	s := b.Store
	in := auditEvents("t1", 0, 3)
	in[2].Detail = nil
	got := ok(s.AppendAudit(t.Context(), in))(t)
	prev := audit.Genesis()
	for i, e := range got {
		if e.Seq != int64(i+1) {
			t.Errorf("event %d: seq %d", i, e.Seq)
		}
		if string(e.PrevHash) != string(prev) {
			t.Errorf("event %d: prev_hash %x, want %x", i, e.PrevHash, prev)
		}
		sum, _ := audit.HashEvent(prev, &e, nil)
		if string(e.Hash) != string(sum[:]) {
			t.Errorf("event %d: hash %x, want %x", i, e.Hash, sum)
		}
		prev = e.Hash
	}
	// The input is not modified, and what is read back is what was
	// returned, times at microseconds.
	if in[0].Seq != 0 || in[0].Hash != nil {
		t.Errorf("AppendAudit modified its input: %+v", in[0])
	}
	check(t, "ReadAudit", ok(s.ReadAudit(t.Context(), "t1", 0, 10))(t), got)
	if !got[0].Time.Equal(us(in[0].Time)) {
		t.Errorf("time %v, want %v", got[0].Time, us(in[0].Time))
	}
	h := ok(s.AuditHead(t.Context(), "t1"))(t)
	check(t, "AuditHead", h, audit.Head{TenantID: "t1", Seq: 3, Hash: got[2].Hash})
	// An unknown stream is empty at the genesis hash.
	check(t, "AuditHead(unknown)", ok(s.AuditHead(t.Context(), "nope"))(t), audit.Head{TenantID: "nope", Hash: audit.Genesis()})
	// Missing ids and times are filled.
	e := auditEvent("t1", 9)
	e.ID, e.Time = "", time.Time{}
	filled := ok(s.AppendAudit(t.Context(), []audit.Event{e}))(t)[0]
	if !tgids.Valid(filled.ID) || filled.Time.IsZero() || filled.Seq != 4 {
		t.Errorf("filled event: %+v", filled)
	}
	wantVerified(t, verify(t, s, "t1", nil), 4)
}

func testAuditChainContinues(t *testing.T, b AuditBackend) {
	s := b.Store
	all := appendAudit(t, s, auditEvents("t1", 0, 25), 4)
	all = append(all, appendAudit(t, b.Replica, auditEvents("t1", 25, 5), 5)...)
	for i, e := range all {
		if e.Seq != int64(i+1) || i > 0 && string(e.PrevHash) != string(all[i-1].Hash) {
			t.Fatalf("event %d: seq %d, prev %x after %x", i, e.Seq, e.PrevHash, all[i-1].Hash)
		}
	}
	check(t, "stream", readAll(t, s, "t1", 8), all)
	wantVerified(t, verify(t, s, "t1", nil), 30)
	// From a later seq the chain is verified from there on.
	r := ok(audit.Verify(t.Context(), s, "t1", audit.VerifyOptions{From: 20}))(t)
	if r.Break != nil || r.Events != 11 || r.From != 20 || r.Through != 30 {
		t.Errorf("verify --from 20: %s %+v", r, r)
	}
}

func testAuditStreamsPerTenant(t *testing.T, b AuditBackend) {
	s := b.Store
	// One batch may mix streams; each is chained on its own, in order.
	batch := []audit.Event{auditEvent("t1", 0), auditEvent("", 1), auditEvent("t2", 2), auditEvent("t1", 3), auditEvent("", 4)}
	got := ok(s.AppendAudit(t.Context(), batch))(t)
	seqs := []int64{}
	for _, e := range got {
		seqs = append(seqs, e.Seq)
	}
	check(t, "seqs", seqs, []int64{1, 1, 1, 2, 2})
	for i, e := range got {
		if e.TenantID != batch[i].TenantID || e.ID != batch[i].ID {
			t.Errorf("event %d: out of order: %s/%s", i, e.TenantID, e.ID)
		}
	}
	for tenant, n := range map[string]int64{"t1": 2, "t2": 1, "": 2} {
		wantVerified(t, verify(t, s, tenant, nil), n)
	}
	heads := ok(s.ListAuditHeads(t.Context(), nil, 10))(t)
	check(t, "heads", []string{heads[0].TenantID, heads[1].TenantID, heads[2].TenantID}, []string{"", "t1", "t2"})
	after := ""
	check(t, "heads after platform", len(ok(s.ListAuditHeads(t.Context(), &after, 10))(t)), 2)
	check(t, "heads page", len(ok(s.ListAuditHeads(t.Context(), nil, 1))(t)), 1)
}

func testAuditCrossTenantRead(t *testing.T, b AuditBackend) {
	s := b.Store
	appendAudit(t, s, auditEvents("tA", 0, 5), 5)
	appendAudit(t, s, auditEvents("tB", 10, 3), 3)
	for _, tenant := range []string{"tA", "tB", "", "tA' OR '1'='1", "t%"} {
		for _, e := range readAll(t, s, tenant, 2) {
			if e.TenantID != tenant {
				t.Fatalf("reading %q returned an event of %q", tenant, e.TenantID)
			}
		}
		for _, d := range ok(s.ListAuditDigests(t.Context(), tenant, 0, 10))(t) {
			if d.TenantID != tenant {
				t.Fatalf("digests of %q returned one of %q", tenant, d.TenantID)
			}
		}
	}
	check(t, "tB", len(readAll(t, s, "tB", 100)), 3)
	check(t, "platform", len(readAll(t, s, "", 100)), 0)
}

func testAuditPages(t *testing.T, b AuditBackend) {
	s := b.Store
	all := appendAudit(t, s, auditEvents("t1", 0, 23), 23)
	check(t, "page 1", ok(s.ReadAudit(t.Context(), "t1", 0, 10))(t), all[:10])
	check(t, "page 3", ok(s.ReadAudit(t.Context(), "t1", 20, 10))(t), all[20:])
	check(t, "past the end", ok(s.ReadAudit(t.Context(), "t1", 23, 10))(t), []audit.Event{})
	// A limit out of range is clamped to MaxPage, never unbounded.
	check(t, "limit 0", len(ok(s.ReadAudit(t.Context(), "t1", 0, 0))(t)), 23)
	check(t, "limit too big", len(ok(s.ReadAudit(t.Context(), "t1", 0, audit.MaxPage+1))(t)), 23)
}

func testAuditInvalidBatch(t *testing.T, b AuditBackend) {
	s := b.Store
	good := auditEvent("t1", 0)
	bad := auditEvent("t1", 1)
	bad.Outcome = "maybe"
	_, err := s.AppendAudit(t.Context(), []audit.Event{good, bad})
	wantFault(t, err, fault.Invalid, audit.CodeInvalidEvent)
	if fe, _ := err.(*fault.Error); fe == nil || fe.Field != "events[1].outcome" {
		t.Errorf("field of %v, want events[1].outcome", err)
	}
	_, err = s.AppendAudit(t.Context(), auditEvents("t1", 0, audit.MaxBatch+1))
	wantFault(t, err, fault.Invalid, audit.CodeBatchTooLarge)
	check(t, "stored", ok(s.ReadAudit(t.Context(), "t1", 0, 10))(t), []audit.Event{})
	check(t, "head", ok(s.AuditHead(t.Context(), "t1"))(t).Seq, int64(0))
	check(t, "empty batch", ok(s.AppendAudit(t.Context(), nil))(t), []audit.Event{})
}

func testAuditDigestsRoundTrip(t *testing.T, b AuditBackend) {
	s := b.Store
	all := appendAudit(t, s, auditEvents("t1", 0, 5), 5)
	d := audit.Digest{TenantID: "t1", ThroughSeq: 5, HeadHash: all[4].Hash, Time: at(time.Hour), KeyID: "k1", Signature: []byte{0, 1, 0xff}}
	must(t, s.InsertAuditDigest(t.Context(), d))
	wantConflict(t, s.InsertAuditDigest(t.Context(), d), audit.CodeDigestExists)
	d2 := d
	d2.ThroughSeq, d2.HeadHash = 3, all[2].Hash
	must(t, s.InsertAuditDigest(t.Context(), d2))
	want := []audit.Digest{d2, d}
	for i := range want {
		// Stored without a kind, a digest is a head's.
		want[i].Time, want[i].Kind = us(want[i].Time), audit.DigestHead
	}
	check(t, "digests", ok(s.ListAuditDigests(t.Context(), "t1", 0, 10))(t), want)
	check(t, "digests after 3", ok(s.ListAuditDigests(t.Context(), "t1", 3, 10))(t), want[1:])
	check(t, "other stream", ok(s.ListAuditDigests(t.Context(), "t2", 0, 10))(t), []audit.Digest{})
	check(t, "digest seq of head", ok(s.ListAuditHeads(t.Context(), nil, 10))(t)[0].DigestSeq, int64(5))
}

func testAuditDigester(t *testing.T, b AuditBackend) {
	s := b.Store
	sealer := newSealer(t)
	kr, keys := digestKeysSealed(t, s, sealer)
	now := at(2 * time.Hour)
	dg := audit.NewDigester(s, kr, audit.DigesterOptions{Now: func() time.Time { return now }})
	appendAudit(t, s, auditEvents("t1", 0, 4), 4)
	appendAudit(t, s, auditEvents("", 0, 2), 2)
	check(t, "signed", ok(dg.DigestAll(t.Context()))(t), 2)
	// Nothing moved: nothing to sign.
	check(t, "signed again", ok(dg.DigestAll(t.Context()))(t), 0)
	appendAudit(t, s, auditEvents("t1", 4, 3), 3)
	check(t, "signed after append", ok(dg.DigestAll(t.Context()))(t), 1)
	// Another replica's digester signing the same head stores nothing.
	kr2, _ := digestKeysSealed(t, b.Replica, sealer)
	if _, stored, err := audit.NewDigester(b.Replica, kr2, audit.DigesterOptions{}).DigestStream(t.Context(), "t1"); err != nil || stored {
		t.Errorf("second digest of one head: stored %v, %v", stored, err)
	}
	ds := ok(s.ListAuditDigests(t.Context(), "t1", 0, 10))(t)
	check(t, "digest seqs", []int64{ds[0].ThroughSeq, ds[1].ThroughSeq}, []int64{4, 7})
	if !ds[0].Time.Equal(us(now)) {
		t.Errorf("digest time %v", ds[0].Time)
	}
	r := verify(t, s, "t1", keys)
	wantVerified(t, r, 7)
	check(t, "digests verified", r.Digests, 2)
	// Without the keys a digest cannot verify.
	if r := verify(t, s, "t1", audit.Keys{}); r.Break == nil || r.Break.Kind != audit.BreakDigest || r.Break.Seq != 4 {
		t.Errorf("verify without keys: %s", r)
	}
}

func testAuditKeysPermanent(t *testing.T, b AuditBackend) {
	s := b.Store
	_, keys := digestKeys(t, s)
	for id := range keys {
		wantConflict(t, s.AuditKeyStore().DeleteSigningKey(t.Context(), id), audit.CodeDigestKeyPermanent)
	}
	// The token keys are another table.
	check(t, "token keys", len(ok(s.ListSigningKeys(t.Context()))(t)), 0)
	check(t, "audit keys", len(ok(s.AuditKeyStore().ListSigningKeys(t.Context()))(t)), 1)
}
