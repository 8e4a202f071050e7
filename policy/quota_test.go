package policy_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/tollgate/tollgate/policy"
)

// quotaSource answers fixed states per tenant and actor.
type quotaSource struct {
	states map[string]*policy.QuotaState // "tenant" or "tenant/actor"
	err    error
}

func (q *quotaSource) QuotaState(_ context.Context, tenantID, actorID string, _ time.Time) (*policy.QuotaState, error) {
	if q.err != nil {
		return nil, q.err
	}
	if st, ok := q.states[tenantID+"/"+actorID]; ok {
		return st, nil
	}
	return q.states[tenantID], nil
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
