package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/policy"
	"github.com/tollgate/tollgate/store"
	"github.com/tollgate/tollgate/usage"
)

func usageTests() []test {
	return []test{
		{"RecordsAndRollsUp", testUsageRecordsAndRollsUp},
		{"DuplicatesCountedOnce", testUsageDuplicatesCountedOnce},
		{"RecordedEventAmongNewOnes", testUsageRecordedEventAmongNewOnes},
		{"CrossTenantIsolation", testUsageCrossTenantIsolation},
		{"BatchWithOneBadEvent", testUsageBatchWithOneBadEvent},
		{"LateEventsLandInTheirMinute", testUsageLateEvents},
		{"Aggregations", testUsageAggregations},
		{"GroupBy", testUsageGroupBy},
		{"ConcurrentWritersExact", testUsageConcurrentWriters},
	}
}

// usageT0 is a whole hour, some days before the tests' clock.
var usageT0 = time.Date(2025, 3, 14, 15, 0, 0, 0, time.UTC)

// permitAll is the PDP's part in queries: these cases are about the store;
// who may read is the policies' (tested in policy and httpapi).
type permitAll struct{}

func (permitAll) Authorize(context.Context, identity.ActorContext, string, policy.Request) (policy.Decision, error) {
	return policy.Decision{Decision: policy.Permit}, nil
}

// usageService records into s with the shipped meters and others, on a
// clock an hour after usageT0.
func usageService(t *testing.T, s store.Store, extra ...usage.Meter) *usage.Service {
	t.Helper()
	ms, err := usage.NewMeters(append(append([]usage.Meter{}, usage.Shipped...), extra...))
	must(t, err)
	now := func() time.Time { return usageT0.Add(time.Hour) }
	return usage.NewService(usage.Deps{Store: s, Meters: ms, Authorizer: permitAll{}, Now: now}, usage.Options{})
}

// usageTenants creates tenants t1 and t2.
func usageTenants(t *testing.T, s store.Store) {
	t.Helper()
	newTenant(t, s, "t1", "user:1")
	newTenant(t, s, "t2", "user:2")
}

// ev is a CloudEvent of typ with data, d after usageT0.
type ev struct {
	tenant, source, id, typ, subject string
	d                                time.Duration
	data                             map[string]any
}

func (e ev) json() []byte { return e.jsonAt(usageT0.Add(e.d)) }

// jsonAt is the event at tm.
func (e ev) jsonAt(tm time.Time) []byte {
	m := map[string]any{
		"specversion": "1.0", "id": e.id, "source": e.source, "type": e.typ, "subject": e.subject,
		"time": tm.Format(time.RFC3339Nano), "data": e.data,
	}
	if e.tenant != "" {
		m["tenant"] = e.tenant
	}
	b, _ := json.Marshal(m)
	return b
}

func llm(tenant, id, subject, model string, d time.Duration, in, out int) ev {
	return ev{tenant, "svc/agents", id, usage.TypeLLM, subject, d, map[string]any{"model": model, "input_tokens": in, "output_tokens": out}}
}

func tool(tenant, id, subject, name, status string, d time.Duration, ms float64) ev {
	return ev{tenant, "svc/tools", id, usage.TypeTool, subject, d, map[string]any{"tool": name, "status": status, "duration_ms": ms}}
}

func record(t *testing.T, svc *usage.Service, events ...ev) usage.Result {
	t.Helper()
	batch := make([]usage.Decoded, len(events))
	for i, e := range events {
		ce, err := usage.Decode(e.json())
		batch[i] = usage.Decoded{Event: ce, Err: err}
	}
	return ok(svc.Record(t.Context(), batch))(t)
}

func wantResult(t *testing.T, r usage.Result, accepted, duplicates int, rejected ...int) {
	t.Helper()
	idx := make([]int, len(r.Rejected))
	for i, rj := range r.Rejected {
		idx[i] = rj.Index
	}
	if r.Accepted != accepted || r.Duplicates != duplicates || fmt.Sprint(idx) != fmt.Sprint(rejected) {
		t.Fatalf("result %+v; want %d accepted, %d duplicates, rejected %v", r, accepted, duplicates, rejected)
	}
}

