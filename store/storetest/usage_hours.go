package storetest

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/tollgate/tollgate/store"
	"github.com/tollgate/tollgate/usage"
)

func usageHourTests() []test {
	return []test{
		{"HoursAnswerAsMinutesOnRandomData", testUsageHoursMatchMinutes},
		{"HoursKeptRightByRebuild", testUsageHoursRebuild},
		{"TenantHoursAnswerAsMinutesOnRandomData", testUsageTenantHoursMatchMinutes},
		{"ZoneAtAQuarterHour", testUsageZoneKathmandu},
	}
}

// hourMeters are the meters the hour cases compare: one of each
// aggregation.
var hourMeters = []struct {
	name string
	agg  usage.Aggregation
}{
	{"llm_input_tokens", usage.Sum}, {"tool_runs", usage.Count},
	{"peak_ms", usage.Max}, {"last_ms", usage.Latest}, {"tools_used", usage.UniqueCount},
}

// randomUsage records n random LLM and tool events of t1 over the 50
// hours before usageT0 (integer values, so that sums in any order are
// exact), then voids a tenth of them, amends another tenth and voids some
// of the amendments.
func randomUsage(t *testing.T, svc *usage.Service, r *rand.Rand, n int) {
	t.Helper()
	var events []ev
	for i := range n {
		d := -time.Duration(r.IntN(50*3600)) * time.Second
		subject := fmt.Sprintf("agent:%d", r.IntN(3))
		if i%2 == 0 {
			events = append(events, llm("t1", fmt.Sprint(i), subject, fmt.Sprintf("m%d", r.IntN(2)), d, r.IntN(1000), 1))
		} else {
			events = append(events, tool("t1", fmt.Sprint(i), subject, fmt.Sprintf("tool%d", r.IntN(3)), "ok", d, float64(r.IntN(500))))
		}
	}
	for start := 0; start < n; start += 100 {
		wantResult(t, record(t, svc, events[start:min(start+100, n)]...), min(100, n-start), 0)
	}
	var corrections []ev
	for _, i := range r.Perm(n)[:n/5] {
		e := events[i]
		switch {
		case len(corrections) < n/10:
			corrections = append(corrections, void("t1", "v"+e.id, e.id, e.source))
		case e.typ == usage.TypeLLM:
			corrections = append(corrections, amend("t1", "a"+e.id, e.id, e.source, map[string]any{"model": "m9", "input_tokens": r.IntN(1000), "output_tokens": 2}))
		default:
			corrections = append(corrections, amend("t1", "a"+e.id, e.id, e.source, map[string]any{"tool": "tool9", "status": "ok", "duration_ms": r.IntN(900)}))
		}
	}
	wantResult(t, record(t, svc, corrections...), len(corrections), 0)
	var again []ev
	for _, c := range corrections[n/10 : n/10+5] {
		again = append(again, void("t1", "v"+c.id, c.id, c.source))
	}
	wantResult(t, record(t, svc, again...), len(again), 0)
}

// folded is a store answer folded per (window, subject, dims) by the
// meter's aggregation, as usage.Service merges it.
func folded(agg usage.Aggregation, parts []usage.Partial) []string {
	type acc struct {
		value     float64
		latestAt  int64
		latestKey string
		uniques   map[string]bool
		started   bool
	}
	groups := map[string]*acc{}
	for _, p := range parts {
		k := fmt.Sprintf("%d|%s|%s", p.Window, p.Subject, p.Dims)
		g := groups[k]
		if g == nil {
			g = &acc{uniques: map[string]bool{}}
			groups[k] = g
		}
		switch agg {
		case usage.Sum, usage.Count:
			g.value += p.Value
		case usage.Max:
			if !g.started || p.Value > g.value {
				g.value = p.Value
			}
		case usage.Latest:
			if !g.started || cmp.Or(cmp.Compare(p.LatestAt, g.latestAt), cmp.Compare(p.LatestKey, g.latestKey)) > 0 {
				g.value, g.latestAt, g.latestKey = p.Value, p.LatestAt, p.LatestKey
			}
		case usage.UniqueCount:
			g.uniques[p.Unique] = true
			g.value = float64(len(g.uniques))
		}
		g.started = true
	}
	out := make([]string, 0, len(groups))
	for k, g := range groups {
		out = append(out, fmt.Sprintf("%s=%v", k, g.value))
	}
	slices.Sort(out)
	return out
}

