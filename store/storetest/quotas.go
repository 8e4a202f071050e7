package storetest

import (
	"testing"
	"time"

	"github.com/tollgate/tollgate/audit"
	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/store"
	"github.com/tollgate/tollgate/usage"
)

func quotaTests() []test {
	return []test{
		{"NoneByDefault", testQuotasNoneByDefault},
		{"SetReplaceDelete", testQuotasSetReplaceDelete},
		{"UnknownTenantNotFound", testQuotasUnknownTenantNotFound},
		{"TenantIsolation", testQuotasTenantIsolation},
		{"ThresholdClaimedOnce", testQuotaThresholdClaimedOnce},
		{"ThresholdClaimAudited", testQuotaThresholdClaimAudited},
	}
}

func quotas(tenantID string, d time.Duration, qs ...usage.Quota) usage.Quotas {
	return usage.Quotas{TenantID: tenantID, Quotas: qs, UpdatedAt: us(at(d))}
}

func testQuotasNoneByDefault(t *testing.T, s store.Store) {
	newTenant(t, s, "t1", "user:alice")
	check(t, "existing tenant", ok(s.TenantQuotas(t.Context(), "t1"))(t), usage.Quotas{TenantID: "t1"})
	check(t, "unknown tenant", ok(s.TenantQuotas(t.Context(), "nope"))(t), usage.Quotas{TenantID: "nope"})
}

func testQuotasSetReplaceDelete(t *testing.T, s store.Store) {
	ctx := t.Context()
	newTenant(t, s, "t1", "user:alice")
	runs := usage.Quota{Meter: "tool_runs", Limit: 1000}
	agent := usage.Quota{Meter: "tool_runs", Actor: "agent:7", Limit: 10}
	tokens := usage.Quota{Meter: "llm_input_tokens", Limit: 1 << 53}
	for _, step := range []struct {
		name string
		q    usage.Quotas
		want usage.Quotas
	}{
		{"set", quotas("t1", time.Minute, runs, agent), quotas("t1", time.Minute, runs, agent)},
		{"replace", quotas("t1", 2*time.Minute, tokens), quotas("t1", 2*time.Minute, tokens)},
		{"empty deletes", quotas("t1", time.Hour), usage.Quotas{TenantID: "t1"}},
		{"delete again", quotas("t1", time.Hour), usage.Quotas{TenantID: "t1"}},
		{"set after delete", quotas("t1", 2*time.Hour, agent), quotas("t1", 2*time.Hour, agent)},
	} {
		must(t, s.SetTenantQuotas(ctx, step.q))
		check(t, step.name, ok(s.TenantQuotas(ctx, "t1"))(t), step.want)
	}
}

func testQuotasUnknownTenantNotFound(t *testing.T, s store.Store) {
	newTenant(t, s, "t1", "user:alice")
	for _, q := range []usage.Quotas{
		quotas("nope", time.Minute, usage.Quota{Meter: "tool_runs", Limit: 1}),
		quotas("nope", time.Minute),
		quotas("t", time.Minute, usage.Quota{Meter: "tool_runs", Limit: 1}),
	} {
		if err := s.SetTenantQuotas(t.Context(), q); fault.KindOf(err) != fault.NotFound {
			t.Errorf("SetTenantQuotas(%q) = %v, want NotFound", q.TenantID, err)
		}
	}
}

func testQuotasTenantIsolation(t *testing.T, s store.Store) {
	ctx := t.Context()
	newTenant(t, s, "t1", "user:alice")
	newTenant(t, s, "t2", "user:bob")
	a := quotas("t1", time.Minute, usage.Quota{Meter: "tool_runs", Limit: 5})
	b := quotas("t2", time.Minute, usage.Quota{Meter: "api_calls", Limit: 7})
	must(t, s.SetTenantQuotas(ctx, a))
	must(t, s.SetTenantQuotas(ctx, b))
	must(t, s.SetTenantQuotas(ctx, quotas("t1", time.Hour)))
	check(t, "t1 deleted", ok(s.TenantQuotas(ctx, "t1"))(t), usage.Quotas{TenantID: "t1"})
	check(t, "t2 kept", ok(s.TenantQuotas(ctx, "t2"))(t), b)
}

func crossing(tenantID, actor string, threshold int, month time.Month) usage.Crossing {
	p := usage.PeriodOf(time.Date(2026, month, 3, 0, 0, 0, 0, time.UTC))
	return usage.Crossing{TenantID: tenantID, Meter: "tool_runs", Actor: actor, Threshold: threshold, Limit: 10, Used: 8, Period: p, At: us(at(0))}
}

func testQuotaThresholdClaimedOnce(t *testing.T, s store.Store) {
	ctx := t.Context()
	newTenant(t, s, "t1", "user:alice")
	newTenant(t, s, "t2", "user:bob")
	for _, step := range []struct {
		name string
		c    usage.Crossing
		want bool
	}{
		{"first", crossing("t1", "", 80, 3), true},
		{"again", crossing("t1", "", 80, 3), false},
		{"next threshold", crossing("t1", "", 100, 3), true},
		{"an actor's", crossing("t1", "agent:7", 80, 3), true},
		{"next period", crossing("t1", "", 80, 4), true},
		{"another tenant", crossing("t2", "", 80, 3), true},
		{"another tenant again", crossing("t2", "", 80, 3), false},
	} {
		check(t, step.name, ok(s.ClaimQuotaThreshold(ctx, step.c))(t), step.want)
	}
	if _, err := s.ClaimQuotaThreshold(ctx, crossing("nope", "", 80, 3)); fault.KindOf(err) != fault.NotFound {
		t.Errorf("claim for an unknown tenant = %v, want NotFound", err)
	}
}

func testQuotaThresholdClaimAudited(t *testing.T, s store.Store) {
	newTenant(t, s, "t1", "user:alice")
	claim := func() bool {
		ctx := audit.Record(t.Context(), audit.Event{TenantID: "t1", Action: audit.ActionQuotaThreshold, TargetType: "meter", TargetID: "tool_runs"})
		return ok(s.ClaimQuotaThreshold(ctx, crossing("t1", "", 80, 3)))(t)
	}
	check(t, "first claim", claim(), true)
	check(t, "second claim", claim(), false)
	evs := whole(t, s, audit.Query{TenantID: "t1", Action: audit.ActionQuotaThreshold, Limit: 10})
	check(t, "audit events of the claims", len(evs), 1)
}
