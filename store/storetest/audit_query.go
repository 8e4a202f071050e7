package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/tollgate/tollgate/audit"
	"github.com/tollgate/tollgate/fault"
)

// queryFixture appends 30 events to t1 — actors user:0..2 in turn,
// actions login then decision in turn, outcomes success/failure/denied in
// turn, targets doc:0..4 in turn, one ms apart — and 5 to t2 with the
// same values, and returns t1's as stored.
func queryFixture(t *testing.T, b AuditBackend) []audit.Event {
	t.Helper()
	outcomes := []audit.Outcome{audit.Success, audit.Failure, audit.Denied}
	evs := auditEvents("t1", 0, 30)
	for i := range evs {
		e := &evs[i]
		e.ActorID = []string{"user:0", "user:1", "user:2"}[i%3]
		e.Action = []string{audit.ActionSessionLogin, audit.ActionDecision}[i%2]
		e.Outcome = outcomes[i%3]
		e.TargetID = []string{"doc:0", "doc:1", "doc:2", "doc:3", "doc:4"}[i%5]
	}
	other := slices.Clone(evs[:5])
	for i := range other {
		other[i].TenantID, other[i].ID = "t2", ""
	}
	appendAudit(t, b.Store, other, 5)
	return appendAudit(t, b.Store, evs, 30)
}

// seqs lists the Seqs of events.
func seqs(evs []audit.Event) []int64 {
	out := make([]int64, len(evs))
	for i, e := range evs {
		out[i] = e.Seq
	}
	return out
}

// wantSeqs lists, newest first, the Seqs of the events of all that keep.
func wantSeqs(all []audit.Event, keep func(e audit.Event) bool) []int64 {
	var out []int64
	for i := len(all) - 1; i >= 0; i-- {
		if keep(all[i]) {
			out = append(out, all[i].Seq)
		}
	}
	return out
}

func testAuditQueryFilters(t *testing.T, b AuditBackend) {
	all := queryFixture(t, b)
	cases := []struct {
		name string
		q    audit.Query
		keep func(e audit.Event) bool
	}{
		{"everything, newest first", audit.Query{}, func(audit.Event) bool { return true }},
		{"by actor", audit.Query{ActorID: "user:1"}, func(e audit.Event) bool { return e.ActorID == "user:1" }},
		{"by action", audit.Query{Action: audit.ActionDecision}, func(e audit.Event) bool { return e.Action == audit.ActionDecision }},
		{"by outcome", audit.Query{Outcome: audit.Denied}, func(e audit.Event) bool { return e.Outcome == audit.Denied }},
		{"by target", audit.Query{TargetID: "doc:3"}, func(e audit.Event) bool { return e.TargetID == "doc:3" }},
		{"every filter at once", audit.Query{ActorID: "user:0", Action: audit.ActionSessionLogin, TargetID: "doc:0"},
			func(e audit.Event) bool {
				return e.ActorID == "user:0" && e.Action == audit.ActionSessionLogin && e.TargetID == "doc:0"
			}},
		{"from and to: from inclusive, to exclusive", audit.Query{From: all[10].Time, To: all[20].Time},
			func(e audit.Event) bool { return !e.Time.Before(all[10].Time) && e.Time.Before(all[20].Time) }},
		{"an unknown actor matches nothing", audit.Query{ActorID: "user:404"}, func(audit.Event) bool { return false }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.q.TenantID = "t1"
			got := ok(b.Store.QueryAudit(t.Context(), c.q))(t)
			if want := wantSeqs(all, c.keep); !slices.Equal(seqs(got), want) {
				t.Fatalf("seqs %v, want %v", seqs(got), want)
			}
			for _, e := range got {
				if e.TenantID != "t1" {
					t.Fatalf("an event of stream %q", e.TenantID)
				}
			}
		})
	}
	// The events come back whole: they still hash.
	got := ok(b.Store.QueryAudit(t.Context(), audit.Query{TenantID: "t1", Limit: 1}))(t)
	if sum, _ := audit.HashEvent(got[0].PrevHash, &got[0], nil); string(sum[:]) != string(got[0].Hash) {
		t.Fatal("a queried event does not match its hash")
	}
}

