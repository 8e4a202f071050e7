package storetest

import (
	"testing"
	"time"

	"github.com/tollgate/tollgate/store"
	"github.com/tollgate/tollgate/usage"
)

func usageCorrectionTests() []test {
	return []test{
		{"VoidTakesAnEventOut", testUsageVoid},
		{"VoidRejections", testUsageVoidRejections},
		{"AmendReplacesData", testUsageAmend},
		{"VoidMeasuresMaxLatestUniqueAgain", testUsageVoidRemeasures},
		{"VoidInTheSameBatch", testUsageVoidSameBatch},
	}
}

func void(tenant, id, target, source string) ev {
	data := map[string]any{"event_id": target}
	if source != "" {
		data["source"] = source
	}
	return ev{tenant, "svc/billing", id, usage.TypeVoid, "service:billing", 2 * time.Minute, data}
}

func amend(tenant, id, target, source string, data map[string]any) ev {
	return ev{tenant, "svc/billing", id, usage.TypeAmend, "service:billing", 2 * time.Minute,
		map[string]any{"event_id": target, "source": source, "data": data}}
}

// rejectedWith checks that the result's only rejection has code.
func rejectedWith(t *testing.T, r usage.Result, code string) {
	t.Helper()
	if len(r.Rejected) != 1 || r.Rejected[0].Code != code {
		t.Fatalf("rejected %+v, want one %s", r.Rejected, code)
	}
}

func testUsageVoid(t *testing.T, s store.Store) {
	usageTenants(t, s)
	svc := usageService(t, s)
	wantResult(t, record(t, svc, llm("t1", "1", "user:1", "gpt", 0, 10, 1), llm("t1", "2", "user:1", "gpt", time.Minute, 20, 2)), 2, 0)
	wantResult(t, record(t, svc, void("t1", "v1", "1", "svc/agents")), 1, 0)
	for meter, want := range map[string]float64{"llm_input_tokens": 20, "llm_output_tokens": 2} {
		if got := total(t, svc, "t1", meter); got != want {
			t.Errorf("%s after the void = %v, want %v", meter, got, want)
		}
	}
	// The same void again is a duplicate, like any event: nothing moves.
	wantResult(t, record(t, svc, void("t1", "v1", "1", "svc/agents")), 0, 1)
	if got := total(t, svc, "t1", "llm_input_tokens"); got != 20 {
		t.Errorf("after the duplicate void = %v, want 20", got)
	}
	// The voided event is still in the raw log: it is still a duplicate.
	wantResult(t, record(t, svc, llm("t1", "1", "user:1", "gpt", 0, 10, 1)), 0, 1)
	// The export adds up to the raw events with the void applied.
	rows := query(t, svc, usage.Query{TenantID: "t1", Meter: "llm_input_tokens", From: usageT0, To: usageT0.Add(time.Hour), Window: usage.WindowMinute})
	check(t, "minutes", rows, []usage.Row{
		{WindowStart: usageT0, WindowEnd: usageT0.Add(time.Minute), Value: 0},
		{WindowStart: usageT0.Add(time.Minute), WindowEnd: usageT0.Add(2 * time.Minute), Value: 20},
	})
}

func testUsageVoidRejections(t *testing.T, s store.Store) {
	usageTenants(t, s)
	svc := usageService(t, s)
	wantResult(t, record(t, svc, llm("t1", "1", "user:1", "gpt", 0, 10, 0), llm("t2", "9", "user:2", "gpt", 0, 7, 0)), 2, 0)
	wantResult(t, record(t, svc, void("t1", "v1", "1", "svc/agents")), 1, 0)
	for _, c := range []struct {
		name string
		e    ev
		code string
	}{
		{"an event voided already", void("t1", "v2", "1", "svc/agents"), string(usage.CodeCorrectionVoided)},
		{"an amendment of a voided event", amend("t1", "a1", "1", "svc/agents", map[string]any{"model": "gpt", "input_tokens": 1}), string(usage.CodeCorrectionVoided)},
		{"a void", void("t1", "v3", "v1", ""), string(usage.CodeCorrectionVoided)},
		{"an unknown event", void("t1", "v4", "nope", "svc/agents"), string(usage.CodeCorrectionUnknown)},
		{"the void's own source by default", void("t1", "v5", "1", ""), string(usage.CodeCorrectionUnknown)},
		{"another tenant's event", void("t1", "v6", "9", "svc/agents"), string(usage.CodeCorrectionUnknown)},
		{"replacement data the type refuses", amend("t2", "a2", "9", "svc/agents", map[string]any{"input_tokens": 1}), string(usage.CodeInvalidEvent)},
	} {
		t.Run(c.name, func(t *testing.T) {
			rejectedWith(t, record(t, svc, c.e), c.code)
		})
	}
	// A rejected correction is recorded nowhere: sent again once it can
	// apply, it is not a duplicate.
	wantResult(t, record(t, svc, amend("t2", "a2", "9", "svc/agents", map[string]any{"model": "gpt", "input_tokens": 1})), 1, 0)
	for tenant, want := range map[string]float64{"t1": 0, "t2": 1} {
		if got := total(t, svc, tenant, "llm_input_tokens"); got != want {
			t.Errorf("%s = %v, want %v", tenant, got, want)
		}
	}
}