// compareHours checks that random queries and pages over t1 give the
// same answers with the hour roll-ups for their whole hours as from the
// minute roll-ups alone, and that the hours were used.
func compareHours(t *testing.T, s store.Store, r *rand.Rand, queries int) {
	compareHoursOf(t, s, r, queries, false)
}

// compareHoursOf is compareHours, with queries over every subject alone
// (no subject kept or grouped: the tenant-wide hours answer) when
// allSubjects.
func compareHoursOf(t *testing.T, s store.Store, r *rand.Rand, queries int, allSubjects bool) {
	t.Helper()
	base := usageT0.Add(-52*time.Hour).Unix() / 60
	usedHours := 0
	for i := range queries {
		m := hourMeters[i%len(hourMeters)]
		q := usage.StoreQuery{TenantID: "t1", Meter: m.name, Aggregation: m.agg,
			WindowMinutes: []int64{0, 60, 1440}[r.IntN(3)], OffsetMinutes: []int64{0, 120, -300, 345}[r.IntN(4)],
			BySubject: r.IntN(2) == 0, ByDims: r.IntN(2) == 0}
		q.FromMinute = base + int64(r.IntN(54*60))
		q.ToMinute = q.FromMinute + 1 + int64(r.IntN(30*60))
		if r.IntN(4) == 0 {
			q.Subject = fmt.Sprintf("agent:%d", r.IntN(3))
		}
		if allSubjects {
			q.Subject, q.BySubject = "", false
		}
		want := folded(m.agg, ok(s.ReadUsage(t.Context(), q))(t))
		q.Hours = usage.HourRange(q.FromMinute, q.ToMinute, q.WindowMinutes, q.OffsetMinutes)
		if !q.Hours.Empty() {
			usedHours++
		}
		check(t, fmt.Sprintf("query %d %+v", i, q), folded(m.agg, ok(s.ReadUsage(t.Context(), q))(t)), want)
	}
	if usedHours < queries/3 {
		t.Fatalf("only %d of %d queries read hours", usedHours, queries)
	}
	for i := range queries / 4 {
		m := hourMeters[i%len(hourMeters)]
		wm := []int64{60, 1440}[r.IntN(2)]
		from := (base + int64(r.IntN(54*60))) / wm * wm
		q := usage.PageQuery{TenantID: "t1", Meter: m.name, Aggregation: m.agg, WindowMinutes: wm,
			FromMinute: from, ToMinute: from + wm*int64(1+r.IntN(3))}
		if !allSubjects && r.IntN(4) == 0 {
			q.Subject = fmt.Sprintf("agent:%d", r.IntN(3))
		}
		want := readPages(t, s, q, 7)
		q.Hours = usage.HourRange(q.FromMinute, q.ToMinute, wm, 0)
		check(t, fmt.Sprintf("page %d %+v", i, q), readPages(t, s, q, 7), want)
	}
}

// testUsageHoursMatchMinutes: on random events with voids and
// amendments, every aggregation reads the same from hours and edges as
// from minutes.
func testUsageHoursMatchMinutes(t *testing.T, s store.Store) {
	usageTenants(t, s)
	svc := usageService(t, s, toolMeters...)
	r := rand.New(rand.NewPCG(13, 21))
	randomUsage(t, svc, r, 600)
	compareHours(t, s, r, 120)
}

// testUsageTenantHoursMatchMinutes: on random events with voids and
// amendments, every aggregation read over every subject (the tenant-wide
// hour roll-ups) reads the same from hours and edges as from minutes,
// with windows in zones at whole and at quarter hours; so do pages.
func testUsageTenantHoursMatchMinutes(t *testing.T, s store.Store) {
	usageTenants(t, s)
	svc := usageService(t, s, toolMeters...)
	r := rand.New(rand.NewPCG(24, 13))
	randomUsage(t, svc, r, 600)
	compareHoursOf(t, s, r, 120, true)
}

