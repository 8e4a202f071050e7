package main

import (
	"net/http"
	"slices"
	"testing"

	"github.com/tollgate/tollgate/examples/internal/fakepdp"
	"github.com/tollgate/tollgate/examples/internal/seedsvc"
	"github.com/tollgate/tollgate/identity"
)

func TestToolcore(t *testing.T) {
	var f *fakepdp.Server
	// Tenant "t1": the admin manages the tenant; an agent may run a tool
	// listing it, acting for user:m, who holds the role "member".
	f = fakepdp.New(t, func(q fakepdp.Question) string {
		if q.TenantID != "t1" {
			return ""
		}
		if q.Action == "MANAGE_TENANT" && q.Principal == "user:admin" {
			return "tenant_admin"
		}
		attrs := f.Resource("t1/tool/" + q.Resource.ID)
		agents, _ := attrs["allowed_agents"].([]any)
		roles, _ := attrs["roles"].([]any)
		if q.Action == "EXECUTE_TOOL" && slices.Contains(agents, any(q.Principal)) && q.OnBehalfOf == "user:m" && slices.Contains(roles, any("member")) {
			return "tool_agent"
		}
		return ""
	})
	pdp, reg := f.Clients(t)
	h := (&server{Server: seedsvc.Server{PDP: pdp}, registry: reg, tools: map[string]map[string]tool{}}).routes(fakepdp.Actors(map[string]identity.ActorContext{
		"admin":    {ActorID: "user:admin", TenantID: "t1"},
		"member":   {ActorID: "user:m", TenantID: "t1"},
		"agent":    {ActorID: "agent:a", TenantID: "t1", OnBehalfOf: "user:m"},
		"outsider": {ActorID: "user:o", TenantID: "t2"},
	}))

	search := map[string]any{"name": "search", "allowed_agents": []string{"agent:a"}, "roles": []string{"member"}}
	if code, _ := fakepdp.Send(t, h, "PUT", "/tools/search", "member", search); code != http.StatusForbidden {
		t.Fatalf("a member registering: %d", code)
	}
	for id, body := range map[string]any{"search": search, "deploy": map[string]any{"name": "deploy", "roles": []string{"admin"}}} {
		if code, out := fakepdp.Send(t, h, "PUT", "/tools/"+id, "admin", body); code != http.StatusOK || out["id"] != id {
			t.Fatalf("registering %s: %d %v", id, code, out)
		}
	}
	if code, out := fakepdp.Send(t, h, "PUT", "/tools/bad", "admin", search); code != http.StatusBadRequest || out["code"] != "invalid_resource" {
		t.Fatalf("a tool the registry refuses: %d %v", code, out)
	}
	if attrs := f.Resource("t1/tool/deploy"); attrs == nil || len(attrs["allowed_agents"].([]any)) != 0 {
		t.Fatalf("registered deploy: %v", attrs)
	}
	list := func(who string) []string {
		t.Helper()
		code, out := fakepdp.Send(t, h, "GET", "/tools", who, nil)
		if code != http.StatusOK {
			t.Fatalf("listing as %s: %d %v", who, code, out)
		}
		ids := []string{}
		tools, _ := out["tools"].([]any)
		for _, v := range tools {
			ids = append(ids, v.(map[string]any)["id"].(string))
		}
		return ids
	}
	if got := list("agent"); !slices.Equal(got, []string{"search"}) {
		t.Fatalf("the agent's tools: %v", got)
	}
	if got := list("member"); len(got) != 0 {
		t.Fatalf("the member's tools: %v", got)
	}
	if got := list("outsider"); len(got) != 0 {
		t.Fatalf("the outsider's tools: %v", got)
	}
	f.SetDown(true)
	if code, _ := fakepdp.Send(t, h, "GET", "/tools", "agent", nil); code != http.StatusServiceUnavailable {
		t.Fatalf("listing, Tollgate down: %d", code)
	}
}
