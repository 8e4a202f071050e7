package httpapi_test

import (
	"fmt"
	"net/http"
	"slices"
	"testing"

	"github.com/tollgate/tollgate/ids"
)

func TestAgentLifecycle(t *testing.T) {
	forEachBackend(t, func(t *testing.T, ts *testServer) {
		w := newWorld(t, ts)
		base := "/v1/tenants/" + w.tenantA + "/agents"
		created := ts.do("POST", base, w.memberTok, map[string]any{"name": "helper", "description": "answers mail"})
		expect(t, created, http.StatusCreated, "")
		id := created.str("id")
		if created.header.Get("Location") != base+"/"+id || created.str("actor_id") != "agent:"+id ||
			created.str("owner_id") != w.member.ActorID() || created.str("tenant_id") != w.tenantA ||
			created.str("status") != "active" || created.str("description") != "answers mail" {
			t.Fatalf("create: %v %s", created.header, created.raw)
		}
		agent := base + "/" + id

		renamed := ts.do("PATCH", agent, w.adminTok, map[string]any{"name": "mail helper"})
		expect(t, renamed, http.StatusOK, "")
		if renamed.str("name") != "mail helper" || renamed.str("owner_id") != w.member.ActorID() || renamed.str("description") != "answers mail" {
			t.Fatalf("admin rename: %s", renamed.raw)
		}
		described := ts.do("PATCH", agent, w.memberTok, map[string]any{"description": ""})
		expect(t, described, http.StatusOK, "")
		if described.str("description") != "" || described.str("name") != "mail helper" {
			t.Fatalf("owner patch: %s", described.raw)
		}
		got := ts.do("GET", agent, w.memberTok, nil)
		expect(t, got, http.StatusOK, "")
		if got.str("name") != "mail helper" {
			t.Fatalf("get: %s", got.raw)
		}

		// Its key acts as the agent, within its owner's rights.
		_, key := createKey(t, ts, w.memberTok, map[string]any{"name": "helper", "actor_id": "agent:" + id, "scopes": []string{"tenant:read"}})
		me := ts.withKey("GET", "/v1/auth/me", key, nil)
		expect(t, me, http.StatusOK, "")
		if me.str("actor_id") != "agent:"+id || me.str("actor_type") != "agent" || me.str("credential") != "api_key" {
			t.Fatalf("agent key me: %s", me.raw)
		}

		// Disabling it stops its keys at once; enabling brings them back.
		disabled := ts.do("PATCH", agent, w.memberTok, map[string]any{"status": "disabled"})
		expect(t, disabled, http.StatusOK, "")
		if disabled.str("status") != "disabled" {
			t.Fatalf("disable: %s", disabled.raw)
		}
		expect(t, ts.withKey("GET", "/v1/auth/me", key, nil), http.StatusUnauthorized, "actor_disabled")
		expect(t, ts.do("PATCH", agent, w.adminTok, map[string]any{"status": "active"}), http.StatusOK, "")
		expect(t, ts.withKey("GET", "/v1/auth/me", key, nil), http.StatusOK, "")

		// Deleting it revokes its keys.
		expect(t, ts.do("DELETE", agent, w.memberTok, nil), http.StatusNoContent, "")
		expect(t, ts.withKey("GET", "/v1/auth/me", key, nil), http.StatusUnauthorized, "api_key_revoked")
		expect(t, ts.do("GET", agent, w.memberTok, nil), http.StatusNotFound, "agent_not_found")
		expect(t, ts.do("PATCH", agent, w.memberTok, map[string]any{"name": "back"}), http.StatusNotFound, "agent_not_found")
		expect(t, ts.do("DELETE", agent, w.memberTok, nil), http.StatusNotFound, "agent_not_found")
		keys := ts.do("GET", "/v1/api-keys?include_revoked=true&actor_id=agent:"+id, w.ownerTok, nil)
		if items := keys.items(); len(items) != 1 || items[0]["revoked_at"] == nil {
			t.Fatalf("deleted agent's keys: %s", keys.raw)
		}
	})
}

func TestAgentList(t *testing.T) {
	forEachBackend(t, func(t *testing.T, ts *testServer) {
		w := newWorld(t, ts)
		base := "/v1/tenants/" + w.tenantA + "/agents"
		var all []string
		for i := range 3 {
			all = append(all, createAgent(t, ts, w.memberTok, w.tenantA, fmt.Sprintf("member %d", i)))
		}
		all = append(all, createAgent(t, ts, w.adminTok, w.tenantA, "admin's"))
		slices.Sort(all)
		createAgent(t, ts, w.outBTok, w.tenantB, "of B")

		if got := listAll(t, ts, w.memberTok, base, "id"); !slices.Equal(got, all) {
			t.Fatalf("agents:read lists %v, want %v", got, all)
		}
		expect(t, ts.do("GET", base+"?limit=0", w.memberTok, nil), http.StatusBadRequest, "invalid_limit")
	})
}

