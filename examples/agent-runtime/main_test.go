package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/tollgate/tollgate/examples/internal/fakepdp"
	"github.com/tollgate/tollgate/examples/internal/seedsvc"
	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/sdk/pep"
)

type recorder struct {
	mu     sync.Mutex
	events []UsageEvent
}

func (r *recorder) Report(_ context.Context, e UsageEvent) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
	return nil
}

func TestRun(t *testing.T) {
	f := fakepdp.New(t, func(q fakepdp.Question) string {
		if q.TenantID == "t1" && q.Action == "EXECUTE_TOOL" && q.Resource == (pep.Resource{Type: "tool", ID: "search"}) && q.Principal == "agent:a" && q.OnBehalfOf == "user:m" {
			return "tool_agent"
		}
		return ""
	})
	pdp, _ := f.Clients(t)
	usage := &recorder{}
	h := (&server{Server: seedsvc.Server{PDP: pdp}, usage: usage}).routes(fakepdp.Actors(map[string]identity.ActorContext{
		"agent":  {ActorID: "agent:a", TenantID: "t1", OnBehalfOf: "user:m"},
		"direct": {ActorID: "agent:a", TenantID: "t1"},
	}))

	code, out := fakepdp.Send(t, h, "POST", "/run", "agent", map[string]any{"tool": "search", "input": map[string]string{"q": "x"}})
	if o, _ := out["output"].(map[string]any); code != http.StatusOK || o["q"] != "x" {
		t.Fatalf("running search: %d %v", code, out)
	}
	code, out = fakepdp.Send(t, h, "POST", "/run", "agent", map[string]any{"tool": "deploy"})
	if reasons, _ := out["reasons"].([]any); code != http.StatusForbidden || len(reasons) != 1 || reasons[0] != "default_deny" {
		t.Fatalf("running deploy: %d %v", code, out)
	}
	if code, _ := fakepdp.Send(t, h, "POST", "/run", "direct", map[string]any{"tool": "search"}); code != http.StatusForbidden {
		t.Fatalf("running search without a human: %d", code)
	}
	if code, _ := fakepdp.Send(t, h, "POST", "/run", "agent", map[string]any{}); code != http.StatusBadRequest {
		t.Fatalf("running nothing: %d", code)
	}
	usage.mu.Lock()
	events := usage.events
	usage.mu.Unlock()
	if len(events) != 1 || events[0].Type != "usage.tool" || events[0].Tool != "search" || events[0].ActorID != "agent:a" ||
		events[0].OnBehalfOf != "user:m" || events[0].TenantID != "t1" || events[0].Units != 1 {
		t.Fatalf("usage events: %+v", events)
	}
	if attrs := f.Resource("t1/tool/search"); attrs != nil {
		t.Fatalf("the runtime registered a tool: %v", attrs)
	}
	f.SetDown(true)
	if code, _ := fakepdp.Send(t, h, "POST", "/run", "agent", map[string]any{"tool": "search"}); code != http.StatusServiceUnavailable {
		t.Fatalf("running, Tollgate down: %d", code)
	}
}

func TestLogReporter(t *testing.T) {
	var buf bytes.Buffer
	r := &LogReporter{Log: slog.New(slog.NewJSONHandler(&buf, nil))}
	if err := r.Report(context.Background(), UsageEvent{Type: "usage.tool", TenantID: "t1", ActorID: "agent:a", Tool: "search", Units: 1}); err != nil {
		t.Fatal(err)
	}
	var rec map[string]any
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil || rec["msg"] != "usage.tool" || rec["tool"] != "search" || rec["actor_id"] != "agent:a" {
		t.Fatalf("%v: %s", err, strings.TrimSpace(buf.String()))
	}
}