// query asks as a service of every tenant, whose questions permitAll
// answers.
func query(t *testing.T, svc *usage.Service, q usage.Query) []usage.Row {
	t.Helper()
	ac := identity.ActorContext{ActorID: "service:test", ActorType: identity.ActorService}
	return ok(svc.Query(t.Context(), ac, q))(t).Rows
}

// total is a meter's value over the day of usageT0.
func total(t *testing.T, svc *usage.Service, tenant, meter string) float64 {
	t.Helper()
	rows := query(t, svc, usage.Query{TenantID: tenant, Meter: meter, From: usageT0.Add(-24 * time.Hour), To: usageT0.Add(24 * time.Hour)})
	switch len(rows) {
	case 0:
		return 0
	case 1:
		return rows[0].Value
	}
	t.Fatalf("%s of %s: %d rows without a window or group", meter, tenant, len(rows))
	return 0
}

func testUsageRecordsAndRollsUp(t *testing.T, s store.Store) {
	usageTenants(t, s)
	svc := usageService(t, s)
	r := record(t, svc,
		llm("t1", "a", "user:1", "gpt", 10*time.Second, 100, 7),
		llm("t1", "b", "user:1", "gpt", 20*time.Second, 50, 3),
		llm("t1", "c", "agent:9", "claude", 61*time.Second, 1, 0),
		tool("t1", "d", "agent:9", "search", "ok", 30*time.Second, 12.5),
	)
	wantResult(t, r, 4, 0)
	if got := total(t, svc, "t1", "llm_input_tokens"); got != 151 {
		t.Errorf("llm_input_tokens = %v, want 151", got)
	}
	if got := total(t, svc, "t1", "llm_output_tokens"); got != 10 {
		t.Errorf("llm_output_tokens = %v, want 10", got)
	}
	if got := total(t, svc, "t1", "tool_runs"); got != 1 {
		t.Errorf("tool_runs = %v, want 1", got)
	}
	if got := total(t, svc, "t1", "tool_duration_ms"); got != 12.5 {
		t.Errorf("tool_duration_ms = %v, want 12.5", got)
	}
	// Per minute: the first two events share usageT0's minute.
	rows := query(t, svc, usage.Query{TenantID: "t1", Meter: "llm_input_tokens", From: usageT0, To: usageT0.Add(time.Hour), Window: usage.WindowMinute})
	check(t, "minute rows", rows, []usage.Row{
		{WindowStart: usageT0, WindowEnd: usageT0.Add(time.Minute), Value: 150},
		{WindowStart: usageT0.Add(time.Minute), WindowEnd: usageT0.Add(2 * time.Minute), Value: 1},
	})
	// Raw events stay: recording the same ids again adds nothing.
	wantResult(t, record(t, svc, llm("t1", "a", "user:1", "gpt", 10*time.Second, 100, 7)), 0, 1)
}

func testUsageDuplicatesCountedOnce(t *testing.T, s store.Store) {
	usageTenants(t, s)
	svc := usageService(t, s)
	e := llm("t1", "same", "user:1", "gpt", 0, 10, 1)
	// Twice in one batch, then again in later batches, even with other
	// data (a publisher's retry must not change what was counted).
	wantResult(t, record(t, svc, e, e), 1, 1)
	changed := e
	changed.data = map[string]any{"model": "gpt", "input_tokens": 999}
	wantResult(t, record(t, svc, changed, e), 0, 2)
	// The same id from another source is another event.
	other := e
	other.source = "svc/other"
	wantResult(t, record(t, svc, other), 1, 0)
	if got := total(t, svc, "t1", "llm_input_tokens"); got != 20 {
		t.Errorf("llm_input_tokens = %v, want 20 (two distinct events of 10)", got)
	}
}

