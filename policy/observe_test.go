package policy_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/tollgate/tollgate/audit"
	"github.com/tollgate/tollgate/policy"
)

// countedMetrics keeps what the engine reports.
type countedMetrics struct {
	mu        sync.Mutex
	decisions []string // "outcome/reason class"
	took      []time.Duration
}

func (m *countedMetrics) Decided(outcome, class string, took time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.decisions = append(m.decisions, outcome+"/"+class)
	m.took = append(m.took, took)
}

func (m *countedMetrics) SnapshotApplied(string, time.Duration, int) {}
func (m *countedMetrics) SnapshotStaleness(time.Duration)            {}

// TestEngineCountsEveryDecision: each decision, alone or in a batch, is
// reported once with its outcome and reason class; lookups are not
// decisions.
func TestEngineCountsEveryDecision(t *testing.T) {
	src := &fakeSource{data: map[string]policy.TenantData{}}
	src.set(seedTenant(t))
	c, err := policy.NewCompiler()
	if err != nil {
		t.Fatal(err)
	}
	m := &countedMetrics{}
	e := policy.NewEngine(policy.EngineDeps{Source: src, Compiler: c, Metrics: m}, policy.EngineOptions{})
	ctx := context.Background()
	channel := policy.ResourceRef{Type: "channel", ID: "channel-general-daarion"}
	permit := policy.Request{Principal: "user:93", Action: "READ", Resource: channel}
	deny := policy.Request{Principal: "user:999", Action: "READ", Resource: channel}
	invalid := policy.Request{Principal: "user:93", Action: "NO_SUCH_ACTION", Resource: channel}

	e.Authorize(ctx, "7", permit)
	e.Authorize(ctx, "7", deny)
	e.AuthorizeBatch(ctx, "7", []policy.Request{permit, invalid})
	e.Authorize(ctx, "no-such-tenant", permit)
	e.AuthorizeBatch(ctx, "no-such-tenant", []policy.Request{permit, deny})
	if _, err := e.Lookup(ctx, "7", policy.LookupQuery{Principal: "user:93", Action: "READ", ResourceType: "channel"}); err != nil {
		t.Fatal(err)
	}

	want := []string{
		"permit/policy", "deny/default_deny", "permit/policy", "deny/invalid_request",
		"deny/unavailable", "deny/unavailable", "deny/unavailable",
	}
	if !slices.Equal(m.decisions, want) {
		t.Fatalf("reported %v, want %v", m.decisions, want)
	}
	for i, d := range m.took {
		if d < 0 {
			t.Fatalf("decision %d took %v", i, d)
		}
	}
}

// TestDecisionRecordNamesTheRequest: the record of a decision carries the
// request id, trace id and caller of the context it was asked in.
func TestDecisionRecordNamesTheRequest(t *testing.T) {
	src := &fakeSource{data: map[string]policy.TenantData{}}
	src.set(seedTenant(t))
	c, err := policy.NewCompiler()
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	e := policy.NewEngine(policy.EngineDeps{Source: src, Compiler: c, Decisions: rec}, policy.EngineOptions{})
	deny := policy.Request{Principal: "user:999", Action: "READ", Resource: policy.ResourceRef{Type: "channel", ID: "channel-general-daarion"}}

	asked := audit.WithOrigin(context.Background(), audit.Origin{
		ActorID: "service:messaging", RequestID: "req-1", TraceID: "4bf92f3577b34da6a3ce929d0e0e4736",
	})
	e.Authorize(asked, "7", deny)
	e.AuthorizeBatch(asked, "7", []policy.Request{deny})
	e.Authorize(context.Background(), "7", deny) // in process: no request
	if len(rec.records) != 3 {
		t.Fatalf("%d records", len(rec.records))
	}
	for i, r := range rec.records[:2] {
		if r.RequestID != "req-1" || r.TraceID != "4bf92f3577b34da6a3ce929d0e0e4736" || r.ActorID != "service:messaging" || r.TenantID != "7" {
			t.Fatalf("record %d: %+v", i, r)
		}
	}
	if r := rec.records[2]; r.RequestID != "" || r.TraceID != "" || r.ActorID != "" {
		t.Fatalf("in-process record: %+v", r)
	}
}