// testUsageHoursRebuild: a rebuild whose steps cut hours in parts leaves
// the hour roll-ups equal to the minutes, and puts back hours that were
// lost.
func testUsageHoursRebuild(t *testing.T, s store.Store) {
	usageTenants(t, s)
	svc := usageService(t, s, toolMeters...)
	r := rand.New(rand.NewPCG(5, 8))
	randomUsage(t, svc, r, 300)
	for _, m := range hourMeters {
		q := usage.RebuildQuery{TenantID: "t1", Meter: m.name, From: usageT0.Add(-51*time.Hour - 7*time.Minute), To: usageT0.Add(13 * time.Minute), Step: 37 * time.Minute}
		ok(svc.Rebuild(t.Context(), q, nil))(t)
	}
	compareHours(t, s, r, 60)
}

// testUsageZoneKathmandu: Asia/Kathmandu (+05:45) begins its hours and
// days a quarter past UTC hours; its windows still hold what their
// minutes hold.
func testUsageZoneKathmandu(t *testing.T, s store.Store) {
	usageTenants(t, s)
	svc := usageService(t, s)
	ktm, err := usage.LoadZone("Asia/Kathmandu")
	must(t, err)
	at := func(id, when string, tokens int) ev {
		return llm("t1", id, "user:1", "gpt", utc(t, when).Sub(usageT0), tokens, 0)
	}
	wantResult(t, record(t, svc,
		at("a", "2025-03-12T18:14:00Z", 1),      // 23:59 on the 12th
		at("b", "2025-03-12T18:15:00Z", 10),     // 00:00 on the 13th
		at("c", "2025-03-12T18:50:00Z", 100),    // 00:35
		at("d", "2025-03-13T10:00:00Z", 1000),   // 15:45
		at("e", "2025-03-13T18:14:00Z", 10000),  // 23:59 on the 13th
		at("f", "2025-03-13T18:15:00Z", 100000), // 00:00 on the 14th
	), 6, 0)
	from, to := utc(t, "2025-03-11T18:15:00Z"), utc(t, "2025-03-14T18:15:00Z")
	rows := query(t, svc, usage.Query{TenantID: "t1", Meter: "llm_input_tokens", Window: usage.WindowDay, Zone: ktm, From: from, To: to})
	check(t, "Kathmandu days", rows, []usage.Row{
		{WindowStart: utc(t, "2025-03-11T18:15:00Z"), WindowEnd: utc(t, "2025-03-12T18:15:00Z"), Value: 1},
		{WindowStart: utc(t, "2025-03-12T18:15:00Z"), WindowEnd: utc(t, "2025-03-13T18:15:00Z"), Value: 11110},
		{WindowStart: utc(t, "2025-03-13T18:15:00Z"), WindowEnd: utc(t, "2025-03-14T18:15:00Z"), Value: 100000},
	})
	rows = query(t, svc, usage.Query{TenantID: "t1", Meter: "llm_input_tokens", Window: usage.WindowHour, Zone: ktm,
		From: utc(t, "2025-03-12T17:15:00Z"), To: utc(t, "2025-03-12T19:15:00Z")})
	check(t, "Kathmandu hours", rows, []usage.Row{
		{WindowStart: utc(t, "2025-03-12T17:15:00Z"), WindowEnd: utc(t, "2025-03-12T18:15:00Z"), Value: 1},
		{WindowStart: utc(t, "2025-03-12T18:15:00Z"), WindowEnd: utc(t, "2025-03-12T19:15:00Z"), Value: 110},
	})
	// One window over the range: whole UTC hours from the hour roll-ups,
	// the quarter hours at either end from minutes.
	rows = query(t, svc, usage.Query{TenantID: "t1", Meter: "llm_input_tokens", Zone: ktm, From: from, To: to})
	check(t, "Kathmandu range", rows, []usage.Row{{WindowStart: from, WindowEnd: to, Value: 111111}})
}