// testUsageRecordedEventAmongNewOnes: a batch of new events holding one
// recorded by an earlier batch counts the new ones and only them, the first
// time (when PostgreSQL's batch went in as all new and failed on the
// recorded one) and again right after (when it goes through ON CONFLICT).
func testUsageRecordedEventAmongNewOnes(t *testing.T, s store.Store) {
	usageTenants(t, s)
	svc := usageService(t, s)
	a, b, c, d, e := llm("t1", "a", "user:1", "gpt", 0, 1, 0), llm("t1", "b", "user:1", "gpt", 0, 10, 0),
		llm("t1", "c", "user:2", "gpt", time.Minute, 100, 0), llm("t1", "d", "user:1", "gpt", 0, 1000, 0),
		llm("t1", "e", "user:2", "gpt", time.Minute, 10000, 0)
	wantResult(t, record(t, svc, a, b), 2, 0)
	r := record(t, svc, c, b, d)
	wantResult(t, r, 2, 1)
	if r.Statuses[1] != usage.Duplicate || r.Statuses[0] != usage.Accepted || r.Statuses[2] != usage.Accepted {
		t.Fatalf("statuses %v; want accepted, duplicate, accepted", r.Statuses)
	}
	wantResult(t, record(t, svc, e, a), 1, 1)
	if got := total(t, svc, "t1", "llm_input_tokens"); got != 11111 {
		t.Errorf("llm_input_tokens = %v, want 11111 (a, b, c, d, e once each)", got)
	}
}

func testUsageCrossTenantIsolation(t *testing.T, s store.Store) {
	usageTenants(t, s)
	svc := usageService(t, s)
	// The same source and id in two tenants are two events: one tenant's
	// ids can neither shadow nor be shadowed by another's.
	wantResult(t, record(t, svc,
		llm("t1", "x", "user:1", "gpt", 0, 5, 0),
		llm("t2", "x", "user:1", "gpt", 0, 7, 0),
	), 2, 0)
	if got := total(t, svc, "t1", "llm_input_tokens"); got != 5 {
		t.Errorf("t1 sees %v, want its own 5", got)
	}
	if got := total(t, svc, "t2", "llm_input_tokens"); got != 7 {
		t.Errorf("t2 sees %v, want its own 7", got)
	}
	// Grouping by subject lists the tenant's subjects only.
	rows := query(t, svc, usage.Query{TenantID: "t1", Meter: "llm_input_tokens", From: usageT0, To: usageT0.Add(time.Hour), GroupBy: []string{"subject"}})
	if len(rows) != 1 || rows[0].Value != 5 {
		t.Errorf("t1 by subject: %+v", rows)
	}
	if got := total(t, svc, "t3", "llm_input_tokens"); got != 0 {
		t.Errorf("an unknown tenant has usage %v", got)
	}
}

func testUsageBatchWithOneBadEvent(t *testing.T, s store.Store) {
	usageTenants(t, s)
	svc := usageService(t, s)
	bad := llm("t1", "neg", "user:1", "gpt", 0, -1, 0)
	future := llm("t1", "future", "user:1", "gpt", 2*time.Hour, 1, 0)
	ghost := llm("nope", "ghost", "user:1", "gpt", 0, 1, 0)
	noTenant := llm("", "orphan", "user:1", "gpt", 0, 1, 0)
	r := record(t, svc, llm("t1", "ok1", "user:1", "gpt", 0, 2, 0), bad, future, ghost, noTenant, llm("t1", "ok2", "user:1", "gpt", 0, 3, 0))
	wantResult(t, r, 2, 0, 1, 2, 3, 4)
	codes := map[int]string{}
	for _, rj := range r.Rejected {
		codes[rj.Index] = rj.Code
	}
	check(t, "codes", codes, map[int]string{1: "usage_event_invalid", 2: "usage_event_in_future", 3: "usage_tenant_unknown", 4: "usage_event_invalid"})
	if got := total(t, svc, "t1", "llm_input_tokens"); got != 5 {
		t.Errorf("llm_input_tokens = %v, want the two good events' 5", got)
	}
	// A rejected event left no trace: sent again, fixed, it counts.
	fixed := bad
	fixed.data = map[string]any{"model": "gpt", "input_tokens": 4}
	wantResult(t, record(t, svc, fixed), 1, 0)
	// A batch of only bad events touches nothing and is no error.
	wantResult(t, record(t, svc, ghost, bad), 0, 0, 0, 1)
}

