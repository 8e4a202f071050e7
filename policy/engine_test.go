package policy_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/policy"
)

// fakeSource serves fixed tenant data: the engine's input, not a stand-in
// for a production store (those are tested in store/storetest).
type fakeSource struct {
	mu    sync.Mutex
	data  map[string]policy.TenantData
	loads int
	err   error
}

func (f *fakeSource) TenantData(_ context.Context, tenantID string) (policy.TenantData, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.loads++
	if f.err != nil {
		return policy.TenantData{}, f.err
	}
	td, ok := f.data[tenantID]
	if !ok {
		return policy.TenantData{}, fault.NotFoundf("tenant_not_found", "tenant not found")
	}
	return td, nil
}

func (f *fakeSource) set(td policy.TenantData) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.data[td.TenantID] = td
}

func attrs(t *testing.T, js string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(js), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// seedTenant is the seed's story: microdao 7 with an owner, an admin, two
// members, an agent owned by user:93, a channel and two tools.
func seedTenant(t *testing.T) policy.TenantData {
	return policy.TenantData{
		TenantID: "7", Active: true, Roles: []string{"moderator"},
		Members: []policy.Member{
			{ActorID: "user:1", Roles: []string{"owner"}, Active: true},
			{ActorID: "user:2", Roles: []string{"admin"}, Active: true},
			{ActorID: "user:93", Roles: []string{"member"}, Active: true},
			{ActorID: "user:94", Roles: []string{"member", "moderator"}, Active: true},
			{ActorID: "user:95", Roles: []string{"member"}, Active: false},
		},
		Agents: []policy.AgentInfo{{ActorID: "agent:a1", OwnerID: "user:93", Active: true}},
		Resources: []policy.Resource{
			{Type: "channel", ID: "channel-general-daarion", Attrs: attrs(t, `{"members":["user:93","user:95","agent:a1"],"managers":["user:94"]}`)},
			{Type: "channel", ID: "mods", Attrs: attrs(t, `{"roles":["moderator"]}`)},
			{Type: "tool", ID: "search", Attrs: attrs(t, `{"allowed_agents":["agent:a1"],"roles":["member"]}`)},
			{Type: "tool", ID: "deploy", Attrs: attrs(t, `{"allowed_agents":[],"roles":["admin"]}`)},
		},
	}
}

func newEngine(t *testing.T, src policy.Source) *policy.Engine {
	t.Helper()
	c, err := policy.NewCompiler()
	if err != nil {
		t.Fatal(err)
	}
	return policy.NewEngine(policy.EngineDeps{Source: src, Compiler: c}, policy.EngineOptions{})
}

func TestDefaultPolicies(t *testing.T) {
	src := &fakeSource{data: map[string]policy.TenantData{}}
	src.set(seedTenant(t))
	e := newEngine(t, src)
	ch := func(id string) policy.ResourceRef { return policy.ResourceRef{Type: "channel", ID: id} }
	tool := func(id string) policy.ResourceRef { return policy.ResourceRef{Type: "tool", ID: id} }
	agent := policy.ResourceRef{Type: "agent", ID: "a1"}
	tenant := policy.ResourceRef{Type: "tenant", ID: "7"}
	for _, c := range []struct {
		name     string
		req      policy.Request
		decision string
		reasons  []string
	}{
		// The seed's example.
		{"member sends to their channel", policy.Request{Principal: "user:93", Action: "SEND_MESSAGE", Resource: ch("channel-general-daarion")}, "permit", []string{"channel_member"}},
		{"member reads their channel", policy.Request{Principal: "user:93", Action: "READ", Resource: ch("channel-general-daarion")}, "permit", []string{"channel_member"}},
		{"member cannot manage it", policy.Request{Principal: "user:93", Action: "MANAGE", Resource: ch("channel-general-daarion")}, "deny", []string{"default_deny"}},
		{"outsider", policy.Request{Principal: "user:999", Action: "SEND_MESSAGE", Resource: ch("channel-general-daarion")}, "deny", []string{"default_deny"}},
		{"admin not listed may not send", policy.Request{Principal: "user:2", Action: "SEND_MESSAGE", Resource: ch("mods")}, "deny", []string{"default_deny"}},
		{"admin not listed may not read a private channel", policy.Request{Principal: "user:2", Action: "READ", Resource: ch("mods")}, "deny", []string{"default_deny"}},
		{"channel role rule", policy.Request{Principal: "user:94", Action: "SEND_MESSAGE", Resource: ch("mods")}, "permit", []string{"channel_role"}},
		{"without the channel role", policy.Request{Principal: "user:93", Action: "SEND_MESSAGE", Resource: ch("mods")}, "deny", []string{"default_deny"}},
		{"channel manager", policy.Request{Principal: "user:94", Action: "MANAGE", Resource: ch("channel-general-daarion")}, "permit", []string{"channel_manager"}},
		{"admin manages", policy.Request{Principal: "user:2", Action: "MANAGE", Resource: ch("channel-general-daarion")}, "permit", []string{"channel_admin"}},
		{"owner is an admin too", policy.Request{Principal: "user:1", Action: "MANAGE", Resource: ch("channel-general-daarion")}, "permit", []string{"channel_admin"}},
		{"unregistered channel", policy.Request{Principal: "user:93", Action: "READ", Resource: ch("nowhere")}, "deny", []string{"default_deny"}},
		{"disabled member", policy.Request{Principal: "user:95", Action: "READ", Resource: ch("channel-general-daarion")}, "deny", []string{"actor_disabled"}},
		{"agent in the channel", policy.Request{Principal: "agent:a1", Action: "SEND_MESSAGE", Resource: ch("channel-general-daarion")}, "permit", []string{"channel_member"}},

		{"agent runs an allowed tool for its human", policy.Request{Principal: "agent:a1", Action: "EXECUTE_TOOL", Resource: tool("search"), OnBehalfOf: "user:93"}, "permit", []string{"tool_agent"}},
		{"agent runs a tool not allowing it", policy.Request{Principal: "agent:a1", Action: "EXECUTE_TOOL", Resource: tool("deploy"), OnBehalfOf: "user:93"}, "deny", []string{"default_deny"}},
		{"agent without a human", policy.Request{Principal: "agent:a1", Action: "EXECUTE_TOOL", Resource: tool("search")}, "deny", []string{"default_deny"}},
		{"agent for a human without the role", policy.Request{Principal: "agent:a1", Action: "EXECUTE_TOOL", Resource: tool("search"), OnBehalfOf: "user:999"}, "deny", []string{"default_deny"}},
		{"human with the role", policy.Request{Principal: "user:93", Action: "EXECUTE_TOOL", Resource: tool("search")}, "permit", []string{"tool_role"}},
		{"human without the role", policy.Request{Principal: "user:93", Action: "EXECUTE_TOOL", Resource: tool("deploy")}, "deny", []string{"default_deny"}},
		{"admin has the admin role", policy.Request{Principal: "user:2", Action: "EXECUTE_TOOL", Resource: tool("deploy")}, "permit", []string{"tool_role"}},

		{"owner manages their agent", policy.Request{Principal: "user:93", Action: "MANAGE_AGENT", Resource: agent}, "permit", []string{"agent_owner"}},
		{"admin manages any agent", policy.Request{Principal: "user:2", Action: "MANAGE_AGENT", Resource: agent}, "permit", []string{"agent_admin"}},
		{"colleague cannot", policy.Request{Principal: "user:94", Action: "MANAGE_AGENT", Resource: agent}, "deny", []string{"default_deny"}},
		{"unknown agent", policy.Request{Principal: "user:2", Action: "MANAGE_AGENT", Resource: policy.ResourceRef{Type: "agent", ID: "zz"}}, "deny", []string{"default_deny"}},

		{"own usage", policy.Request{Principal: "user:93", Action: "VIEW_USAGE", Resource: policy.ResourceRef{Type: "usage", ID: "user:93"}}, "permit", []string{"usage_self"}},
		{"someone else's usage", policy.Request{Principal: "user:93", Action: "VIEW_USAGE", Resource: policy.ResourceRef{Type: "usage", ID: "user:94"}}, "deny", []string{"default_deny"}},
		{"tenant usage by a member", policy.Request{Principal: "user:93", Action: "VIEW_USAGE", Resource: policy.ResourceRef{Type: "usage", ID: "tenant"}}, "deny", []string{"default_deny"}},
		{"tenant usage by an admin", policy.Request{Principal: "user:2", Action: "VIEW_USAGE", Resource: policy.ResourceRef{Type: "usage", ID: "tenant"}}, "permit", []string{"usage_admin"}},

		{"member views the tenant", policy.Request{Principal: "user:93", Action: "VIEW_TENANT", Resource: tenant}, "permit", []string{"tenant_member"}},
		{"member cannot manage members", policy.Request{Principal: "user:93", Action: "MANAGE_MEMBERS", Resource: tenant}, "deny", []string{"default_deny"}},
		{"admin manages members", policy.Request{Principal: "user:2", Action: "MANAGE_MEMBERS", Resource: tenant}, "permit", []string{"tenant_admin"}},
		{"admin cannot manage owners", policy.Request{Principal: "user:2", Action: "MANAGE_OWNERS", Resource: tenant}, "deny", []string{"default_deny"}},
		{"owner manages owners", policy.Request{Principal: "user:1", Action: "MANAGE_OWNERS", Resource: tenant}, "permit", []string{"tenant_owner"}},
		{"another tenant's id", policy.Request{Principal: "user:1", Action: "VIEW_TENANT", Resource: policy.ResourceRef{Type: "tenant", ID: "8"}}, "deny", []string{"default_deny"}},

		{"unknown action", policy.Request{Principal: "user:93", Action: "FLY", Resource: ch("mods")}, "deny", []string{"invalid_request"}},
		{"action on the wrong resource type", policy.Request{Principal: "user:93", Action: "SEND_MESSAGE", Resource: agent}, "deny", []string{"invalid_request"}},
		{"bad principal", policy.Request{Principal: "93", Action: "READ", Resource: ch("mods")}, "deny", []string{"invalid_request"}},
		{"bad resource type", policy.Request{Principal: "user:93", Action: "READ", Resource: policy.ResourceRef{Type: "planet", ID: "x"}}, "deny", []string{"invalid_request"}},
		{"unknown context", policy.Request{Principal: "user:93", Action: "READ", Resource: ch("mods"), Context: map[string]any{"mood": "good"}}, "deny", []string{"invalid_request"}},
		{"extra entity", policy.Request{Principal: "user:93", Action: "READ", Resource: ch("ephemeral"),
			Entities: []policy.Resource{{Type: "channel", ID: "ephemeral", Attrs: map[string]any{"members": []any{"user:93"}}}}}, "permit", []string{"channel_member"}},
		{"extra entity cannot replace a registered one", policy.Request{Principal: "user:93", Action: "SEND_MESSAGE", Resource: ch("mods"),
			Entities: []policy.Resource{{Type: "channel", ID: "mods", Attrs: map[string]any{"members": []any{"user:93"}}}}}, "deny", []string{"invalid_request"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := e.Authorize(context.Background(), "7", c.req)
			if d.Decision != c.decision || !slices.Equal(d.Reasons, c.reasons) {
				t.Fatalf("got %s %v (errors %v), want %s %v", d.Decision, d.Reasons, d.Errors, c.decision, c.reasons)
			}
			if d.DecisionID == "" {
				t.Fatal("no decision id")
			}
		})
	}
}

func TestSuspendedTenantAndFailClosed(t *testing.T) {
	src := &fakeSource{data: map[string]policy.TenantData{}}
	td := seedTenant(t)
	td.Active = false
	src.set(td)
	e := newEngine(t, src)
	req := policy.Request{Principal: "user:1", Action: "MANAGE", Resource: policy.ResourceRef{Type: "channel", ID: "mods"}}
	if d := e.Authorize(context.Background(), "7", req); d.Decision != "deny" || !slices.Equal(d.Reasons, []string{"tenant_suspended"}) {
		t.Fatalf("suspended tenant: %+v", d)
	}
	if d := e.Authorize(context.Background(), "nope", req); d.Decision != "deny" || !slices.Equal(d.Reasons, []string{"unavailable"}) {
		t.Fatalf("unknown tenant: %+v", d)
	}
	src.err = errors.New("store down")
	if d := e.Authorize(context.Background(), "other", req); d.Decision != "deny" || d.Reasons[0] != "unavailable" || len(d.Errors) == 0 {
		t.Fatalf("store down: %+v", d)
	}
}

func TestTenantPolicies(t *testing.T) {
	src := &fakeSource{data: map[string]policy.TenantData{}}
	td := seedTenant(t)
	td.Policies = policy.PolicySet{TenantID: "7", Version: 3, Text: `
@id("no_agents_in_mods")
forbid (principal is Agent, action, resource == Channel::"channel-general-daarion");

@id("overflow")
forbid (principal == User::"94", action == Action::"READ", resource)
when { 9223372036854775807 + 1 > 0 };
`}
	src.set(td)
	e := newEngine(t, src)
	d := e.Authorize(context.Background(), "7", policy.Request{Principal: "agent:a1", Action: "SEND_MESSAGE", Resource: policy.ResourceRef{Type: "channel", ID: "channel-general-daarion"}})
	if d.Decision != "deny" || !slices.Equal(d.Reasons, []string{"no_agents_in_mods"}) || d.PolicyVersion != 3 {
		t.Fatalf("tenant forbid: %+v", d)
	}
	// An erroring forbid must still deny.
	var failed []string
	c, _ := policy.NewCompiler()
	e = policy.NewEngine(policy.EngineDeps{Source: src, Compiler: c, EvaluationError: func(id string) { failed = append(failed, id) }}, policy.EngineOptions{})
	d = e.Authorize(context.Background(), "7", policy.Request{Principal: "user:94", Action: "READ", Resource: policy.ResourceRef{Type: "channel", ID: "mods"}})
	if d.Decision != "deny" || !slices.Equal(d.Reasons, []string{"evaluation_error"}) || len(d.Errors) != 1 || !slices.Equal(failed, []string{"overflow"}) {
		t.Fatalf("evaluation error: %+v, failed %v", d, failed)
	}
}

func TestInvalidateRebuilds(t *testing.T) {
	src := &fakeSource{data: map[string]policy.TenantData{}}
	td := seedTenant(t)
	src.set(td)
	e := newEngine(t, src)
	req := policy.Request{Principal: "user:93", Action: "SEND_MESSAGE", Resource: policy.ResourceRef{Type: "channel", ID: "mods"}}
	if d := e.Authorize(context.Background(), "7", req); d.Decision != "deny" {
		t.Fatalf("before: %+v", d)
	}
	td.Resources[1].Attrs = attrs(t, `{"members":["user:93"]}`)
	src.set(td)
	if d := e.Authorize(context.Background(), "7", req); d.Decision != "deny" {
		t.Fatalf("a snapshot is used until it is invalidated: %+v", d)
	}
	e.Apply(context.Background(), policy.Change{TenantID: "7", Part: policy.PartAll})
	if d := e.Authorize(context.Background(), "7", req); d.Decision != "permit" {
		t.Fatalf("after invalidation: %+v", d)
	}
	if src.loads != 2 {
		t.Fatalf("loads = %d, want 2", src.loads)
	}
}
