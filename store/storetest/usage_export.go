package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/tollgate/tollgate/store"
	"github.com/tollgate/tollgate/usage"
)

func usageExportTests() []test {
	return []test{
		{"PagesKeepGroupsWhole", testUsagePagesKeepGroupsWhole},
		{"PageAggregations", testUsagePageAggregations},
		{"ExportSumsRawEvents", testUsageExportSumsRawEvents},
	}
}

// pageRow is a partial as a page holds it.
type pageRow struct {
	Window int64
	Dims   string
	Value  float64
}

// readPages walks q's pages of at most limit, as an export does.
func readPages(t *testing.T, s store.Store, q usage.PageQuery, limit int) []pageRow {
	t.Helper()
	q.Limit = limit
	var out []pageRow
	for pages := 0; ; pages++ {
		parts := ok(s.ReadUsagePage(t.Context(), q))(t)
		if len(parts) > limit || pages > 100 {
			t.Fatalf("page %d: %d rows, limit %d", pages, len(parts), limit)
		}
		for _, p := range parts {
			out = append(out, pageRow{p.Window, p.Dims, p.Value})
		}
		if len(parts) < limit {
			return out
		}
		last := parts[len(parts)-1]
		q.After = &usage.PageKey{Window: last.Window, Dims: last.Dims}
	}
}

// testUsagePagesKeepGroupsWhole: a group (window, dimensions) sums every
// subject's minutes, and pages of any size, cut anywhere, add up to the
// same groups in the same order.
func testUsagePagesKeepGroupsWhole(t *testing.T, s store.Store) {
	usageTenants(t, s)
	svc := usageService(t, s)
	var events []ev
	for i := range 12 {
		// Three models, two subjects, spread over three hours and several
		// minutes of each.
		d := time.Duration(i%3-3)*time.Hour + time.Duration(i)*time.Minute
		events = append(events, llm("t1", fmt.Sprint(i), fmt.Sprintf("user:%d", i%2), fmt.Sprintf("m%d", i%3), d, i+1, 0))
	}
	events = append(events, llm("t2", "other", "user:0", "m0", -3*time.Hour, 1000, 0))
	wantResult(t, record(t, svc, events[:12]...), 12, 0)
	wantResult(t, record(t, svc, events[12]), 1, 0)
	minute := usageT0.Add(-3*time.Hour).Unix() / 60
	q := usage.PageQuery{TenantID: "t1", Meter: "llm_input_tokens", Aggregation: usage.Sum, FromMinute: minute, ToMinute: minute + 180, WindowMinutes: 60}
	whole := readPages(t, s, q, 1000)
	// Event i lands in hour i%3 with model m(i%3): hour h holds model mh
	// only, from events h, h+3, h+6, h+9 (values i+1).
	want := []pageRow{
		{minute, `{"model":"m0"}`, 1 + 4 + 7 + 10},
		{minute + 60, `{"model":"m1"}`, 2 + 5 + 8 + 11},
		{minute + 120, `{"model":"m2"}`, 3 + 6 + 9 + 12},
	}
	check(t, "whole", whole, want)
	for _, limit := range []int{1, 2} {
		check(t, fmt.Sprintf("pages of %d", limit), readPages(t, s, q, limit), want)
	}
	// Day windows: one group per model.
	q.WindowMinutes, q.FromMinute = 1440, minute-minute%1440
	q.ToMinute = q.FromMinute + 1440
	day := q.FromMinute
	check(t, "day", readPages(t, s, q, 2), []pageRow{{day, `{"model":"m0"}`, 22}, {day, `{"model":"m1"}`, 26}, {day, `{"model":"m2"}`, 30}})
	// One subject's: user:1 reported the odd events (values 2, 4, …, 12).
	q.Subject = "user:1"
	check(t, "user:1", readPages(t, s, q, 1), []pageRow{{day, `{"model":"m0"}`, 4 + 10}, {day, `{"model":"m1"}`, 2 + 8}, {day, `{"model":"m2"}`, 6 + 12}})
	// Another tenant's page holds its own event only.
	q.TenantID, q.Subject = "t2", ""
	check(t, "t2", readPages(t, s, q, 10), []pageRow{{day, `{"model":"m0"}`, 1000}})
}

// testUsagePageAggregations: MAX, LATEST and UNIQUE_COUNT aggregate over
// subjects per window in a page as queries do.
func testUsagePageAggregations(t *testing.T, s store.Store) {
	usageTenants(t, s)
	svc := usageService(t, s, toolMeters...)
	wantResult(t, record(t, svc,
		tool("t1", "3", "agent:2", "b", "ok", 3*time.Minute, 30),
		tool("t1", "1", "agent:1", "a", "ok", 1*time.Minute, 50),
		tool("t1", "2", "agent:1", "a", "ok", 2*time.Minute, 70),
		tool("t1", "4", "agent:1", "c", "ok", 61*time.Minute, 5),
	), 4, 0)
	minute := usageT0.Unix() / 60
	for _, c := range []struct {
		meter string
		agg   usage.Aggregation
		want  []pageRow
	}{
		{"peak_ms", usage.Max, []pageRow{{minute, "{}", 70}, {minute + 60, "{}", 5}}},
		{"last_ms", usage.Latest, []pageRow{{minute, "{}", 30}, {minute + 60, "{}", 5}}},
		{"tools_used", usage.UniqueCount, []pageRow{{minute, "{}", 2}, {minute + 60, "{}", 1}}},
	} {
		q := usage.PageQuery{TenantID: "t1", Meter: c.meter, Aggregation: c.agg, FromMinute: minute, ToMinute: minute + 120, WindowMinutes: 60}
		check(t, c.meter, readPages(t, s, q, 1), c.want)
	}
}

// testUsageExportSumsRawEvents: an export's values of a SUM meter add up
// to the raw events' sum, duplicates and other tenants' events aside.
func testUsageExportSumsRawEvents(t *testing.T, s store.Store) {
	usageTenants(t, s)
	svc := usageService(t, s)
	var events []ev
	sum := 0
	for i := range 40 {
		d := time.Duration(i*37) * time.Minute // across two days
		events = append(events, llm("t1", fmt.Sprint(i), fmt.Sprintf("agent:%d", i%5), fmt.Sprintf("m%d", i%4), d-26*time.Hour, i*3, 1))
		sum += i * 3
	}
	wantResult(t, record(t, svc, events...), 40, 0)
	wantResult(t, record(t, svc, events[:5]...), 0, 5)
	wantResult(t, record(t, svc, llm("t2", "x", "agent:1", "m0", 0, 500, 0)), 1, 0)
	day := usageT0.Truncate(24 * time.Hour)
	for _, w := range []usage.Window{usage.WindowHour, usage.WindowDay} {
		q := usage.ExportQuery{TenantID: "t1", From: day.Add(-24 * time.Hour), To: day.Add(48 * time.Hour), Window: w}
		totals := map[string]float64{}
		rows := 0
		must(t, usage.Export(t.Context(), s, svc.Meters(), q, usageT0, func(r *usage.ExportRow) error {
			if r.TenantID != "t1" || r.WindowEnd.Sub(r.WindowStart) != map[usage.Window]time.Duration{usage.WindowHour: time.Hour, usage.WindowDay: 24 * time.Hour}[w] {
				t.Fatalf("row %+v", r)
			}
			totals[r.Meter] += r.Value
			rows++
			return nil
		}))
		if totals["llm_input_tokens"] != float64(sum) || totals["llm_output_tokens"] != 40 || rows == 0 {
			t.Errorf("%s export: totals %v over %d rows, want input %d and output 40", w, totals, rows, sum)
		}
	}
}