func testUsageLateEvents(t *testing.T, s store.Store) {
	usageTenants(t, s)
	svc := usageService(t, s)
	late := -3*24*time.Hour + 90*time.Second
	wantResult(t, record(t, svc, llm("t1", "now", "user:1", "gpt", 0, 1, 0), llm("t1", "late", "user:1", "gpt", late, 10, 0)), 2, 0)
	day := usageT0.Truncate(24 * time.Hour)
	rows := query(t, svc, usage.Query{TenantID: "t1", Meter: "llm_input_tokens", From: day.Add(-4 * 24 * time.Hour), To: day.Add(24 * time.Hour), Window: usage.WindowDay})
	check(t, "day rows", rows, []usage.Row{
		{WindowStart: day.Add(-3 * 24 * time.Hour), WindowEnd: day.Add(-2 * 24 * time.Hour), Value: 10},
		{WindowStart: day, WindowEnd: day.Add(24 * time.Hour), Value: 1},
	})
	lateMinute := usageT0.Add(late).Truncate(time.Minute)
	rows = query(t, svc, usage.Query{TenantID: "t1", Meter: "llm_input_tokens", From: lateMinute, To: lateMinute.Add(time.Minute), Window: usage.WindowMinute})
	check(t, "late minute", rows, []usage.Row{{WindowStart: lateMinute, WindowEnd: lateMinute.Add(time.Minute), Value: 10}})
}

// toolMeters measure tool runs by the aggregations that do not add up.
var toolMeters = []usage.Meter{
	{Name: "peak_ms", EventType: usage.TypeTool, Aggregation: usage.Max, ValuePath: "duration_ms", GroupBy: []string{}},
	{Name: "last_ms", EventType: usage.TypeTool, Aggregation: usage.Latest, ValuePath: "duration_ms", GroupBy: []string{}},
	{Name: "tools_used", EventType: usage.TypeTool, Aggregation: usage.UniqueCount, ValuePath: "tool", GroupBy: []string{}},
}

func testUsageAggregations(t *testing.T, s store.Store) {
	usageTenants(t, s)
	svc := usageService(t, s, toolMeters...)
	// Arriving out of order, in two batches: LATEST follows the events'
	// times, not their arrival.
	wantResult(t, record(t, svc,
		tool("t1", "3", "agent:1", "b", "ok", 3*time.Minute, 30),
		tool("t1", "1", "agent:1", "a", "ok", 1*time.Minute, 50),
	), 2, 0)
	wantResult(t, record(t, svc,
		tool("t1", "2", "agent:1", "a", "ok", 2*time.Minute, 70),
		tool("t1", "0", "agent:1", "a", "ok", 0, 10),
	), 2, 0)
	for meter, want := range map[string]float64{"peak_ms": 70, "last_ms": 30, "tools_used": 2, "tool_runs": 4, "tool_duration_ms": 160} {
		if got := total(t, svc, "t1", meter); got != want {
			t.Errorf("%s = %v, want %v", meter, got, want)
		}
	}
	// UNIQUE_COUNT per window counts distinct values in each window, not
	// the sum of minutes: "a" in three minutes is one tool.
	rows := query(t, svc, usage.Query{TenantID: "t1", Meter: "tools_used", From: usageT0, To: usageT0.Add(time.Hour), Window: usage.WindowHour})
	check(t, "unique per hour", rows, []usage.Row{{WindowStart: usageT0, WindowEnd: usageT0.Add(time.Hour), Value: 2}})
	// The same microsecond: the greater source and id wins, whatever the
	// order of arrival.
	tie := tool("t1", "z", "agent:1", "a", "ok", 3*time.Minute, 99)
	wantResult(t, record(t, svc, tie), 1, 0)
	if got := total(t, svc, "t1", "last_ms"); got != 99 {
		t.Errorf("last_ms after a tie = %v, want 99 (id z > 3)", got)
	}
}

