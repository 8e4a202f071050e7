package storetest

import (
	"fmt"
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

// whole runs q, which must not stop at its decision window.
func whole(t *testing.T, s audit.Querier, q audit.Query) []audit.Event {
	t.Helper()
	evs, resume, err := s.QueryAudit(t.Context(), q)
	must(t, err)
	if resume != 0 {
		t.Fatalf("%+v stopped at its decision window, at seq %d", q, resume)
	}
	return evs
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
			got := whole(t, b.Store, c.q)
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
	got := whole(t, b.Store, audit.Query{TenantID: "t1", Limit: 1})
	if sum, _ := audit.HashEvent(got[0].PrevHash, &got[0], nil); string(sum[:]) != string(got[0].Hash) {
		t.Fatal("a queried event does not match its hash")
	}
}

func testAuditQueryPages(t *testing.T, b AuditBackend) {
	all := queryFixture(t, b)
	var got []int64
	q := audit.Query{TenantID: "t1", Action: audit.ActionDecision, Limit: 4}
	for range 10 {
		page := whole(t, b.Store, q)
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
		got := whole(t, b.Store, q)
		if len(got) == 0 || len(got) > 5 {
			t.Fatalf("%+v: %d events", q, len(got))
		}
		for _, e := range got {
			if e.TenantID != "t2" {
				t.Fatalf("%+v returned an event of %q", q, e.TenantID)
			}
		}
	}
	if got := whole(t, b.Store, audit.Query{TenantID: "t3"}); len(got) != 0 {
		t.Fatalf("an unknown stream returned %d events", len(got))
	}
	if got := whole(t, b.Store, audit.Query{}); len(got) != 0 {
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
			_, _, err := b.Store.QueryAudit(t.Context(), c.q)
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

// testAuditQueryDecisionWindow pages through queries by actor or target,
// which read decision events a bounded window of seqs at a time (00022
// leaves them out of those indexes), with windows and pages of several
// sizes, following the cursor as audit.Service does: the last seq of a
// full page, else where the query stopped. Every page must keep to its
// window, and the pages together must be exactly what the filter selects.
func testAuditQueryDecisionWindow(t *testing.T, b AuditBackend) {
	all := queryFixture(t, b)
	queries := []struct {
		name string
		q    audit.Query
		keep func(e audit.Event) bool
	}{
		{"by actor", audit.Query{ActorID: "user:1"}, func(e audit.Event) bool { return e.ActorID == "user:1" }},
		{"by target", audit.Query{TargetID: "doc:3"}, func(e audit.Event) bool { return e.TargetID == "doc:3" }},
		{"by actor, decisions only", audit.Query{ActorID: "user:2", Action: audit.ActionDecision},
			func(e audit.Event) bool { return e.ActorID == "user:2" && e.Action == audit.ActionDecision }},
		{"by target and outcome", audit.Query{TargetID: "doc:1", Outcome: audit.Denied},
			func(e audit.Event) bool { return e.TargetID == "doc:1" && e.Outcome == audit.Denied }},
		{"by actor within a time range", audit.Query{ActorID: "user:0", From: all[4].Time, To: all[25].Time},
			func(e audit.Event) bool {
				return e.ActorID == "user:0" && !e.Time.Before(all[4].Time) && e.Time.Before(all[25].Time)
			}},
		{"an unknown actor", audit.Query{ActorID: "user:404"}, func(audit.Event) bool { return false }},
		// No index serves the outcome alone: the stream is read in windows.
		{"by outcome alone", audit.Query{Outcome: audit.Denied}, func(e audit.Event) bool { return e.Outcome == audit.Denied }},
		{"by outcome within a time range", audit.Query{Outcome: audit.Success, From: all[4].Time, To: all[25].Time},
			func(e audit.Event) bool {
				return e.Outcome == audit.Success && !e.Time.Before(all[4].Time) && e.Time.Before(all[25].Time)
			}},
	}
	for _, c := range queries {
		for _, window := range []int64{1, 3, 7, 100} {
			for _, limit := range []int{1, 2, 5} {
				t.Run(fmt.Sprintf("%s/window=%d/limit=%d", c.name, window, limit), func(t *testing.T) {
					q := c.q
					q.TenantID, q.DecisionWindow, q.Limit = "t1", window, limit
					var got []int64
					for pages := 0; ; pages++ {
						if pages > len(all)+2 {
							t.Fatalf("no end after %d pages: %v", pages, got)
						}
						page, resume, err := b.Store.QueryAudit(t.Context(), q)
						must(t, err)
						before := q.BeforeSeq
						if before == 0 {
							before = all[len(all)-1].Seq + 1
						}
						for _, e := range page {
							if (e.Action == audit.ActionDecision || c.q.Outcome != "" && c.q.ActorID == "" && c.q.TargetID == "") && e.Seq < before-window {
								t.Fatalf("decision seq %d read below the window %d..%d", e.Seq, before-window, before)
							}
						}
						got = append(got, seqs(page)...)
						switch {
						case len(page) == limit:
							q.BeforeSeq = page[len(page)-1].Seq
						case resume > 0:
							if resume >= before {
								t.Fatalf("resume %d does not move below the cursor %d", resume, before)
							}
							q.BeforeSeq = resume
						default:
							if want := wantSeqs(all, c.keep); !slices.Equal(got, want) {
								t.Fatalf("pages %v, want %v", got, want)
							}
							return
						}
					}
				})
			}
		}
	}
	// Another action's events never need the window.
	whole(t, b.Store, audit.Query{TenantID: "t1", ActorID: "user:1", Action: audit.ActionSessionLogin, DecisionWindow: 1})
}
