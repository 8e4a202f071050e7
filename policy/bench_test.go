package policy_test

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/tollgate/tollgate/policy"
)

// benchTenants builds the population: 100 tenants of 100 users
// each (10,000 users), 10 channels and 10 tools per tenant (1,000 of each),
// and 20 policies of each tenant's own on top of the defaults.
func benchTenants(b *testing.B) *fakeSource {
	b.Helper()
	src := &fakeSource{data: map[string]policy.TenantData{}}
	for t := range 100 {
		td := policy.TenantData{TenantID: fmt.Sprintf("t%03d", t), Active: true, Roles: []string{"moderator"}}
		for u := range 100 {
			roles := []string{"member"}
			if u == 0 {
				roles = []string{"owner"}
			} else if u%10 == 0 {
				roles = []string{"admin"}
			}
			td.Members = append(td.Members, policy.Member{ActorID: fmt.Sprintf("user:%d-%d", t, u), Roles: roles, Active: true})
		}
		for a := range 10 {
			td.Agents = append(td.Agents, policy.AgentInfo{ActorID: fmt.Sprintf("agent:%d-%d", t, a), OwnerID: fmt.Sprintf("user:%d-%d", t, a+1), Active: true})
		}
		for c := range 10 {
			members := make([]any, 0, 10)
			for u := range 10 {
				members = append(members, fmt.Sprintf("user:%d-%d", t, c*10+u))
			}
			td.Resources = append(td.Resources,
				policy.Resource{Type: "channel", ID: fmt.Sprintf("ch-%d", c), Attrs: map[string]any{"members": members}},
				policy.Resource{Type: "tool", ID: fmt.Sprintf("tool-%d", c), Attrs: map[string]any{
					"allowed_agents": []any{fmt.Sprintf("agent:%d-%d", t, c)}, "roles": []any{"member"}}})
		}
		text := ""
		for p := range 20 {
			text += fmt.Sprintf("@id(\"rule_%d\")\nforbid (principal == User::\"%d-%d\", action == Action::\"MANAGE\", resource is Channel)\nwhen { resource has managers && resource.managers.contains(\"nobody-%d\") };\n", p, t, p, p)
		}
		td.Policies = policy.PolicySet{TenantID: td.TenantID, Version: 1, Text: text}
		src.set(td)
	}
	return src
}

func benchEngine(b *testing.B, src policy.Source) *policy.Engine {
	b.Helper()
	c, err := policy.NewCompiler()
	if err != nil {
		b.Fatal(err)
	}
	return policy.NewEngine(policy.EngineDeps{Source: src, Compiler: c}, policy.EngineOptions{SnapshotTTL: time.Hour})
}

// BenchmarkDecision measures one in-process decision with warm snapshots:
// a member sending to a channel (permit through channel_member after the
// defaults and the tenant's 20 policies are evaluated). It reports the p50
// of single decisions timed one by one.
func BenchmarkDecision(b *testing.B) {
	benchDecisions(b, benchEngine(b, benchTenants(b)), "SEND_MESSAGE")
}

type benchRequest struct {
	tenant string
	req    policy.Request
}

// benchDecisions times action by members of the bench tenants on their
// channels (SEND_MESSAGE) or tools (EXECUTE_TOOL), every decision a permit.
func benchDecisions(b *testing.B, e *policy.Engine, action string) {
	ctx := context.Background()
	reqs := warmRequests(b, e, action)
	lat := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		r := &reqs[i%len(reqs)]
		start := time.Now()
		d := e.Authorize(ctx, r.tenant, r.req)
		lat = append(lat, time.Since(start))
		if !d.Permitted() {
			b.Fatal(d)
		}
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds()), "p99-ns")
}

// warmRequests builds 1,000 requests of action by members of the bench
// tenants and decides each once, so that every snapshot is warm.
func warmRequests(b *testing.B, e *policy.Engine, action string) []benchRequest {
	ctx := context.Background()
	reqs := benchRequests(action)
	for i := range reqs {
		if d := e.Authorize(ctx, reqs[i].tenant, reqs[i].req); !d.Permitted() {
			b.Fatalf("warm-up %d: %+v", i, d)
		}
	}
	return reqs
}

// benchRequests builds 1,000 requests of action by members of the bench
// tenants, each of them permitted.
func benchRequests(action string) []benchRequest {
	reqs := make([]benchRequest, 1000)
	for i := range reqs {
		t, c, u := i%100, (i/100)%10, i%10
		reqs[i].tenant = fmt.Sprintf("t%03d", t)
		reqs[i].req = policy.Request{Principal: fmt.Sprintf("user:%d-%d", t, c*10+u), Action: action,
			Resource: policy.ResourceRef{Type: "channel", ID: fmt.Sprintf("ch-%d", c)}}
		if action == "EXECUTE_TOOL" {
			reqs[i].req.Resource = policy.ResourceRef{Type: "tool", ID: fmt.Sprintf("tool-%d", c)}
		}
	}
	return reqs
}

// BenchmarkBatch100 measures a 100-request batch against one snapshot.
func BenchmarkBatch100(b *testing.B) {
	src := benchTenants(b)
	e := benchEngine(b, src)
	reqs := make([]policy.Request, 100)
	for i := range reqs {
		reqs[i] = policy.Request{Principal: fmt.Sprintf("user:7-%d", i), Action: "READ",
			Resource: policy.ResourceRef{Type: "channel", ID: fmt.Sprintf("ch-%d", i%10)}}
	}
	e.AuthorizeBatch(context.Background(), "t007", reqs)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		e.AuthorizeBatch(context.Background(), "t007", reqs)
	}
}

// BenchmarkSnapshotBuild10k measures rebuilding the snapshot of a tenant of
// 10,000 users after a change, and the memory the snapshot holds.
func BenchmarkSnapshotBuild10k(b *testing.B) {
	src := &fakeSource{data: map[string]policy.TenantData{}}
	td := policy.TenantData{TenantID: "big", Active: true}
	for u := range 10_000 {
		td.Members = append(td.Members, policy.Member{ActorID: fmt.Sprintf("user:%d", u), Roles: []string{"member"}, Active: true})
	}
	for c := range 1000 {
		td.Resources = append(td.Resources, policy.Resource{Type: "channel", ID: fmt.Sprintf("ch-%d", c),
			Attrs: map[string]any{"members": []any{fmt.Sprintf("user:%d", c)}}})
	}
	src.set(td)
	e := benchEngine(b, src)
	req := policy.Request{Principal: "user:1", Action: "READ", Resource: policy.ResourceRef{Type: "channel", ID: "ch-1"}}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	if d := e.Authorize(context.Background(), "big", req); !d.Permitted() {
		b.Fatal(d)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	held := float64(after.HeapAlloc-before.HeapAlloc) / (1 << 20)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		e.Apply(context.Background(), policy.Change{TenantID: "big", Part: policy.PartAll})
		e.Authorize(context.Background(), "big", req)
	}
	// After the loop: ResetTimer drops metrics reported before it.
	b.ReportMetric(held, "snapshot-MiB")
}