func testUsageGroupBy(t *testing.T, s store.Store) {
	usageTenants(t, s)
	svc := usageService(t, s)
	wantResult(t, record(t, svc,
		tool("t1", "1", "agent:1", "search", "ok", 0, 1),
		tool("t1", "2", "agent:1", "search", "error", 0, 1),
		tool("t1", "3", "agent:2", "search", "ok", 0, 1),
		tool("t1", "4", "agent:2", "fetch", "ok", time.Hour+time.Minute, 1),
	), 4, 0)
	from, to := usageT0, usageT0.Add(2*time.Hour)
	hour := func(h int) (time.Time, time.Time) {
		s := usageT0.Add(time.Duration(h) * time.Hour)
		return s, s.Add(time.Hour)
	}
	str := func(s string) *string { return &s }
	// By tool: the statuses of a tool fold into one row.
	rows := query(t, svc, usage.Query{TenantID: "t1", Meter: "tool_runs", From: from, To: to, Window: usage.WindowHour, GroupBy: []string{"tool"}})
	h0s, h0e := hour(0)
	h1s, h1e := hour(1)
	check(t, "by tool", rows, []usage.Row{
		{WindowStart: h0s, WindowEnd: h0e, Value: 3, GroupBy: map[string]string{"tool": "search"}},
		{WindowStart: h1s, WindowEnd: h1e, Value: 1, GroupBy: map[string]string{"tool": "fetch"}},
	})
	rows = query(t, svc, usage.Query{TenantID: "t1", Meter: "tool_runs", From: from, To: to, GroupBy: []string{"subject", "status"}})
	check(t, "by subject and status", rows, []usage.Row{
		{WindowStart: from, WindowEnd: to, Value: 1, Subject: str("agent:1"), GroupBy: map[string]string{"status": "error"}},
		{WindowStart: from, WindowEnd: to, Value: 1, Subject: str("agent:1"), GroupBy: map[string]string{"status": "ok"}},
		{WindowStart: from, WindowEnd: to, Value: 2, Subject: str("agent:2"), GroupBy: map[string]string{"status": "ok"}},
	})
	// One subject's usage alone.
	rows = query(t, svc, usage.Query{TenantID: "t1", Meter: "tool_runs", From: from, To: to, Subject: "agent:2"})
	check(t, "agent:2", rows, []usage.Row{{WindowStart: from, WindowEnd: to, Value: 2}})
}

// testUsageConcurrentWriters records overlapping batches from several
// goroutines, as replicas and redeliveries do: every event counts once.
func testUsageConcurrentWriters(t *testing.T, s store.Store) {
	usageTenants(t, s)
	svc := usageService(t, s)
	const writers, events = 4, 300
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			// Each writer sends every event, in its own order and batches.
			batch := make([]ev, 0, 100)
			for i := range events {
				j := (i*7 + w*13) % events
				batch = append(batch, llm("t1", fmt.Sprintf("e%04d", j), fmt.Sprintf("user:%d", j%5), "gpt", time.Duration(j%50)*time.Second, j, 1))
				if len(batch) == cap(batch) {
					recordConcurrently(t, svc, batch)
					batch = batch[:0]
				}
			}
		})
	}
	wg.Wait()
	want := float64(events * (events - 1) / 2)
	if got := total(t, svc, "t1", "llm_input_tokens"); got != want {
		t.Errorf("llm_input_tokens = %v, want %v", got, want)
	}
	if got := total(t, svc, "t1", "llm_output_tokens"); got != events {
		t.Errorf("llm_output_tokens = %v, want %d", got, events)
	}
}

// recordConcurrently is record for goroutines other than the test's: it
// reports a failure without stopping the goroutine.
func recordConcurrently(t *testing.T, svc *usage.Service, events []ev) {
	batch := make([]usage.Decoded, len(events))
	for i, e := range events {
		ce, err := usage.Decode(e.json())
		batch[i] = usage.Decoded{Event: ce, Err: err}
	}
	if _, err := svc.Record(t.Context(), batch); err != nil {
		t.Errorf("record: %v", err)
	}
}
