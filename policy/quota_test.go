package policy_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tollgate/tollgate/policy"
)

// quotaSource answers fixed states per tenant and actor, for one decision
// at a time (an answer never usable), so that a change of them or of err
// shows in the next decision.
type quotaSource struct {
	states map[string]*policy.QuotaState // "tenant" or "tenant/actor"
	err    error
}

func (q *quotaSource) TenantQuotas(_ context.Context, tenantID string, _ time.Time) (*policy.TenantQuotas, error) {
	if q.err != nil {
		return nil, q.err
	}
	actors := map[string]*policy.QuotaState{}
	for k, st := range q.states {
		if t, actor, ok := strings.Cut(k, "/"); ok && t == tenantID {
			actors[actor] = st
		}
	}
	return policy.NewTenantQuotas(q.states[tenantID], actors, time.Time{}), nil
}

func TestQuotaInDecisions(t *testing.T) {
	src := &fakeSource{data: map[string]policy.TenantData{}}
	over := seedTenant(t)
	src.set(over)
	free := seedTenant(t)
	free.TenantID = "8"
	src.set(free)
	near := seedTenant(t)
	near.TenantID = "9"
	// A tenant's own policy reading context.quota on an action the
	// shipped ones do not read it for.
	near.Policies = policy.PolicySet{TenantID: "9", Version: 1, Text: `@id("tokens_spent")
forbid (principal, action == Action::"SEND_MESSAGE", resource)
when { context has quota && context.quota.over.contains("llm_input_tokens") };`}
	src.set(near)
	c, err := policy.NewCompiler()
	if err != nil {
		t.Fatal(err)
	}
	qs := &quotaSource{states: map[string]*policy.QuotaState{
		"7":         policy.NewQuotaState([]string{"tool_runs"}, nil),
		"9":         policy.NewQuotaState(nil, []string{"tool_runs"}),
		"9/user:93": policy.NewQuotaState([]string{"llm_input_tokens"}, nil),
	}}
	e := policy.NewEngine(policy.EngineDeps{Source: src, Compiler: c, Quotas: qs}, policy.EngineOptions{})
	run := func(principal string) policy.Request {
		return policy.Request{Principal: principal, Action: "EXECUTE_TOOL", Resource: policy.ResourceRef{Type: "tool", ID: "search"}}
	}
	send := func(principal string) policy.Request {
		return policy.Request{Principal: principal, Action: "SEND_MESSAGE", Resource: policy.ResourceRef{Type: "channel", ID: "channel-general-daarion"}}
	}
	for _, tc := range []struct {
		name, tenant string
		req          policy.Request
		want         string
		reason       string
	}{
		{"over quota: no tool runs", "7", run("user:93"), policy.Deny, "quota_exceeded"},
		{"over quota: reading goes on", "7", policy.Request{Principal: "user:2", Action: "READ", Resource: policy.ResourceRef{Type: "tool", ID: "search"}}, policy.Permit, "tool_admin"},
		{"no quotas: unaffected", "8", run("user:93"), policy.Permit, "tool_role"},
		{"near the tenant's quota: tools still run", "9", run("user:94"), policy.Permit, "tool_role"},
		{"near the tenant's, over the actor's", "9", run("user:93"), policy.Deny, "quota_exceeded"},
		{"a tenant's policy reads it on another action", "9", send("user:93"), policy.Deny, "tokens_spent"},
		{"a tenant's policy under its limit", "9", send("user:94"), policy.Permit, "channel_manager"},
		{"the caller sets quota", "8", policy.Request{Principal: "user:93", Action: "EXECUTE_TOOL", Resource: policy.ResourceRef{Type: "tool", ID: "search"},
			Context: map[string]any{"quota": map[string]any{"exceeded": false}}}, policy.Deny, policy.ReasonInvalidRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := e.Authorize(t.Context(), tc.tenant, tc.req)
			if d.Decision != tc.want || !slices.Contains(d.Reasons, tc.reason) {
				t.Fatalf("got %s %v %v, want %s %s", d.Decision, d.Reasons, d.Errors, tc.want, tc.reason)
			}
		})
	}
	// Consumption that cannot be read denies every decision, those whose
	// policies do not read it included (they carry no context.quota).
	qs.err = errors.New("store down")
	for _, req := range []policy.Request{run("user:93"), send("user:93")} {
		if d := e.Authorize(t.Context(), "8", req); d.Decision != policy.Deny || d.Reasons[0] != policy.ReasonUnavailable {
			t.Fatalf("quota source failing, %s: got %s %v, want a deny %s", req.Action, d.Decision, d.Reasons, policy.ReasonUnavailable)
		}
	}
}

