package main

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"

	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/policy"
)

// source serves the workload's tenants to an in-process engine, as the
// store would after load.
type source map[string]policy.TenantData

func (s source) TenantData(_ context.Context, id string) (policy.TenantData, error) {
	td, ok := s[id]
	if !ok {
		return policy.TenantData{}, fault.NotFoundf("tenant_not_found", "no tenant %s", id)
	}
	return td, nil
}

// withIDs gives the workload the ids load would get from Tollgate.
func withIDs(w *workload) {
	w.actorIDs = make([]string, numTenants*usersPerTenant)
	for u := range w.actorIDs {
		w.actorIDs[u] = fmt.Sprintf("user:u%05d", u)
	}
	for i := range w.tenants {
		w.tenants[i].id = fmt.Sprintf("t%03d", i)
	}
}

// TestReferenceIsTollgates checks the reference decisions against
// Tollgate's engine in process on the whole workload, so that a change to
// the default policies that the reference does not follow fails here
// before the benchmark runs; the script checks both servers again.
func TestReferenceIsTollgates(t *testing.T) {
	w := generate(16)
	withIDs(w)
	src := source{}
	for _, tn := range w.tenants {
		td := policy.TenantData{TenantID: tn.id, Active: true}
		for _, u := range tn.users {
			td.Members = append(td.Members, policy.Member{ActorID: w.actorIDs[u], Roles: tn.roles[u], Active: true})
		}
		for _, ch := range tn.channels {
			// Attributes reach the engine as JSON values, as through the API.
			var attrs map[string]any
			b, _ := json.Marshal(w.attrs(ch))
			if err := json.Unmarshal(b, &attrs); err != nil {
				t.Fatal(err)
			}
			td.Resources = append(td.Resources, policy.Resource{TenantID: tn.id, Type: "channel", ID: ch.id, Attrs: attrs})
		}
		src[tn.id] = td
	}
	c, err := policy.NewCompiler()
	if err != nil {
		t.Fatal(err)
	}
	e := policy.NewEngine(policy.EngineDeps{Source: src, Compiler: c}, policy.EngineOptions{})
	seen := map[string]int{}
	for i, r := range w.requests {
		a := w.ask(r)
		got := e.Authorize(context.Background(), a.TenantID, policy.Request{Principal: a.Principal, Action: a.Action, Resource: policy.ResourceRef{Type: "channel", ID: a.Resource.ID}})
		slices.Sort(got.Reasons)
		want := w.reference(r)
		if got.Decision != want.Decision || !slices.Equal(got.Reasons, want.Reasons) {
			t.Fatalf("request %d %+v: Tollgate %s %v %v, reference %s %v", i, a, got.Decision, got.Reasons, got.Errors, want.Decision, want.Reasons)
		}
		for _, reason := range want.Reasons {
			seen[reason]++
		}
	}
	// The workload exercises every channel policy and the default deny.
	for _, reason := range []string{"channel_member", "channel_role", "channel_manager", "channel_public", "channel_admin", "default_deny"} {
		if seen[reason] == 0 {
			t.Errorf("no request decided by %s", reason)
		}
	}
	t.Logf("reasons over %d requests: %v", len(w.requests), seen)
}

// TestGenerateIsDeterministic: the seed alone decides the workload, so
// runs on different days measure the same thing.
func TestGenerateIsDeterministic(t *testing.T) {
	a, b := generate(16), generate(16)
	withIDs(a)
	withIDs(b)
	for i := range a.requests {
		if a.ask(a.requests[i]) != b.ask(b.requests[i]) {
			t.Fatalf("request %d differs", i)
		}
	}
	if fmt.Sprint(a.opaData()) != fmt.Sprint(b.opaData()) {
		t.Fatal("the data differs")
	}
	if c := generate(17); fmt.Sprint(c.requests[:10]) == fmt.Sprint(a.requests[:10]) {
		t.Fatal("another seed, the same requests")
	}
}
