package policy_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/tollgate/tollgate/policy"
)

type recorder struct {
	mu      sync.Mutex
	records []policy.DecisionRecord
}

func (r *recorder) Record(_ context.Context, d policy.DecisionRecord) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.records = append(r.records, d)
}

func TestDecisionLogSampling(t *testing.T) {
	src := &fakeSource{data: map[string]policy.TenantData{}}
	src.set(seedTenant(t))
	c, err := policy.NewCompiler()
	if err != nil {
		t.Fatal(err)
	}
	permit := policy.Request{Principal: "user:93", Action: "READ", Resource: policy.ResourceRef{Type: "channel", ID: "channel-general-daarion"}}
	deny := policy.Request{Principal: "user:999", Action: "READ", Resource: policy.ResourceRef{Type: "channel", ID: "channel-general-daarion"}}
	for _, tc := range []struct {
		rate          float64
		permits, want int
	}{
		{0, 0, 1},    // every deny, no permit
		{1, 1, 2},    // every permit too
		{0.5, -1, 0}, // some permits: not asserted, only that denies are all there
	} {
		rec := &recorder{}
		e := policy.NewEngine(policy.EngineDeps{Source: src, Compiler: c, Decisions: rec}, policy.EngineOptions{PermitSampleRate: tc.rate})
		d := e.Authorize(context.Background(), "7", permit)
		e.Authorize(context.Background(), "7", deny)
		denies, permits := 0, 0
		for _, r := range rec.records {
			if r.Decision.Permitted() {
				permits++
				if r.Decision.DecisionID != d.DecisionID || r.TenantID != "7" || r.Request.Principal != "user:93" {
					t.Fatalf("permit record: %+v", r)
				}
			} else {
				denies++
			}
		}
		if denies != 1 || (tc.permits >= 0 && (permits != tc.permits || len(rec.records) != tc.want)) {
			t.Fatalf("rate %v: %d denies and %d permits recorded", tc.rate, denies, permits)
		}
	}
}

func TestLogDecisionsWritesAndDrops(t *testing.T) {
	var buf bytes.Buffer
	var mu sync.Mutex
	log := slog.New(slog.NewJSONHandler(&lockedWriter{w: &buf, mu: &mu}, nil))
	l := policy.NewLogDecisions(log, 1)
	rec := policy.DecisionRecord{TenantID: "7", Request: policy.Request{Principal: "user:1", Action: "READ"},
		Decision:  policy.Decision{Decision: "deny", Reasons: []string{"default_deny"}, DecisionID: "d1"},
		RequestID: "req-1", TraceID: "4bf92f3577b34da6a3ce929d0e0e4736", ActorID: "user:1"}
	for range 1000 {
		l.Record(context.Background(), rec)
	}
	l.Close()
	mu.Lock()
	defer mu.Unlock()
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if int64(len(lines))+l.Dropped() != 1000 || len(lines) == 0 {
		t.Fatalf("%d lines written and %d dropped of 1000", len(lines), l.Dropped())
	}
	var first map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil {
		t.Fatal(err)
	}
	if first["msg"] != "decision" || first["decision_id"] != "d1" || first["tenant_id"] != "7" || first["decision"] != "deny" ||
		first["request_id"] != "req-1" || first["trace_id"] != "4bf92f3577b34da6a3ce929d0e0e4736" || first["actor_id"] != "user:1" {
		t.Fatalf("line: %v", first)
	}
}

type lockedWriter struct {
	w  *bytes.Buffer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
