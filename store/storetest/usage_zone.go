package storetest

import (
	"testing"
	"time"

	"github.com/tollgate/tollgate/store"
	"github.com/tollgate/tollgate/usage"
)

func usageZoneTests() []test {
	return []test{
		{"ZoneDaysAcrossTheClockChange", testUsageZoneDays},
		{"ZoneMonths", testUsageZoneMonths},
		{"FilterOnDimensions", testUsageFilter},
	}
}

// kyivEvents straddle Kyiv's clock change at 01:00 UTC on 2024-10-27
// (+03:00 to +02:00): Kyiv's 27 October is 25 hours long.
func kyivEvents(t *testing.T, s store.Store) (*usage.Service, *time.Location) {
	t.Helper()
	usageTenants(t, s)
	svc := usageService(t, s)
	kyiv, err := usage.LoadZone("Europe/Kyiv")
	must(t, err)
	at := func(id, model, utc string, tokens int) ev {
		tm, err := time.Parse(time.RFC3339, utc)
		must(t, err)
		return llm("t1", id, "user:1", model, tm.Sub(usageT0), tokens, 0)
	}
	wantResult(t, record(t, svc,
		at("a", "gpt", "2024-10-26T20:59:00Z", 1),       // 23:59 on the 26th
		at("b", "gpt", "2024-10-26T21:00:00Z", 10),      // 00:00 on the 27th
		at("c", "claude", "2024-10-27T00:30:00Z", 100),  // 03:30, summer time
		at("d", "claude", "2024-10-27T01:30:00Z", 1000), // 03:30 again, winter time
		at("e", "gpt", "2024-10-27T21:59:00Z", 10000),   // 23:59 on the 27th
		at("f", "gpt", "2024-10-27T22:00:00Z", 100000),  // 00:00 on the 28th
		at("g", "gpt", "2024-10-31T22:30:00Z", 1000000), // 00:30 on 1 November
	), 7, 0)
	return svc, kyiv
}

func utc(t *testing.T, s string) time.Time {
	t.Helper()
	tm, err := time.Parse(time.RFC3339, s)
	must(t, err)
	return tm
}

func testUsageZoneDays(t *testing.T, s store.Store) {
	svc, kyiv := kyivEvents(t, s)
	rows := query(t, svc, usage.Query{TenantID: "t1", Meter: "llm_input_tokens", Window: usage.WindowDay, Zone: kyiv,
		From: utc(t, "2024-10-25T21:00:00Z"), To: utc(t, "2024-10-28T22:00:00Z")})
	check(t, "Kyiv days", rows, []usage.Row{
		{WindowStart: utc(t, "2024-10-25T21:00:00Z"), WindowEnd: utc(t, "2024-10-26T21:00:00Z"), Value: 1},
		{WindowStart: utc(t, "2024-10-26T21:00:00Z"), WindowEnd: utc(t, "2024-10-27T22:00:00Z"), Value: 11110},
		{WindowStart: utc(t, "2024-10-27T22:00:00Z"), WindowEnd: utc(t, "2024-10-28T22:00:00Z"), Value: 100000},
	})
	// Hours across the change: 03:00-04:00 happens twice, an hour apart.
	rows = query(t, svc, usage.Query{TenantID: "t1", Meter: "llm_input_tokens", Window: usage.WindowHour, Zone: kyiv,
		From: utc(t, "2024-10-27T00:00:00Z"), To: utc(t, "2024-10-27T02:00:00Z")})
	check(t, "Kyiv hours", rows, []usage.Row{
		{WindowStart: utc(t, "2024-10-27T00:00:00Z"), WindowEnd: utc(t, "2024-10-27T01:00:00Z"), Value: 100},
		{WindowStart: utc(t, "2024-10-27T01:00:00Z"), WindowEnd: utc(t, "2024-10-27T02:00:00Z"), Value: 1000},
	})
}

func testUsageZoneMonths(t *testing.T, s store.Store) {
	svc, kyiv := kyivEvents(t, s)
	rows := query(t, svc, usage.Query{TenantID: "t1", Meter: "llm_input_tokens", Window: usage.WindowMonth, Zone: kyiv,
		From: utc(t, "2024-09-30T21:00:00Z"), To: utc(t, "2024-11-30T22:00:00Z")})
	check(t, "Kyiv months", rows, []usage.Row{
		{WindowStart: utc(t, "2024-09-30T21:00:00Z"), WindowEnd: utc(t, "2024-10-31T22:00:00Z"), Value: 111111},
		{WindowStart: utc(t, "2024-10-31T22:00:00Z"), WindowEnd: utc(t, "2024-11-30T22:00:00Z"), Value: 1000000},
	})
	// In UTC the first of November's event is October's.
	rows = query(t, svc, usage.Query{TenantID: "t1", Meter: "llm_input_tokens", Window: usage.WindowMonth,
		From: utc(t, "2024-10-01T00:00:00Z"), To: utc(t, "2024-12-01T00:00:00Z")})
	check(t, "UTC months", rows, []usage.Row{
		{WindowStart: utc(t, "2024-10-01T00:00:00Z"), WindowEnd: utc(t, "2024-11-01T00:00:00Z"), Value: 1111111},
	})
}

func testUsageFilter(t *testing.T, s store.Store) {
	svc, _ := kyivEvents(t, s)
	from, to := utc(t, "2024-10-01T00:00:00Z"), utc(t, "2024-11-01T00:00:00Z")
	for _, c := range []struct {
		name    string
		filter  map[string][]string
		groupBy []string
		want    []usage.Row
	}{
		{"one model", map[string][]string{"model": {"claude"}}, nil, []usage.Row{{WindowStart: from, WindowEnd: to, Value: 1100}}},
		{"either model", map[string][]string{"model": {"claude", "gpt"}}, nil, []usage.Row{{WindowStart: from, WindowEnd: to, Value: 1111111}}},
		{"no such model", map[string][]string{"model": {"llama"}}, nil, nil},
		{"filtered and grouped", map[string][]string{"model": {"claude"}}, []string{"model"},
			[]usage.Row{{WindowStart: from, WindowEnd: to, Value: 1100, GroupBy: map[string]string{"model": "claude"}}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			rows := query(t, svc, usage.Query{TenantID: "t1", Meter: "llm_input_tokens", From: from, To: to, Filter: c.filter, GroupBy: c.groupBy})
			check(t, c.name, rows, c.want)
		})
	}
}