// heldQuotas answers a tenant's quotas usable for fresh after the
// decision's time and counts the times it is asked.
type heldQuotas struct {
	mu    sync.Mutex
	state *policy.QuotaState
	fresh time.Duration
	err   error
	asked map[string]int
	last  *policy.TenantQuotas
}

func (q *heldQuotas) TenantQuotas(_ context.Context, tenantID string, now time.Time) (*policy.TenantQuotas, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.asked[tenantID]++
	if q.err != nil {
		return nil, q.err
	}
	q.last = policy.NewTenantQuotas(q.state, nil, now.Add(q.fresh))
	return q.last, nil
}

func (q *heldQuotas) times(tenantID string) int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.asked[tenantID]
}

// TestQuotaHeldBesideSnapshot: the engine keeps a tenant's quotas beside
// its snapshot and asks the source again only once the answer is past the
// time the source gave it or the source superseded it; so a failing
// source fails decisions closed as soon as its answer is no longer usable.
func TestQuotaHeldBesideSnapshot(t *testing.T) {
	src := &fakeSource{data: map[string]policy.TenantData{}}
	td := seedTenant(t)
	src.set(td)
	other := seedTenant(t)
	other.TenantID = "8"
	src.set(other)
	c, err := policy.NewCompiler()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 7, 6, 0, 0, 0, time.UTC)
	qs := &heldQuotas{state: policy.NewQuotaState(nil, nil), fresh: 750 * time.Millisecond, asked: map[string]int{}}
	e := policy.NewEngine(policy.EngineDeps{Source: src, Compiler: c, Quotas: qs, Now: func() time.Time { return now }}, policy.EngineOptions{})
	run := policy.Request{Principal: "user:93", Action: "EXECUTE_TOOL", Resource: policy.ResourceRef{Type: "tool", ID: "search"}}
	decide := func(tenant, want, reason string) {
		t.Helper()
		d := e.Authorize(t.Context(), tenant, run)
		if d.Decision != want || !slices.Contains(d.Reasons, reason) {
			t.Fatalf("tenant %s: got %s %v %v, want %s %s", tenant, d.Decision, d.Reasons, d.Errors, want, reason)
		}
	}
	asked := func(tenant string, want int) {
		t.Helper()
		if got := qs.times(tenant); got != want {
			t.Fatalf("source asked %d times for tenant %s, want %d", got, tenant, want)
		}
	}

	for range 3 {
		decide("7", policy.Permit, "tool_role")
	}
	asked("7", 1)
	decide("8", policy.Permit, "tool_role")
	asked("8", 1)

	// Up to the time the source gave, the answer held is used, even while
	// the source would fail.
	qs.mu.Lock()
	qs.err = errors.New("store down")
	qs.mu.Unlock()
	now = now.Add(749 * time.Millisecond)
	decide("7", policy.Permit, "tool_role")
	asked("7", 1)

	// From then on every decision asks, and fails closed.
	now = now.Add(time.Millisecond)
	decide("7", policy.Deny, policy.ReasonUnavailable)
	decide("7", policy.Deny, policy.ReasonUnavailable)
	asked("7", 3)

	// A new answer is held again.
	qs.mu.Lock()
	qs.err = nil
	qs.state = policy.NewQuotaState([]string{"tool_runs"}, nil)
	qs.mu.Unlock()
	decide("7", policy.Deny, "quota_exceeded")
	decide("7", policy.Deny, "quota_exceeded")
	asked("7", 4)

	// Superseded (the quotas changed), it is not used again, however
	// fresh.
	qs.mu.Lock()
	qs.state = policy.NewQuotaState(nil, nil)
	qs.last.Supersede()
	qs.mu.Unlock()
	decide("7", policy.Permit, "tool_role")
	asked("7", 5)
	asked("8", 1)
}