func TestAgentBadInput(t *testing.T) {
	forEachBackend(t, func(t *testing.T, ts *testServer) {
		w := newWorld(t, ts)
		base := "/v1/tenants/" + w.tenantA + "/agents"
		id := createAgent(t, ts, w.memberTok, w.tenantA, "helper")
		for _, c := range []struct {
			name, method, path string
			body               any
			status             int
			code               string
		}{
			{"missing name", "POST", base, map[string]any{"description": "x"}, 400, "invalid_name"},
			{"owner in body", "POST", base, map[string]any{"name": "a", "owner_id": w.admin.ActorID()}, 400, "unknown_field"},
			{"name not a string", "POST", base, `{"name": 7}`, 400, "invalid_type"},
			{"empty body", "POST", base, "", 400, "invalid_json"},
			{"patch owner", "PATCH", base + "/" + id, map[string]any{"owner_id": w.member.ActorID()}, 400, "unknown_field"},
			{"missing agent", "GET", base + "/" + ids.New(), nil, 404, "agent_not_found"},
			{"delete missing agent", "DELETE", base + "/" + ids.New(), nil, 404, "agent_not_found"},
			{"malformed tenant", "POST", "/v1/tenants/nope/agents", map[string]any{"name": "x"}, 404, "tenant_not_found"},
		} {
			t.Run(c.name, func(t *testing.T) {
				expect(t, ts.do(c.method, c.path, w.memberTok, c.body), c.status, c.code)
			})
		}
		got := ts.do("GET", base+"/"+id, w.memberTok, nil)
		if got.str("name") != "helper" || got.str("status") != "active" {
			t.Fatalf("bad input changed the agent: %s", got.raw)
		}
		list := ts.do("GET", base, w.ownerTok, nil)
		if len(list.items()) != 1 {
			t.Fatalf("bad input created agents: %s", list.raw)
		}
	})
}

// TestAgentsCrossTenant checks that tenant B's agents are out of reach from
// tenant A, exactly as agents that do not exist.
func TestAgentsCrossTenant(t *testing.T) {
	forEachBackend(t, func(t *testing.T, ts *testServer) {
		w := newWorld(t, ts)
		bAgent := createAgent(t, ts, w.outBTok, w.tenantB, "b's agent")
		_, bKey := createKey(t, ts, w.outBTok, map[string]any{"name": "b", "actor_id": "agent:" + bAgent, "scopes": []string{"tenant:read"}})
		_, ownerKey := createKey(t, ts, w.ownerTok, map[string]any{"name": "owner", "scopes": []string{"agents:read", "agents:write", "tenant:read"}})
		const missingTenant = "01jz0000000000000000000000"
		callers := []struct {
			name string
			send func(method, path string, body any) response
		}{
			{"owner of A", func(m, p string, b any) response { return ts.do(m, p, w.ownerTok, b) }},
			{"member of A", func(m, p string, b any) response { return ts.do(m, p, w.memberTok, b) }},
			{"owner's key of A", func(m, p string, b any) response { return ts.withKey(m, p, ownerKey, b) }},
		}
		for _, c := range callers {
			t.Run(c.name, func(t *testing.T) {
				for _, rt := range []struct {
					method, path string
					body         any
				}{
					{"GET", "/v1/tenants/%s/agents", nil},
					{"POST", "/v1/tenants/%s/agents", map[string]any{"name": "spy"}},
					{"GET", "/v1/tenants/%s/agents/" + bAgent, nil},
					{"PATCH", "/v1/tenants/%s/agents/" + bAgent, map[string]any{"status": "disabled"}},
					{"DELETE", "/v1/tenants/%s/agents/" + bAgent, nil},
				} {
					foreign := c.send(rt.method, fmt.Sprintf(rt.path, w.tenantB), rt.body)
					absent := c.send(rt.method, fmt.Sprintf(rt.path, missingTenant), rt.body)
					expect(t, foreign, http.StatusNotFound, "tenant_not_found")
					expect(t, absent, http.StatusNotFound, "tenant_not_found")
					if foreign.str("detail") != absent.str("detail") {
						t.Fatalf("foreign and missing tenants differ: %s vs %s", foreign.raw, absent.raw)
					}
				}
				// B's agent under A's id is simply not there.
				for _, m := range []string{"GET", "PATCH", "DELETE"} {
					expect(t, c.send(m, "/v1/tenants/"+w.tenantA+"/agents/"+bAgent, map[string]any{"status": "disabled"}), http.StatusNotFound, "agent_not_found")
				}
				expect(t, c.send("POST", "/v1/api-keys", map[string]any{"name": "x", "actor_id": "agent:" + bAgent}), http.StatusNotFound, "agent_not_found")
			})
		}
		got := ts.do("GET", "/v1/tenants/"+w.tenantB+"/agents/"+bAgent, w.outBTok, nil)
		if got.str("status") != "active" || got.str("name") != "b's agent" {
			t.Fatalf("B's agent changed: %s", got.raw)
		}
		expect(t, ts.withKey("GET", "/v1/auth/me", bKey, nil), http.StatusOK, "")
		list := ts.do("GET", "/v1/tenants/"+w.tenantB+"/agents", w.outBTok, nil)
		if len(list.items()) != 1 {
			t.Fatalf("B's agents changed: %s", list.raw)
		}
	})
}