func testAuditQueryPages(t *testing.T, b AuditBackend) {
	all := queryFixture(t, b)
	var got []int64
	q := audit.Query{TenantID: "t1", Action: audit.ActionDecision, Limit: 4}
	for range 10 {
		page := ok(b.Store.QueryAudit(t.Context(), q))(t)
		got = append(got, seqs(page)...)
		if len(page) < q.Limit {
			break
		}
		q.BeforeSeq = page[len(page)-1].Seq
	}
	if want := wantSeqs(all, func(e audit.Event) bool { return e.Action == audit.ActionDecision }); !slices.Equal(got, want) {
		t.Fatalf("pages %v, want %v", got, want)
	}
}

func testAuditQueryCrossTenant(t *testing.T, b AuditBackend) {
	queryFixture(t, b)
	for _, q := range []audit.Query{{TenantID: "t2"}, {TenantID: "t2", BeforeSeq: 100}, {TenantID: "t2", ActorID: "user:0"}} {
		got := ok(b.Store.QueryAudit(t.Context(), q))(t)
		if len(got) == 0 || len(got) > 5 {
			t.Fatalf("%+v: %d events", q, len(got))
		}
		for _, e := range got {
			if e.TenantID != "t2" {
				t.Fatalf("%+v returned an event of %q", q, e.TenantID)
			}
		}
	}
	if got := ok(b.Store.QueryAudit(t.Context(), audit.Query{TenantID: "t3"}))(t); len(got) != 0 {
		t.Fatalf("an unknown stream returned %d events", len(got))
	}
	if got := ok(b.Store.QueryAudit(t.Context(), audit.Query{}))(t); len(got) != 0 {
		t.Fatalf("the platform stream returned %d events of tenants", len(got))
	}
}

func testAuditQueryInvalid(t *testing.T, b AuditBackend) {
	for _, c := range []struct {
		name  string
		q     audit.Query
		field string
	}{
		{"limit too large", audit.Query{TenantID: "t1", Limit: audit.MaxQueryLimit + 1}, "limit"},
		{"negative limit", audit.Query{TenantID: "t1", Limit: -1}, "limit"},
		{"unknown outcome", audit.Query{TenantID: "t1", Outcome: "maybe"}, "outcome"},
		{"to before from", audit.Query{TenantID: "t1", From: at(time.Hour), To: at(0)}, "to"},
		{"a range too wide", audit.Query{TenantID: "t1", From: at(0), To: at(audit.MaxQueryRange + time.Hour)}, "to"},
		{"an actor with a space", audit.Query{TenantID: "t1", ActorID: "user 1"}, "actor"},
		{"a negative cursor", audit.Query{TenantID: "t1", BeforeSeq: -5}, "cursor"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := b.Store.QueryAudit(t.Context(), c.q)
			wantFault(t, err, fault.Invalid, audit.CodeQueryInvalid)
			if fe := err.(*fault.Error); fe.Field != c.field {
				t.Fatalf("field %q, want %q", fe.Field, c.field)
			}
		})
	}
}

func testAuditSeqRange(t *testing.T, b AuditBackend) {
	all := queryFixture(t, b)
	for _, c := range []struct {
		name        string
		from, to    time.Time
		first, last int64
	}{
		{"open", time.Time{}, time.Time{}, 1, 30},
		{"bounded", all[10].Time, all[20].Time, 11, 20},
		{"from only", all[25].Time, time.Time{}, 26, 30},
		{"nothing in range", at(time.Hour), at(2 * time.Hour), 0, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			first, last, err := b.Store.AuditSeqRange(t.Context(), "t1", c.from, c.to)
			must(t, err)
			if first != c.first || last != c.last {
				t.Fatalf("range %d..%d, want %d..%d", first, last, c.first, c.last)
			}
		})
	}
	if first, last, err := b.Store.AuditSeqRange(t.Context(), "t3", time.Time{}, time.Time{}); err != nil || first != 0 || last != 0 {
		t.Fatalf("unknown stream: %d..%d %v", first, last, err)
	}
}
