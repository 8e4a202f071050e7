package usage

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tollgate/tollgate/audit"
	"github.com/tollgate/tollgate/fault"
)

func TestValidateQuotas(t *testing.T) {
	ms := ShippedMeters()
	many := make([]Quota, MaxActorQuotas+1)
	for i := range many {
		many[i] = Quota{Meter: "tool_runs", Actor: "agent:" + string(rune('a'+i%26)) + strings.Repeat("x", i/26), Limit: 1}
	}
	for _, c := range []struct {
		name  string
		qs    []Quota
		field string
	}{
		{"none", []Quota{}, ""},
		{"tenant and actor", []Quota{{Meter: "tool_runs", Limit: 100}, {Meter: "tool_runs", Actor: "agent:7", Limit: 10}}, ""},
		{"unknown meter", []Quota{{Meter: "nope", Limit: 1}}, "quotas[0].meter"},
		{"zero limit", []Quota{{Meter: "tool_runs", Limit: 0}}, "quotas[0].limit"},
		{"fractional limit", []Quota{{Meter: "tool_runs", Limit: 1.5}}, "quotas[0].limit"},
		{"huge limit", []Quota{{Meter: "tool_runs", Limit: 1 << 60}}, "quotas[0].limit"},
		{"bad actor", []Quota{{Meter: "tool_runs", Actor: "bob", Limit: 1}}, "quotas[0].actor"},
		{"duplicate", []Quota{{Meter: "tool_runs", Limit: 1}, {Meter: "tool_runs", Limit: 2}}, "quotas[1]"},
		{"too many actors", many, "quotas"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := ValidateQuotas(ms, "t1", c.qs)
			var fe *fault.Error
			switch {
			case c.field == "" && err != nil:
				t.Fatalf("err = %v", err)
			case c.field != "" && (!errors.As(err, &fe) || fe.Field != c.field):
				t.Fatalf("err = %v, want one on %s", err, c.field)
			}
		})
	}
}

// quotaStore keeps quotas and claims in memory, as the conformance suite
// checks the SQL ones do.
type quotaStore struct {
	mu      sync.Mutex
	quotas  map[string][]Quota
	claimed map[Crossing]bool
	reads   int
	// audited are the audit events each claim would write with it.
	audited [][]audit.Event
}

func (s *quotaStore) TenantQuotas(_ context.Context, tenantID string) (Quotas, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reads++
	return Quotas{TenantID: tenantID, Quotas: s.quotas[tenantID]}, nil
}

func (s *quotaStore) SetTenantQuotas(_ context.Context, q Quotas) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.quotas[q.TenantID] = q.Quotas
	return nil
}

func (s *quotaStore) ClaimQuotaThreshold(ctx context.Context, c Crossing) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.audited = append(s.audited, audit.TakePending(ctx))
	k := Crossing{TenantID: c.TenantID, Meter: c.Meter, Actor: c.Actor, Threshold: c.Threshold, Period: c.Period}
	if s.claimed[k] {
		return false, nil
	}
	s.claimed[k] = true
	return true, nil
}

type published struct {
	mu   sync.Mutex
	msgs []Crossing
}

func (p *published) Publish(_ context.Context, subject string, data []byte) error {
	var c Crossing
	if subject != SubjectQuotaThreshold || json.Unmarshal(data, &c) != nil {
		return errors.New("unexpected message")
	}
	p.mu.Lock()
	p.msgs = append(p.msgs, c)
	p.mu.Unlock()
	return nil
}

type clock struct{ t time.Time }

func (c *clock) now() time.Time      { return c.t }
func (c *clock) add(d time.Duration) { c.t = c.t.Add(d) }

func newQuotaWorld(t *testing.T) (*QuotaCache, *totalsStore, *quotaStore, *published, *clock) {
	t.Helper()
	totals := &totalsStore{values: map[string]float64{}}
	qs := &quotaStore{quotas: map[string][]Quota{}, claimed: map[Crossing]bool{}}
	bus := &published{}
	clk := &clock{t: time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)}
	c := NewQuotaCache(QuotaCacheDeps{Store: totals, Quotas: qs, Bus: bus, Now: clk.now}, QuotaCacheOptions{})
	return c, totals, qs, bus, clk
}