func testUsageAmend(t *testing.T, s store.Store) {
	usageTenants(t, s)
	svc := usageService(t, s)
	wantResult(t, record(t, svc, llm("t1", "1", "user:1", "gpt", 0, 10, 0), llm("t1", "2", "user:1", "gpt", 0, 20, 0)), 2, 0)
	byModel := func() []usage.Row {
		return query(t, svc, usage.Query{TenantID: "t1", Meter: "llm_input_tokens", From: usageT0, To: usageT0.Add(time.Hour), GroupBy: []string{"model", "subject"}})
	}
	row := func(model string, v float64) usage.Row {
		subject := "user:1"
		return usage.Row{WindowStart: usageT0, WindowEnd: usageT0.Add(time.Hour), Value: v, Subject: &subject, GroupBy: map[string]string{"model": model}}
	}
	// The amendment counts with the amended event's subject and time, its
	// own data: another model.
	wantResult(t, record(t, svc, amend("t1", "a1", "2", "svc/agents", map[string]any{"model": "claude", "input_tokens": 5})), 1, 0)
	check(t, "amended", byModel(), []usage.Row{row("claude", 5), row("gpt", 10)})
	// An amendment of the amendment replaces it in turn.
	wantResult(t, record(t, svc, amend("t1", "a2", "a1", "svc/billing", map[string]any{"model": "claude", "input_tokens": 7})), 1, 0)
	check(t, "amended twice", byModel(), []usage.Row{row("claude", 7), row("gpt", 10)})
	// A void of the amendment leaves nothing of the amended event.
	wantResult(t, record(t, svc, void("t1", "v1", "a2", "")), 1, 0)
	check(t, "amendment voided", byModel(), []usage.Row{row("claude", 0), row("gpt", 10)})
}

func testUsageVoidRemeasures(t *testing.T, s store.Store) {
	usageTenants(t, s)
	svc := usageService(t, s, toolMeters...)
	// Three events in one minute; the voided one is the largest, the
	// latest and the only "b".
	wantResult(t, record(t, svc,
		tool("t1", "1", "agent:1", "a", "ok", 10*time.Second, 50),
		tool("t1", "2", "agent:1", "b", "ok", 50*time.Second, 90),
		tool("t1", "3", "agent:1", "a", "ok", 30*time.Second, 20),
	), 3, 0)
	wantResult(t, record(t, svc, void("t1", "v", "2", "svc/tools")), 1, 0)
	for meter, want := range map[string]float64{"peak_ms": 50, "last_ms": 20, "tools_used": 1, "tool_runs": 2, "tool_duration_ms": 70} {
		if got := total(t, svc, "t1", meter); got != want {
			t.Errorf("%s after the void = %v, want %v", meter, got, want)
		}
	}
	// An amendment of the largest makes it larger still, and latest.
	wantResult(t, record(t, svc, amend("t1", "a", "1", "svc/tools", map[string]any{"tool": "c", "status": "ok", "duration_ms": 99})), 1, 0)
	for meter, want := range map[string]float64{"peak_ms": 99, "last_ms": 20, "tools_used": 2, "tool_runs": 2, "tool_duration_ms": 119} {
		if got := total(t, svc, "t1", meter); got != want {
			t.Errorf("%s after the amendment = %v, want %v", meter, got, want)
		}
	}
}

func testUsageVoidSameBatch(t *testing.T, s store.Store) {
	usageTenants(t, s)
	svc := usageService(t, s)
	wantResult(t, record(t, svc, void("t1", "v", "1", "svc/agents"), llm("t1", "1", "user:1", "gpt", 0, 10, 0), llm("t1", "2", "user:1", "gpt", 0, 3, 0)), 3, 0)
	if got := total(t, svc, "t1", "llm_input_tokens"); got != 3 {
		t.Errorf("after a void in the same batch = %v, want 3", got)
	}
}