func TestQuotaCacheStandingAndThresholds(t *testing.T) {
	c, totals, qs, bus, clk := newQuotaWorld(t)
	qs.quotas["t1"] = []Quota{{Meter: "tool_runs", Limit: 100}}
	ctx := t.Context()
	for _, step := range []struct {
		name      string
		advance   time.Duration
		used      float64
		exceeded  bool
		announced []int
	}{
		{"under", 0, 10, false, nil},
		{"cached within a second", 500 * time.Millisecond, 85, false, nil},
		{"80 % after a second", 600 * time.Millisecond, 85, false, []int{80}},
		{"80 % again: once", 2 * time.Second, 90, false, []int{80}},
		{"100 %", 2 * time.Second, 100, true, []int{80, 100}},
		{"over again: once", 2 * time.Second, 150, true, []int{80, 100}},
		{"next period starts under", 31 * 24 * time.Hour, 0, false, []int{80, 100}},
		{"next period announces again", 2 * time.Second, 120, true, []int{80, 100, 80, 100}},
	} {
		clk.add(step.advance)
		totals.set("tool_runs", step.used)
		st, err := c.QuotaState(ctx, "t1", "user:93", clk.now())
		if err != nil || st == nil {
			t.Fatalf("%s: QuotaState = %v, %v", step.name, st, err)
		}
		if got := st.Exceeded(); got != step.exceeded {
			t.Errorf("%s: exceeded = %v, want %v", step.name, got, step.exceeded)
		}
		var got []int
		for _, m := range bus.msgs {
			got = append(got, m.Threshold)
		}
		if !equalInts(got, step.announced) {
			t.Errorf("%s: announced %v, want %v", step.name, got, step.announced)
		}
	}
	if last := bus.msgs[len(bus.msgs)-1]; last.TenantID != "t1" || last.Meter != "tool_runs" || last.Period.Start.Month() != time.January {
		t.Errorf("last announcement = %+v", last)
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestQuotaCacheActorQuotasAddToTheTenants(t *testing.T) {
	c, totals, qs, _, clk := newQuotaWorld(t)
	qs.quotas["t1"] = []Quota{{Meter: "api_calls", Limit: 1000}, {Meter: "tool_runs", Actor: "agent:7", Limit: 5}}
	// totalsStore ignores the subject: the agent's total is 5 too.
	totals.set("tool_runs", 5)
	totals.set("api_calls", 10)
	for _, c2 := range []struct {
		actor    string
		exceeded bool
	}{{"agent:7", true}, {"user:93", false}} {
		st, err := c.QuotaState(t.Context(), "t1", c2.actor, clk.now())
		if err != nil || st.Exceeded() != c2.exceeded {
			t.Errorf("%s: exceeded = %v (%v), want %v", c2.actor, st.Exceeded(), err, c2.exceeded)
		}
	}
}

func TestQuotaCacheTenantWithoutQuotas(t *testing.T) {
	c, _, qs, bus, clk := newQuotaWorld(t)
	for range 3 {
		st, err := c.QuotaState(t.Context(), "t2", "user:1", clk.now())
		if st != nil || err != nil {
			t.Fatalf("QuotaState = %v, %v; want nothing", st, err)
		}
		clk.add(2 * time.Second)
	}
	if qs.reads != 1 {
		t.Errorf("quotas read %d times for a tenant without any within a minute, want 1", qs.reads)
	}
	// A change is seen at once once announced.
	qs.quotas["t2"] = []Quota{{Meter: "tool_runs", Limit: 1}}
	c.Invalidate("t2")
	if st, _ := c.QuotaState(t.Context(), "t2", "user:1", clk.now()); st == nil {
		t.Error("quotas set and announced are not seen")
	}
	if len(bus.msgs) != 0 {
		t.Errorf("announced %v without usage", bus.msgs)
	}
}

// TestQuotaCrossingAuditedAlone: the claim of a crossing writes its own
// audit event only, not those pending on the request whose decision
// happened to refresh the totals.
func TestQuotaCrossingAuditedAlone(t *testing.T) {
	c, totals, qs, _, clk := newQuotaWorld(t)
	qs.quotas["t1"] = []Quota{{Meter: "tool_runs", Limit: 10}}
	totals.set("tool_runs", 9)
	ctx := audit.Record(t.Context(), audit.Event{TenantID: "t1", Action: audit.ActionAPIKeyCreate})
	if _, err := c.QuotaState(ctx, "t1", "user:93", clk.now()); err != nil {
		t.Fatal(err)
	}
	if len(qs.audited) != 1 || len(qs.audited[0]) != 1 || qs.audited[0][0].Action != audit.ActionQuotaThreshold ||
		qs.audited[0][0].Detail["threshold"] != "80" || qs.audited[0][0].ActorID != "" {
		t.Fatalf("claims wrote %+v", qs.audited)
	}
	if !audit.Pending(ctx) {
		t.Fatal("the request's own audit event was taken")
	}
}

// TestQuotaCacheDecisionStopsWaiting: a decision whose context ends does
// not wait for a refresh.
func TestQuotaCacheDecisionStopsWaiting(t *testing.T) {
	c, _, qs, _, clk := newQuotaWorld(t)
	qs.quotas["t1"] = []Quota{{Meter: "tool_runs", Limit: 10}}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	qs.mu.Lock()
	_, err := c.QuotaState(ctx, "t1", "user:93", clk.now())
	qs.mu.Unlock()
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}
