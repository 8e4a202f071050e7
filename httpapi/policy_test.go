package httpapi_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// seedChannel is the channel of the seed story.
const seedChannel = "channel-general-daarion"

// ask is the body of an authorization request; extra adds fields in
// key, value pairs.
func ask(action, typ, id string, extra ...any) map[string]any {
	b := map[string]any{"action": action, "resource": map[string]any{"type": typ, "id": id}}
	for i := 0; i+1 < len(extra); i += 2 {
		b[extra[i].(string)] = extra[i+1]
	}
	return b
}

// authz asks POST /v1/authorize as token, failing unless the answer is a
// decision.
func authz(t *testing.T, ts *testServer, token string, body any) response {
	t.Helper()
	r := ts.do("POST", "/v1/authorize", token, body)
	expect(t, r, http.StatusOK, "")
	return r
}

// expectDecision fails unless r is the decision with exactly these
// reasons (in any order).
func expectDecision(t *testing.T, r response, decision string, reasons ...string) {
	t.Helper()
	got := r.strs("reasons")
	slices.Sort(got)
	want := slices.Clone(reasons)
	slices.Sort(want)
	if r.str("decision") != decision || !slices.Equal(got, want) || r.str("decision_id") == "" {
		t.Fatalf("got %s, want %s %v", r.raw, decision, reasons)
	}
	if _, ok := r.body["errors"].([]any); !ok {
		t.Fatalf("errors is not a list: %s", r.raw)
	}
	if decision == "permit" && len(r.strs("errors")) != 0 {
		t.Fatalf("a permit with errors: %s", r.raw)
	}
}

// num reads a JSON number held under key.
func (r response) num(key string) float64 {
	f, _ := r.body[key].(float64)
	return f
}

func resourcePath(tenantID, typ, id string) string {
	return "/v1/tenants/" + tenantID + "/resources/" + typ + "/" + id
}

// putResources registers resources in tenantID as token, failing unless
// 200.
func putResources(t *testing.T, ts *testServer, token, tenantID string, rs ...map[string]any) response {
	t.Helper()
	r := ts.do("POST", "/v1/tenants/"+tenantID+"/resources:batch", token, map[string]any{"resources": rs})
	expect(t, r, http.StatusOK, "")
	return r
}

// policyWorld is the world with the seed story's resources: the channel
// the member is in, the member's agent with a delegated token, tools, and
// services with and without authz:check.
type policyWorld struct {
	*world
	other             string // a second member of tenant A, in nothing
	otherTok          string
	outMember         string // a member (not admin) of tenant B
	outMemberTok      string
	agent             string // the member's agent's id
	agentKey          string
	delegated         string // the member's rights delegated to the agent
	root              string // a platform admin's token
	checker, outsider string // service tokens with authz:check and authz:write, and without
}

func newPolicyWorld(t *testing.T, ts *testServer) *policyWorld {
	t.Helper()
	pw := &policyWorld{world: newWorld(t, ts)}
	w := pw.world
	u, tok := addMember(t, ts, w.ownerTok, w.tenantA, "other@a.example", "member")
	pw.other, pw.otherTok = u.ActorID(), tok
	u, tok = addMember(t, ts, w.outBTok, w.tenantB, "member@b.example", "member")
	pw.outMember, pw.outMemberTok = u.ActorID(), tok

	r := ts.do("PUT", resourcePath(w.tenantA, "channel", seedChannel), w.adminTok,
		map[string]any{"attrs": map[string]any{"members": []string{w.member.ActorID()}}})
	expect(t, r, http.StatusOK, "")

	pw.agent = createAgent(t, ts, w.memberTok, w.tenantA, "assistant")
	_, pw.agentKey = createKey(t, ts, w.memberTok, map[string]any{"name": "assistant", "actor_id": "agent:" + pw.agent, "scopes": []string{"tenant:read"}})
	pw.delegated = exchange(t, ts, exchangeForm(w.memberTok, pw.agentKey)).str("access_token")
	agentID := "agent:" + pw.agent
	putResources(t, ts, w.adminTok, w.tenantA,
		map[string]any{"type": "tool", "id": "tool-search", "attrs": map[string]any{"allowed_agents": []string{agentID}, "roles": []string{"member"}}},
		map[string]any{"type": "tool", "id": "tool-deploy", "attrs": map[string]any{"allowed_agents": []string{agentID}, "roles": []string{"admin"}}},
		map[string]any{"type": "tool", "id": "tool-billing", "attrs": map[string]any{"allowed_agents": []string{}, "roles": []string{"member"}}},
	)

	_, pw.root = ts.platformAdmin("root@platform.example")
	id, secret := registerService(t, ts, pw.root, "messaging", "authz:check", "authz:write")
	pw.checker = serviceToken(t, ts, id, secret)
	id, secret = registerService(t, ts, pw.root, "mailer", "ratelimit:check")
	pw.outsider = serviceToken(t, ts, id, secret)
	return pw
}

// TestAuthorizeSeedStory runs the seed story over HTTP: channel access,
// tool execution through a delegated agent, agent management, usage and
// tenant administration, as people, agents and services ask.
func TestAuthorizeSeedStory(t *testing.T) {
	forEachBackend(t, func(t *testing.T, ts *testServer) {
		pw := newPolicyWorld(t, ts)
		w := pw.world
		member, admin := w.member.ActorID(), w.admin.ActorID()

		// The registered channel reads back as it was written.
		got := ts.do("GET", resourcePath(w.tenantA, "channel", seedChannel), w.memberTok, nil)
		expect(t, got, http.StatusOK, "")
		attrs, _ := got.body["attrs"].(map[string]any)
		if got.str("type") != "channel" || got.str("id") != seedChannel || got.str("updated_at") == "" ||
			fmt.Sprint(got.body["parents"]) != "[]" || fmt.Sprint(attrs["members"]) != "["+member+"]" {
			t.Fatalf("registered channel: %s", got.raw)
		}

		_, memberKey := createKey(t, ts, w.memberTok, map[string]any{"name": "member's", "scopes": []string{"tenant:read"}})
		for _, c := range []struct {
			name     string
			token    string
			key      bool // token is an API key
			body     map[string]any
			decision string
			reasons  []string
		}{
			{"member sends", w.memberTok, false, ask("SEND_MESSAGE", "channel", seedChannel), "permit", []string{"channel_member"}},
			{"member names themself", w.memberTok, false, ask("SEND_MESSAGE", "channel", seedChannel, "principal", member, "tenant_id", w.tenantA), "permit", []string{"channel_member"}},
			{"member's API key", memberKey, true, ask("SEND_MESSAGE", "channel", seedChannel), "permit", []string{"channel_member"}},
			{"outsider in their own tenant", pw.outMemberTok, false, ask("READ", "channel", seedChannel), "deny", []string{"default_deny"}},
			{"service about the outsider", pw.checker, false, ask("SEND_MESSAGE", "channel", seedChannel, "tenant_id", w.tenantA, "principal", pw.outMember), "deny", []string{"default_deny"}},
			{"service about the other tenant's owner", pw.checker, false, ask("SEND_MESSAGE", "channel", seedChannel, "tenant_id", w.tenantA, "principal", w.outB.ActorID()), "deny", []string{"default_deny"}},
			// The same id in B is another channel, unregistered there: even
			// B's admin gets nothing on it.
			{"other tenant's admin in their own tenant", w.outBTok, false, ask("READ", "channel", seedChannel), "deny", []string{"default_deny"}},
			{"service about the member", pw.checker, false, ask("SEND_MESSAGE", "channel", seedChannel, "tenant_id", w.tenantA, "principal", member), "permit", []string{"channel_member"}},
			{"service about the member in B", pw.checker, false, ask("SEND_MESSAGE", "channel", seedChannel, "tenant_id", w.tenantB, "principal", member), "deny", []string{"default_deny"}},
			{"service about itself", pw.checker, false, ask("READ", "channel", seedChannel, "tenant_id", w.tenantA, "principal", "service:messaging"), "deny", []string{"default_deny"}},

			{"delegated agent runs an allowed tool", pw.delegated, false, ask("EXECUTE_TOOL", "tool", "tool-search"), "permit", []string{"tool_agent"}},
			{"delegated agent names its human", pw.delegated, false, ask("EXECUTE_TOOL", "tool", "tool-search", "on_behalf_of", member), "permit", []string{"tool_agent"}},
			{"agent without a human", pw.agentKey, true, ask("EXECUTE_TOOL", "tool", "tool-search"), "deny", []string{"default_deny"}},
			{"service about the delegated agent", pw.checker, false, ask("EXECUTE_TOOL", "tool", "tool-search", "tenant_id", w.tenantA, "principal", "agent:"+pw.agent, "on_behalf_of", member), "permit", []string{"tool_agent"}},
			{"service: agent for another human", pw.checker, false, ask("EXECUTE_TOOL", "tool", "tool-search", "tenant_id", w.tenantA, "principal", "agent:"+pw.agent, "on_behalf_of", w.outB.ActorID()), "deny", []string{"default_deny"}},
			{"admin manages a tool", w.adminTok, false, ask("MANAGE", "tool", "tool-deploy"), "permit", []string{"tool_admin"}},
			{"caller's own entity", w.memberTok, false, ask("EXECUTE_TOOL", "tool", "tool-ephemeral", "entities", []any{
				map[string]any{"type": "tool", "id": "tool-ephemeral", "attrs": map[string]any{"roles": []string{"member"}}},
			}), "permit", []string{"tool_role"}},

			{"outsider manages the agent", pw.outMemberTok, false, ask("MANAGE_AGENT", "agent", pw.agent), "deny", []string{"default_deny"}},
			{"the agent manages itself", pw.delegated, false, ask("MANAGE_AGENT", "agent", pw.agent), "deny", []string{"default_deny"}},

			{"a member's usage as an admin", w.adminTok, false, ask("VIEW_USAGE", "usage", member), "permit", []string{"usage_admin"}},

			{"member views another tenant", w.memberTok, false, ask("VIEW_TENANT", "tenant", w.tenantB), "deny", []string{"default_deny"}},
		} {
			t.Run(c.name, func(t *testing.T) {
				var r response
				if c.key {
					r = ts.withKey("POST", "/v1/authorize", c.token, c.body)
				} else {
					r = ts.do("POST", "/v1/authorize", c.token, c.body)
				}
				expect(t, r, http.StatusOK, "")
				expectDecision(t, r, c.decision, c.reasons...)
				if r.num("policy_version") != 0 || r.header.Get("Cache-Control") != "no-store" {
					t.Fatalf("answer: %v %s", r.header, r.raw)
				}
			})
		}

		// Who may ask about whom.
		for _, c := range []struct {
			name   string
			token  string
			body   map[string]any
			status int
			code   string
		}{
			{"a human for another human", w.memberTok, ask("READ", "channel", seedChannel, "on_behalf_of", admin), 403, "principal_not_caller"},
			{"an agent as its human", pw.delegated, ask("EXECUTE_TOOL", "tool", "tool-search", "principal", member), 403, "principal_not_caller"},
			{"a human about another tenant", w.outBTok, ask("READ", "channel", seedChannel, "tenant_id", w.tenantA), 404, "tenant_not_found"},
			{"a platform admin outside any tenant", pw.root, ask("READ", "channel", seedChannel), 403, "tenant_not_selected"},
			{"no credential", "", ask("READ", "channel", seedChannel), 401, "missing_credential"},
		} {
			t.Run(c.name, func(t *testing.T) {
				expect(t, ts.do("POST", "/v1/authorize", c.token, c.body), c.status, c.code)
			})
		}
	})
}

// TestAuthorizeBadRequests checks that a question the engine cannot
// evaluate is a deny with reason invalid_request, never an error or a
// permit, and that a body that is not a request is a 400.
func TestAuthorizeBadRequests(t *testing.T) {
	forEachBackend(t, func(t *testing.T, ts *testServer) {
		pw := newPolicyWorld(t, ts)
		w := pw.world
		member := w.member.ActorID()
		tooMany := make([]any, 101)
		for i := range tooMany {
			tooMany[i] = map[string]any{"type": "tool", "id": fmt.Sprintf("t%d", i)}
		}
		entity := func(e map[string]any) []any { return []any{e} }
		for _, c := range []struct {
			name  string
			token string
			body  map[string]any
		}{
			{"no action", w.memberTok, ask("", "channel", seedChannel)},
			{"lower-case action", w.memberTok, ask("send_message", "channel", seedChannel)},
			{"capitalised resource type", w.memberTok, ask("READ", "Channel", seedChannel)},
			{"no resource", w.memberTok, map[string]any{"action": "READ"}},
			{"empty resource id", w.memberTok, ask("READ", "channel", "")},
			{"control character in the id", w.memberTok, ask("READ", "channel", "channel-general\x01daarion")},
			{"DEL in the id", w.memberTok, ask("READ", "channel", "channel\x7f")},
			{"id too long", w.memberTok, ask("READ", "channel", strings.Repeat("c", 257))},
			{"malformed usage id", w.memberTok, ask("VIEW_USAGE", "usage", "bob")},
			{"too many entities", w.memberTok, ask("READ", "channel", seedChannel, "entities", tooMany)},
			{"entity of an identity type", w.memberTok, ask("MANAGE_AGENT", "agent", "fake", "entities", entity(map[string]any{"type": "agent", "id": "fake"}))},
			{"entity replacing a registered one", pw.otherTok, ask("SEND_MESSAGE", "channel", seedChannel, "entities", entity(map[string]any{
				"type": "channel", "id": seedChannel, "attrs": map[string]any{"members": []string{pw.other}},
			}))},
			{"entity its own parent", w.memberTok, ask("READ", "channel", "c", "entities", entity(map[string]any{
				"type": "channel", "id": "c", "parents": []any{map[string]any{"type": "channel", "id": "c"}},
			}))},
			{"entity with an unknown attribute", w.memberTok, ask("READ", "channel", "c", "entities", entity(map[string]any{
				"type": "channel", "id": "c", "attrs": map[string]any{"members": []string{member}, "colour": "red"},
			}))},
			{"entity attribute of the wrong type", w.memberTok, ask("READ", "channel", "c", "entities", entity(map[string]any{
				"type": "channel", "id": "c", "attrs": map[string]any{"members": member},
			}))},
			{"entity with a fraction", w.memberTok, ask("READ", "channel", "c", "entities", entity(map[string]any{
				"type": "channel", "id": "c", "attrs": map[string]any{"members": []any{1.5}},
			}))},
			{"entity with a null", w.memberTok, ask("READ", "channel", "c", "entities", entity(map[string]any{
				"type": "channel", "id": "c", "attrs": map[string]any{"members": nil},
			}))},
			{"entity with a control character", w.memberTok, ask("READ", "channel", "c\x00", "entities", entity(map[string]any{
				"type": "channel", "id": "c\x00", "attrs": map[string]any{"members": []string{member}},
			}))},
			{"context ip not an address", w.memberTok, ask("READ", "channel", seedChannel, "context", map[string]any{"ip": "not-an-ip"})},
			{"context ip a number", w.memberTok, ask("READ", "channel", seedChannel, "context", map[string]any{"ip": 10})},
			{"service: malformed principal", pw.checker, ask("READ", "channel", seedChannel, "tenant_id", w.tenantA, "principal", "bob")},
			{"service: principal with a control character", pw.checker, ask("READ", "channel", seedChannel, "tenant_id", w.tenantA, "principal", "user:\x02")},
			{"service: on_behalf_of an agent", pw.checker, ask("EXECUTE_TOOL", "tool", "tool-search", "tenant_id", w.tenantA, "principal", "agent:"+pw.agent, "on_behalf_of", "agent:"+pw.agent)},
		} {
			t.Run(c.name, func(t *testing.T) {
				r := authz(t, ts, c.token, c.body)
				expectDecision(t, r, "deny", "invalid_request")
				if len(r.strs("errors")) != 1 || r.strs("errors")[0] == "" {
					t.Fatalf("an invalid request without its error: %s", r.raw)
				}
			})
		}
		// A valid context and a known, unregistered channel of the caller's
		// own are fine.
		expectDecision(t, authz(t, ts, w.memberTok, ask("READ", "channel", seedChannel, "context", map[string]any{"ip": "10.0.0.1"})), "permit", "channel_member")
		expectDecision(t, authz(t, ts, w.memberTok, ask("READ", "channel", "c", "entities", entity(map[string]any{
			"type": "channel", "id": "c", "attrs": map[string]any{"members": []string{member}},
		}))), "permit", "channel_member")

		// What is not a request at all is a 400.
		for _, c := range []struct {
			name string
			body any
			code string
		}{
			{"not JSON", "{action", "invalid_json"},
			{"empty", "", "invalid_json"},
			{"an array", "[]", "invalid_type"},
			{"unknown field", map[string]any{"action": "READ", "resource": map[string]any{"type": "channel", "id": "x"}, "subject": "x"}, "unknown_field"},
			{"unknown resource field", map[string]any{"action": "READ", "resource": map[string]any{"type": "channel", "id": "x", "tenant": "y"}}, "unknown_field"},
			{"resource a string", map[string]any{"action": "READ", "resource": "channel:x"}, "invalid_type"},
			{"action a number", map[string]any{"action": 1, "resource": map[string]any{"type": "channel", "id": "x"}}, "invalid_type"},
			{"attrs an array", ask("READ", "channel", "c", "entities", entity(map[string]any{"type": "channel", "id": "c", "attrs": []any{}})), "invalid_type"},
			{"context a string", ask("READ", "channel", "c", "context", "10.0.0.1"), "invalid_type"},
			{"two objects", `{"action":"READ"} {}`, "invalid_json"},
		} {
			t.Run(c.name, func(t *testing.T) {
				expect(t, ts.do("POST", "/v1/authorize", w.memberTok, c.body), http.StatusBadRequest, c.code)
			})
		}
		r := ts.send("POST", "/v1/authorize", http.Header{"Authorization": {"Bearer " + w.memberTok}, "Content-Type": {"text/plain"}}, `{}`)
		expect(t, r, http.StatusUnsupportedMediaType, "unsupported_media_type")
	})
}

func TestAuthorizeBatch(t *testing.T) {
	forEachBackend(t, func(t *testing.T, ts *testServer) {
		pw := newPolicyWorld(t, ts)
		w := pw.world
		r := ts.do("POST", "/v1/authorize/batch", w.memberTok, map[string]any{"requests": []any{
			ask("SEND_MESSAGE", "channel", seedChannel),
			ask("FLY", "channel", seedChannel),
			ask("MANAGE", "channel", seedChannel),
			ask("VIEW_USAGE", "usage", w.member.ActorID()),
		}})
		expect(t, r, http.StatusOK, "")
		ds := decisions(t, r)
		if len(ds) != 4 {
			t.Fatalf("decisions: %s", r.raw)
		}
		expectDecision(t, ds[0], "permit", "channel_member")
		expectDecision(t, ds[1], "deny", "invalid_request")
		expectDecision(t, ds[2], "deny", "default_deny")
		expectDecision(t, ds[3], "permit", "usage_self")
		if ds[0].str("decision_id") == ds[1].str("decision_id") {
			t.Fatal("decisions share an id")
		}

		// A service asks about several principals of one tenant.
		r = ts.do("POST", "/v1/authorize/batch", pw.checker, map[string]any{"tenant_id": w.tenantA, "requests": []any{
			ask("SEND_MESSAGE", "channel", seedChannel, "principal", w.member.ActorID()),
			ask("SEND_MESSAGE", "channel", seedChannel, "principal", w.outB.ActorID()),
			ask("SEND_MESSAGE", "channel", seedChannel, "principal", w.admin.ActorID()),
		}})
		expect(t, r, http.StatusOK, "")
		ds = decisions(t, r)
		expectDecision(t, ds[0], "permit", "channel_member")
		expectDecision(t, ds[1], "deny", "default_deny")
		// An admin manages the channel but sends only where it lists them.
		expectDecision(t, ds[2], "deny", "default_deny")

		// The largest batch.
		full := make([]any, 1000)
		for i := range full {
			full[i] = ask("READ", "channel", fmt.Sprintf("c-%d", i))
		}
		full[999] = ask("READ", "channel", seedChannel)
		r = ts.do("POST", "/v1/authorize/batch", w.memberTok, map[string]any{"requests": full})
		expect(t, r, http.StatusOK, "")
		if ds = decisions(t, r); len(ds) != 1000 || ds[998].str("decision") != "deny" || ds[999].str("decision") != "permit" {
			t.Fatalf("1000 decisions: %d", len(ds))
		}

		for _, c := range []struct {
			name   string
			token  string
			body   any
			status int
			code   string
			field  string
		}{
			{"no requests", w.memberTok, map[string]any{}, 400, "invalid_batch", "requests"},
			{"a tenant per request", w.memberTok, map[string]any{"requests": []any{ask("READ", "channel", "x", "tenant_id", w.tenantA)}}, 400, "unknown_field", "tenant_id"},
			{"a service without authz:check", pw.outsider, map[string]any{"tenant_id": w.tenantA, "requests": []any{
				ask("READ", "channel", seedChannel, "principal", w.member.ActorID()),
			}}, 403, "scope_required", ""},
			{"another tenant", w.outBTok, map[string]any{"tenant_id": w.tenantA, "requests": []any{ask("READ", "channel", seedChannel)}}, 404, "tenant_not_found", ""},
		} {
			t.Run(c.name, func(t *testing.T) {
				r := ts.do("POST", "/v1/authorize/batch", c.token, c.body)
				expect(t, r, c.status, c.code)
				if r.str("field") != c.field {
					t.Fatalf("field = %q, want %q", r.str("field"), c.field)
				}
			})
		}
	})
}

// decisions returns a batch answer's decisions as responses.
func decisions(t *testing.T, r response) []response {
	t.Helper()
	list, ok := r.body["decisions"].([]any)
	if !ok {
		t.Fatalf("no decisions: %s", r.raw)
	}
	out := make([]response, len(list))
	for i, d := range list {
		m, _ := d.(map[string]any)
		out[i] = response{status: r.status, body: m, raw: []byte(fmt.Sprint(m))}
	}
	return out
}

func TestAuthorizeLookup(t *testing.T) {
	forEachBackend(t, func(t *testing.T, ts *testServer) {
		pw := newPolicyWorld(t, ts)
		w := pw.world
		member := w.member.ActorID()
		// Seven channels the member is in, between others they are not.
		var rs []map[string]any
		var want []string
		for i := 1; i <= 7; i++ {
			id := fmt.Sprintf("room-%02d", i)
			want = append(want, id)
			rs = append(rs, map[string]any{"type": "channel", "id": id, "attrs": map[string]any{"members": []string{member}}},
				map[string]any{"type": "channel", "id": id + "-private", "attrs": map[string]any{"members": []string{w.admin.ActorID()}}})
		}
		putResources(t, ts, w.adminTok, w.tenantA, rs...)

		lookup := func(token string, body map[string]any) response {
			t.Helper()
			r := ts.do("POST", "/v1/authorize/lookup", token, body)
			expect(t, r, http.StatusOK, "")
			return r
		}
		var got []string
		var pages [][]string
		cursor := ""
		for range 10 {
			body := map[string]any{"action": "SEND_MESSAGE", "resource_type": "channel", "limit": 3}
			if cursor != "" {
				body["cursor"] = cursor
			}
			r := lookup(w.memberTok, body)
			if _, ok := r.body["ids"].([]any); !ok || r.num("policy_version") != 0 {
				t.Fatalf("lookup: %s", r.raw)
			}
			ids := r.strs("ids")
			got = append(got, ids...)
			pages = append(pages, ids)
			if cursor = r.str("next_cursor"); cursor == "" {
				break
			}
			if cursor != ids[len(ids)-1] && len(ids) == 3 {
				t.Fatalf("cursor %q after %v", cursor, ids)
			}
		}
		// The seed channel sorts before the rooms.
		want = append([]string{seedChannel}, want...)
		if !slices.Equal(got, want) {
			t.Fatalf("looked up %v, want %v", got, want)
		}
		if len(pages) != 3 || len(pages[0]) != 3 || len(pages[1]) != 3 || len(pages[2]) != 2 {
			t.Fatalf("pages %v", pages)
		}

		// A context the schema accepts is carried to every candidate.
		if r := lookup(w.memberTok, map[string]any{"action": "READ", "resource_type": "channel", "limit": 200, "context": map[string]any{"ip": "10.0.0.1"}}); !slices.Equal(r.strs("ids"), want) {
			t.Fatalf("lookup with a context: %s", r.raw)
		}

		// The admin may send everywhere; a service asks for the member.
		if r := lookup(w.adminTok, map[string]any{"action": "MANAGE", "resource_type": "channel", "limit": 200}); len(r.strs("ids")) != 15 || r.str("next_cursor") != "" {
			t.Fatalf("admin lookup: %s", r.raw)
		}
		if r := lookup(pw.checker, map[string]any{"tenant_id": w.tenantA, "principal": member, "action": "READ", "resource_type": "channel"}); !slices.Equal(r.strs("ids"), want) {
			t.Fatalf("service lookup: %s", r.raw)
		}
		// A principal allowed none gets an empty list and no cursor.
		for _, tok := range []string{pw.otherTok, pw.outMemberTok} {
			r := lookup(tok, map[string]any{"action": "READ", "resource_type": "channel", "limit": 3})
			if ids, ok := r.body["ids"].([]any); !ok || len(ids) != 0 || r.str("next_cursor") != "" {
				t.Fatalf("lookup allowed none: %s", r.raw)
			}
		}
		// Tools through the delegated agent.
		if r := lookup(pw.delegated, map[string]any{"action": "EXECUTE_TOOL", "resource_type": "tool"}); !slices.Equal(r.strs("ids"), []string{"tool-search"}) {
			t.Fatalf("agent's tools: %s", r.raw)
		}

		for _, c := range []struct {
			name   string
			token  string
			body   any
			status int
			code   string
		}{
			{"no type", w.memberTok, map[string]any{"action": "READ"}, 400, "invalid_authorization_request"},
			{"unknown action", w.memberTok, map[string]any{"action": "FLY", "resource_type": "channel"}, 400, "invalid_authorization_request"},
			{"negative limit", w.memberTok, map[string]any{"action": "READ", "resource_type": "channel", "limit": -1}, 400, "invalid_limit"},
			{"cursor too long", w.memberTok, map[string]any{"action": "READ", "resource_type": "channel", "cursor": strings.Repeat("c", 300)}, 400, "invalid_cursor"},
			{"fractional limit", w.memberTok, map[string]any{"action": "READ", "resource_type": "channel", "limit": 1.5}, 400, "invalid_type"},
			{"unknown field", w.memberTok, map[string]any{"action": "READ", "resource_type": "channel", "resource": "x"}, 400, "unknown_field"},
			{"unknown context attribute", w.memberTok, map[string]any{"action": "READ", "resource_type": "channel", "context": map[string]any{"quiet": true}}, 400, "invalid_authorization_request"},
			{"context of the wrong type", w.memberTok, map[string]any{"action": "READ", "resource_type": "channel", "context": map[string]any{"ip": 7}}, 400, "invalid_authorization_request"},
			{"a service, malformed principal", pw.checker, map[string]any{"tenant_id": w.tenantA, "principal": "bob", "action": "READ", "resource_type": "channel"}, 400, "invalid_authorization_request"},
			{"another tenant", w.outBTok, map[string]any{"tenant_id": w.tenantA, "action": "READ", "resource_type": "channel"}, 404, "tenant_not_found"},
		} {
			t.Run(c.name, func(t *testing.T) {
				expect(t, ts.do("POST", "/v1/authorize/lookup", c.token, c.body), c.status, c.code)
			})
		}
	})
}

func TestResources(t *testing.T) {
	forEachBackend(t, func(t *testing.T, ts *testServer) {
		pw := newPolicyWorld(t, ts)
		w := pw.world
		path := resourcePath(w.tenantA, "tool", "tool-x")
		big := int64(1)<<62 + 1

		// A channel may sit in a channel; policies then say "in".
		r := ts.do("PUT", resourcePath(w.tenantA, "channel", "child"), w.adminTok, map[string]any{
			"parents": []any{map[string]any{"type": "channel", "id": seedChannel}},
			"attrs":   map[string]any{"roles": []string{"support"}},
		})
		expect(t, r, http.StatusOK, "")
		expect(t, ts.do("DELETE", resourcePath(w.tenantA, "channel", "child"), w.adminTok, nil), http.StatusNoContent, "")
		// 1.0 and 1e0 are whole numbers too.
		r = ts.send("PUT", resourcePath(w.tenantA, "channel", "numbers"), http.Header{"Authorization": {"Bearer " + w.adminTok}}, `{"attrs":{"level":1.0,"weight":1e3}}`)
		expect(t, r, http.StatusBadRequest, "invalid_authorization_request") // not in the schema, but parsed
		r = ts.send("PUT", path, http.Header{"Authorization": {"Bearer " + w.adminTok}},
			`{"attrs":{"roles":["member"],"allowed_agents":[]},"parents":[]}`)
		expect(t, r, http.StatusOK, "")
		// Numbers reach the engine exact: 2^62+1 is a Long (of the wrong
		// type here, so the schema refuses it), not a float64 past 2^53.
		r = ts.send("PUT", path, http.Header{"Authorization": {"Bearer " + w.adminTok}}, fmt.Sprintf(`{"attrs":{"roles":[%d]}}`, big))
		expect(t, r, http.StatusBadRequest, "invalid_authorization_request")
		if r.str("field") != "attrs" {
			t.Fatalf("a large integer was not kept exact: %s", r.raw)
		}
		r = ts.send("PUT", path, http.Header{"Authorization": {"Bearer " + w.adminTok}}, `{"attrs":{"roles":[1e400]}}`)
		expect(t, r, http.StatusBadRequest, "invalid_authorization_request")
		if r.str("field") != "attrs.roles[0]" {
			t.Fatalf("an out-of-range number: %s", r.raw)
		}

		// Replacing keeps one resource; GET and DELETE.
		r = ts.do("PUT", path, pw.checker, map[string]any{"attrs": map[string]any{"roles": []string{"admin"}}})
		expect(t, r, http.StatusOK, "")
		got := ts.do("GET", path, w.memberTok, nil)
		expect(t, got, http.StatusOK, "")
		if attrs, _ := got.body["attrs"].(map[string]any); fmt.Sprint(attrs["roles"]) != "[admin]" || attrs["allowed_agents"] != nil {
			t.Fatalf("replaced tool: %s", got.raw)
		}
		expect(t, ts.do("DELETE", path, w.adminTok, nil), http.StatusNoContent, "")
		expect(t, ts.do("GET", path, w.adminTok, nil), http.StatusNotFound, "resource_not_found")
		expect(t, ts.do("DELETE", path, w.adminTok, nil), http.StatusNotFound, "resource_not_found")

		// Ids travel percent-encoded; one with a slash is one segment.
		slashed := resourcePath(w.tenantA, "channel", "team%2Fsupport")
		expect(t, ts.do("PUT", slashed, w.adminTok, map[string]any{}), http.StatusOK, "")
		if r := ts.do("GET", slashed, w.adminTok, nil); r.str("id") != "team/support" {
			t.Fatalf("slashed id: %s", r.raw)
		}

		// The batch: 200 with every resource.
		batch := "/v1/tenants/" + w.tenantA + "/resources:batch"
		r = putResources(t, ts, w.adminTok, w.tenantA, map[string]any{"type": "channel", "id": "batch-ok"}, map[string]any{"type": "tool", "id": "batch-ok"})
		if list, _ := r.body["resources"].([]any); len(list) != 2 {
			t.Fatalf("batch: %s", r.raw)
		}

		ctrl := resourcePath(w.tenantA, "channel", "bad%01id")
		for _, c := range []struct {
			name, method, path string
			body               any
			status             int
			code, field        string
		}{
			{"unregistrable type", "PUT", resourcePath(w.tenantA, "agent", pw.agent), map[string]any{}, 400, "invalid_authorization_request", "type"},
			{"unknown type", "PUT", resourcePath(w.tenantA, "widget", "w"), map[string]any{}, 400, "invalid_authorization_request", "type"},
			{"control character in the id", "PUT", ctrl, map[string]any{}, 400, "invalid_authorization_request", "resource.id"},
			{"id too long", "PUT", resourcePath(w.tenantA, "channel", strings.Repeat("c", 257)), map[string]any{}, 400, "invalid_authorization_request", "resource.id"},
			{"tenant parent", "PUT", resourcePath(w.tenantA, "channel", "c"), map[string]any{"parents": []any{map[string]any{"type": "tenant", "id": w.tenantA}}}, 400, "invalid_authorization_request", "parents[0]"},
			{"unknown parent type", "PUT", resourcePath(w.tenantA, "channel", "c"), map[string]any{"parents": []any{map[string]any{"type": "room", "id": "x"}}}, 400, "invalid_authorization_request", "parents[0].type"},
			{"parent without an id", "PUT", resourcePath(w.tenantA, "channel", "c"), map[string]any{"parents": []any{map[string]any{"type": "channel"}}}, 400, "invalid_authorization_request", "parents[0].id"},
			{"attribute of the wrong type", "PUT", resourcePath(w.tenantA, "channel", "c"), map[string]any{"attrs": map[string]any{"members": "user:1"}}, 400, "invalid_authorization_request", "attrs"},
			{"tool attribute on a channel", "PUT", resourcePath(w.tenantA, "channel", "c"), map[string]any{"attrs": map[string]any{"allowed_agents": []string{}}}, 400, "invalid_authorization_request", "attrs"},
			{"null attribute", "PUT", resourcePath(w.tenantA, "channel", "c"), map[string]any{"attrs": map[string]any{"members": nil}}, 400, "invalid_authorization_request", "attrs.members"},
			{"fraction", "PUT", resourcePath(w.tenantA, "channel", "c"), map[string]any{"attrs": map[string]any{"members": []any{0.5}}}, 400, "invalid_authorization_request", "attrs.members[0]"},
			{"visibility neither public nor private", "PUT", resourcePath(w.tenantA, "channel", "c"), map[string]any{"attrs": map[string]any{"visibility": "everyone"}}, 400, "invalid_authorization_request", "attrs.visibility"},
			{"unknown field", "PUT", resourcePath(w.tenantA, "channel", "c"), map[string]any{"type": "channel"}, 400, "unknown_field", "type"},
			{"attrs not an object", "PUT", resourcePath(w.tenantA, "channel", "c"), map[string]any{"attrs": []any{}}, 400, "invalid_type", ""},
			{"no body", "PUT", resourcePath(w.tenantA, "channel", "c"), "", 400, "invalid_json", ""},
			{"batch entry with an unknown field", "POST", batch, map[string]any{"resources": []any{map[string]any{"type": "channel", "id": "d", "tenant_id": w.tenantA}}}, 400, "unknown_field", ""},
		} {
			t.Run(c.name, func(t *testing.T) {
				r := ts.do(c.method, c.path, w.adminTok, c.body)
				expect(t, r, c.status, c.code)
				if c.field != "" && r.str("field") != c.field {
					t.Fatalf("field = %q, want %q; %s", r.str("field"), c.field, r.raw)
				}
			})
		}
	})
}

// TestChannelVisibilityOverHTTP: a public channel is read by every member
// of its tenant and by no one of another; a private one by those it lists;
// an admin manages both and reads only the public one.
func TestChannelVisibilityOverHTTP(t *testing.T) {
	forEachBackend(t, func(t *testing.T, ts *testServer) {
		pw := newPolicyWorld(t, ts)
		w := pw.world
		putResources(t, ts, w.adminTok, w.tenantA,
			map[string]any{"type": "channel", "id": "news", "attrs": map[string]any{"visibility": "public"}},
			map[string]any{"type": "channel", "id": "board", "attrs": map[string]any{"visibility": "private", "members": []string{w.owner.ActorID()}}},
		)
		got := ts.do("GET", resourcePath(w.tenantA, "channel", "news"), w.memberTok, nil)
		if attrs, _ := got.body["attrs"].(map[string]any); attrs["visibility"] != "public" {
			t.Fatalf("the registered channel: %s", got.raw)
		}
		for _, c := range []struct {
			name, token, tenant, principal, action, channel string
			decision                                        string
			reasons                                         []string
		}{
			{"a member reads a public channel", w.memberTok, "", "", "READ", "news", "permit", []string{"channel_public"}},
			{"a member does not send to it", w.memberTok, "", "", "SEND_MESSAGE", "news", "deny", []string{"default_deny"}},
			{"a member does not read a private one", w.memberTok, "", "", "READ", "board", "deny", []string{"default_deny"}},
			{"its member reads the private one", w.ownerTok, "", "", "READ", "board", "permit", []string{"channel_member"}},
			{"an admin manages the private one", w.adminTok, "", "", "MANAGE", "board", "permit", []string{"channel_admin"}},
			{"an admin does not read it", w.adminTok, "", "", "READ", "board", "deny", []string{"default_deny"}},
			{"an admin reads the public one", w.adminTok, "", "", "READ", "news", "permit", []string{"channel_public"}},
			// Tenant B's member asks in its own tenant, where no such
			// channel is registered, and a service asks about it in A's.
			{"another tenant's member, in its tenant", pw.outMemberTok, "", "", "READ", "news", "deny", []string{"default_deny"}},
			{"another tenant's member, in this one", pw.checker, w.tenantA, pw.outMember, "READ", "news", "deny", []string{"default_deny"}},
		} {
			t.Run(c.name, func(t *testing.T) {
				body := ask(c.action, "channel", c.channel)
				if c.tenant != "" {
					body["tenant_id"], body["principal"] = c.tenant, c.principal
				}
				expectDecision(t, authz(t, ts, c.token, body), c.decision, c.reasons...)
			})
		}
	})
}

// TestPolicyTenantIsolation checks who may read and change a tenant's
// resources and policies.
func TestPolicyTenantIsolation(t *testing.T) {
	forEachBackend(t, func(t *testing.T, ts *testServer) {
		pw := newPolicyWorld(t, ts)
		w := pw.world
		ch := resourcePath(w.tenantA, "channel", seedChannel)
		pol := "/v1/tenants/" + w.tenantA + "/policies"
		expect(t, ts.do("PUT", pol, w.adminTok, map[string]any{"text": ""}), http.StatusOK, "")
		const text = `@id("p") permit (principal, action == Action::"READ", resource is Channel) when { resource has roles };`
		for _, c := range []struct {
			method, path string
			body         any
		}{
			{"GET", ch, nil},
			{"PUT", ch, map[string]any{}},
			{"DELETE", ch, nil},
			{"POST", "/v1/tenants/" + w.tenantA + "/resources:batch", map[string]any{"resources": []any{map[string]any{"type": "channel", "id": "x"}}}},
			{"GET", pol, nil},
			{"PUT", pol, map[string]any{"text": text}},
			{"GET", pol + "/versions", nil},
			{"GET", pol + "/versions/1", nil},
			{"POST", pol + "/versions/1/rollback", nil},
		} {
			write := c.method != "GET"
			t.Run(c.method+" "+strings.ReplaceAll(c.path, w.tenantA, "A"), func(t *testing.T) {
				// Tenant B's owner cannot see tenant A, nor anyone a
				// malformed tenant. Who else may read or write is
				// policy.TestWhoMayManageResourcesAndPolicies.
				expect(t, ts.do(c.method, c.path, w.outBTok, c.body), http.StatusNotFound, "tenant_not_found")
				expect(t, ts.do(c.method, strings.Replace(c.path, w.tenantA, "nope", 1), w.adminTok, c.body), http.StatusNotFound, "tenant_not_found")
				// The refusal's shape.
				if write {
					expect(t, ts.do(c.method, c.path, w.memberTok, c.body), http.StatusForbidden, "permission_denied")
				}
			})
		}
		expect(t, ts.do("PUT", pol, pw.checker, map[string]any{"text": text}), http.StatusOK, "")
		expect(t, ts.do("PUT", pol, pw.root, map[string]any{"text": text}), http.StatusOK, "")
		if r := ts.do("GET", pol, w.adminTok, nil); r.num("version") != 3 || r.str("created_by") != subject(t, pw.root) {
			t.Fatalf("policies: %s", r.raw)
		}
		// B's resources stay B's.
		expect(t, ts.do("PUT", resourcePath(w.tenantB, "channel", seedChannel), w.outBTok, map[string]any{}), http.StatusOK, "")
		if r := ts.do("GET", resourcePath(w.tenantA, "channel", seedChannel), w.adminTok, nil); fmt.Sprint(r.body["attrs"]) == "map[]" {
			t.Fatalf("B's write changed A's channel: %s", r.raw)
		}
	})
}

// subject is the actor id a session token stands for.
func subject(t *testing.T, token string) string {
	t.Helper()
	sub, _ := jwtClaims(t, token)["sub"].(string)
	return sub
}

// policyErrors returns an invalid_policy problem's errors.
func policyErrors(t *testing.T, r response) []map[string]any {
	t.Helper()
	expect(t, r, http.StatusBadRequest, "invalid_policy")
	list, _ := r.body["errors"].([]any)
	if len(list) == 0 || r.str("field") != "policies" {
		t.Fatalf("invalid_policy without errors: %s", r.raw)
	}
	out := make([]map[string]any, len(list))
	for i, e := range list {
		out[i], _ = e.(map[string]any)
		if msg, _ := out[i]["message"].(string); msg == "" {
			t.Fatalf("an error without a message: %s", r.raw)
		}
	}
	return out
}

func TestPolicies(t *testing.T) {
	forEachBackend(t, func(t *testing.T, ts *testServer) {
		pw := newPolicyWorld(t, ts)
		w := pw.world
		pol := "/v1/tenants/" + w.tenantA + "/policies"
		send := ask("SEND_MESSAGE", "channel", seedChannel)
		read := ask("READ", "channel", seedChannel)

		r := ts.do("GET", pol, w.adminTok, nil)
		expect(t, r, http.StatusOK, "")
		if r.str("tenant_id") != w.tenantA || r.num("version") != 0 || r.str("text") != "" || r.body["created_at"] != nil || r.body["created_by"] != nil {
			t.Fatalf("no policies: %s", r.raw)
		}

		// A forbid decides, under its id.
		const freeze = `// The general channel is read-only during the freeze.
@id("freeze-general")
forbid (principal, action == Action::"SEND_MESSAGE", resource == Channel::"` + seedChannel + `");
`
		r = ts.do("PUT", pol, w.adminTok, map[string]any{"text": freeze, "previous_version": 0})
		expect(t, r, http.StatusOK, "")
		if r.num("version") != 1 || r.str("text") != freeze || r.str("created_by") != w.admin.ActorID() || r.str("created_at") == "" || r.str("tenant_id") != w.tenantA {
			t.Fatalf("put: %s", r.raw)
		}
		d := authz(t, ts, w.memberTok, send)
		expectDecision(t, d, "deny", "freeze-general")
		if d.num("policy_version") != 1 {
			t.Fatalf("decision under version %v", d.body["policy_version"])
		}
		expectDecision(t, authz(t, ts, w.memberTok, read), "permit", "channel_member")
		expectDecision(t, authz(t, ts, w.adminTok, send), "deny", "freeze-general")
		// Other tenants are untouched.
		expectDecision(t, authz(t, ts, pw.checker, ask("SEND_MESSAGE", "channel", seedChannel, "tenant_id", w.tenantB, "principal", w.outB.ActorID())), "deny", "default_deny")

		// Refused texts, each problem with its position; nothing stored.
		otherTenant := `@id("ok")
permit (principal, action == Action::"READ", resource is Channel) when { resource has roles };

@id("elsewhere")
permit (principal, action == Action::"VIEW_TENANT", resource == Tenant::"` + w.tenantB + `");
`
		for _, c := range []struct {
			name     string
			text     string
			line     int
			policy   string
			contains string
		}{
			{"syntax", "@id(\"ok\")\npermit (principal, action, resource);\n\n@id(\"broken\")\npermit (principal, action == Action::\"READ\" resource);\n", 5, "", "syntax error"},
			{"schema: unknown attribute", "@id(\"ok\")\npermit (principal, action, resource);\n@id(\"colour\")\npermit (principal, action == Action::\"READ\", resource is Channel)\nwhen { resource.colour == \"red\" };\n", 3, "colour", ""},
			{"schema: unknown action", "\n\n@id(\"fly\")\npermit (principal, action == Action::\"FLY\", resource);\n", 3, "fly", ""},
			{"another tenant", otherTenant, 4, "elsewhere", w.tenantB},
			{"no id", "permit (principal, action, resource);", 1, "", "@id"},
			{"a default's id", "\n@id(\"channel_member\")\npermit (principal, action, resource);", 2, "channel_member", "already used"},
			{"a reserved id", "@id(\"default_deny\")\npermit (principal, action, resource);", 1, "default_deny", "reserve"},
		} {
			t.Run(c.name, func(t *testing.T) {
				errs := policyErrors(t, ts.do("PUT", pol, w.adminTok, map[string]any{"text": c.text}))
				e := errs[0]
				if line, _ := e["line"].(float64); int(line) != c.line || e["column"] == nil {
					t.Fatalf("errors %v, want line %d", errs, c.line)
				}
				if p, _ := e["policy"].(string); p != c.policy {
					t.Fatalf("errors %v, want policy %q", errs, c.policy)
				}
				if msg, _ := e["message"].(string); !strings.Contains(msg, c.contains) {
					t.Fatalf("message %q does not mention %q", msg, c.contains)
				}
				// The same text through validate.
				policyErrors(t, ts.do("POST", "/v1/policies/validate", w.adminTok, map[string]any{"text": c.text}))
			})
		}
		// Every problem is listed.
		errs := policyErrors(t, ts.do("PUT", pol, w.adminTok, map[string]any{"text": "@id(\"a\")\npermit (principal, action == Action::\"FLY\", resource);\n@id(\"b\")\npermit (principal, action == Action::\"SWIM\", resource);\n"}))
		lines := map[string]float64{}
		for _, e := range errs {
			lines[e["policy"].(string)], _ = e["line"].(float64)
		}
		if len(lines) != 2 || lines["a"] != 1 || lines["b"] != 3 {
			t.Fatalf("errors: %v", errs)
		}
		if r := ts.do("GET", pol, w.adminTok, nil); r.num("version") != 1 || r.str("text") != freeze {
			t.Fatalf("a refused text changed the policies: %s", r.raw)
		}
		expect(t, ts.do("PUT", pol, w.adminTok, map[string]any{}), http.StatusBadRequest, "text_required")
		expect(t, ts.do("PUT", pol, w.adminTok, map[string]any{"text": strings.Repeat(" ", 256<<10+1)}), http.StatusBadRequest, "invalid_policy")

		// Optimistic concurrency.
		expect(t, ts.do("PUT", pol, w.adminTok, map[string]any{"text": "", "previous_version": 0}), http.StatusConflict, "policy_version_conflict")
		r = ts.do("PUT", pol, w.ownerTok, map[string]any{"text": "", "previous_version": 1})
		expect(t, r, http.StatusOK, "")
		if r.num("version") != 2 || r.str("text") != "" {
			t.Fatalf("cleared: %s", r.raw)
		}
		d = authz(t, ts, w.memberTok, send)
		expectDecision(t, d, "permit", "channel_member")
		if d.num("policy_version") != 2 {
			t.Fatalf("decision under version %v", d.body["policy_version"])
		}

		// Versions, newest first, a page at a time.
		var versions []float64
		cursor := ""
		for range 5 {
			r := ts.do("GET", pol+"/versions?limit=1&cursor="+cursor, w.adminTok, nil)
			expect(t, r, http.StatusOK, "")
			for _, it := range r.items() {
				versions = append(versions, it["version"].(float64))
				if it["created_by"] == "" || it["created_at"] == nil || it["text"] != nil {
					t.Fatalf("version item: %v", it)
				}
			}
			if cursor = r.str("next_cursor"); cursor == "" {
				break
			}
		}
		if !slices.Equal(versions, []float64{2, 1}) {
			t.Fatalf("versions %v", versions)
		}
		expect(t, ts.do("GET", pol+"/versions?cursor=abc", w.adminTok, nil), http.StatusBadRequest, "invalid_cursor")
		expect(t, ts.do("GET", pol+"/versions?limit=0", w.adminTok, nil), http.StatusBadRequest, "invalid_limit")
		r = ts.do("GET", pol+"/versions/1", w.adminTok, nil)
		expect(t, r, http.StatusOK, "")
		if r.num("version") != 1 || r.str("text") != freeze || r.str("created_by") != w.admin.ActorID() {
			t.Fatalf("version 1: %s", r.raw)
		}
		for _, n := range []string{"3", "0", "-1", "abc", "99999999999999999999"} {
			expect(t, ts.do("GET", pol+"/versions/"+n, w.adminTok, nil), http.StatusNotFound, "policy_version_not_found")
			expect(t, ts.do("POST", pol+"/versions/"+n+"/rollback", w.adminTok, nil), http.StatusNotFound, "policy_version_not_found")
		}

		// Rolling back makes a new version of the old text.
		r = ts.do("POST", pol+"/versions/1/rollback", w.adminTok, nil)
		expect(t, r, http.StatusOK, "")
		if r.num("version") != 3 || r.str("text") != freeze {
			t.Fatalf("rollback: %s", r.raw)
		}
		d = authz(t, ts, w.memberTok, send)
		expectDecision(t, d, "deny", "freeze-general")
		if d.num("policy_version") != 3 {
			t.Fatalf("decision under version %v", d.body["policy_version"])
		}

		// A permit of the tenant's own, for a role of its own.
		expect(t, ts.do("PUT", pol, w.adminTok, map[string]any{"text": freeze + `
@id("everyone-reads-announcements")
permit (principal in Role::"member", action == Action::"READ", resource is Channel)
when { resource has roles && resource.roles.contains("announcements") };
`, "previous_version": 3}), http.StatusOK, "")
		putResources(t, ts, w.adminTok, w.tenantA, map[string]any{"type": "channel", "id": "news", "attrs": map[string]any{"roles": []string{"announcements"}}})
		expectDecision(t, authz(t, ts, pw.otherTok, ask("READ", "channel", "news")), "permit", "everyone-reads-announcements")
		expectDecision(t, authz(t, ts, pw.outMemberTok, ask("READ", "channel", "news")), "deny", "default_deny")

		// Validation without storing.
		for _, c := range []struct {
			name  string
			token string
			body  map[string]any
			valid bool
		}{
			{"valid", w.adminTok, map[string]any{"text": freeze}, true},
			{"empty", w.adminTok, map[string]any{"text": ""}, true},
			{"own tenant by default", w.adminTok, map[string]any{"text": `@id("t") permit (principal, action == Action::"VIEW_TENANT", resource == Tenant::"` + w.tenantA + `");`}, true},
			{"the tenant named", w.outBTok, map[string]any{"tenant_id": w.tenantB, "text": `@id("t") permit (principal, action == Action::"VIEW_TENANT", resource == Tenant::"` + w.tenantB + `");`}, true},
			{"a service, a tenant", pw.checker, map[string]any{"tenant_id": w.tenantA, "text": `@id("t") permit (principal, action == Action::"VIEW_TENANT", resource == Tenant::"` + w.tenantB + `");`}, false},
		} {
			t.Run("validate "+c.name, func(t *testing.T) {
				r := ts.do("POST", "/v1/policies/validate", c.token, c.body)
				if c.valid {
					expect(t, r, http.StatusOK, "")
					if r.body["valid"] != true {
						t.Fatalf("validate: %s", r.raw)
					}
					return
				}
				policyErrors(t, r)
			})
		}
		expect(t, ts.do("POST", "/v1/policies/validate", w.adminTok, map[string]any{}), http.StatusBadRequest, "text_required")
		expect(t, ts.do("POST", "/v1/policies/validate", w.adminTok, map[string]any{"text": "", "version": 1}), http.StatusBadRequest, "unknown_field")
		// Checking a text costs CPU: it needs policies:read in the tenant,
		// or a service's authz:check.
		expect(t, ts.do("POST", "/v1/policies/validate", w.memberTok, map[string]any{"text": ""}), http.StatusForbidden, "permission_denied")
		expect(t, ts.do("POST", "/v1/policies/validate", pw.outsider, map[string]any{"tenant_id": w.tenantA, "text": ""}), http.StatusForbidden, "scope_required")
		expect(t, ts.do("POST", "/v1/policies/validate", w.adminTok, map[string]any{"tenant_id": w.tenantB, "text": ""}), http.StatusNotFound, "tenant_not_found")
		expect(t, ts.do("POST", "/v1/policies/validate", "", map[string]any{"text": ""}), http.StatusUnauthorized, "missing_credential")
		if r := ts.do("GET", pol, w.adminTok, nil); r.num("version") != 4 {
			t.Fatalf("validate stored something: %s", r.raw)
		}
	})
}

// TestAuthorizeSeesChanges checks that a change to what a decision depends
// on applies to the next decision: resources, policies, members, roles
// and agents.
func TestAuthorizeSeesChanges(t *testing.T) {
	forEachBackend(t, func(t *testing.T, ts *testServer) {
		pw := newPolicyWorld(t, ts)
		w := pw.world
		send := ask("SEND_MESSAGE", "channel", seedChannel)
		ch := resourcePath(w.tenantA, "channel", seedChannel)

		// Resources.
		expectDecision(t, authz(t, ts, pw.otherTok, send), "deny", "default_deny")
		expect(t, ts.do("PUT", ch, w.adminTok, map[string]any{"attrs": map[string]any{"members": []string{w.member.ActorID(), pw.other}}}), http.StatusOK, "")
		expectDecision(t, authz(t, ts, pw.otherTok, send), "permit", "channel_member")
		expect(t, ts.do("DELETE", ch, w.adminTok, nil), http.StatusNoContent, "")
		expectDecision(t, authz(t, ts, pw.otherTok, send), "deny", "default_deny")
		expectDecision(t, authz(t, ts, w.memberTok, send), "deny", "default_deny")

		// Roles and memberships.
		expect(t, ts.do("PUT", "/v1/tenants/"+w.tenantA+"/roles/support", w.ownerTok, map[string]any{"permissions": []string{"tenant:read"}}), http.StatusOK, "")
		putResources(t, ts, w.adminTok, w.tenantA, map[string]any{"type": "channel", "id": "helpdesk", "attrs": map[string]any{"roles": []string{"support"}}})
		helpdesk := ask("SEND_MESSAGE", "channel", "helpdesk")
		expectDecision(t, authz(t, ts, pw.otherTok, helpdesk), "deny", "default_deny")
		expect(t, ts.do("PATCH", "/v1/tenants/"+w.tenantA+"/members/"+pw.other, w.ownerTok, map[string]any{"roles": []string{"member", "support"}}), http.StatusOK, "")
		expectDecision(t, authz(t, ts, pw.otherTok, helpdesk), "permit", "channel_role")
		// A new member holding the role.
		newcomer := ts.user("newcomer@a.example", false)
		asNewcomer := ask("SEND_MESSAGE", "channel", "helpdesk", "tenant_id", w.tenantA, "principal", newcomer.ActorID())
		expectDecision(t, authz(t, ts, pw.checker, asNewcomer), "deny", "default_deny")
		expect(t, ts.do("POST", "/v1/tenants/"+w.tenantA+"/members", w.ownerTok, map[string]any{"actor_id": newcomer.ActorID(), "roles": []string{"support"}}), http.StatusCreated, "")
		expectDecision(t, authz(t, ts, pw.checker, asNewcomer), "permit", "channel_role")
		expect(t, ts.do("DELETE", "/v1/tenants/"+w.tenantA+"/members/"+newcomer.ActorID(), w.ownerTok, nil), http.StatusNoContent, "")
		expectDecision(t, authz(t, ts, pw.checker, asNewcomer), "deny", "default_deny")

		// A new agent is known to the next decision.
		agent := createAgent(t, ts, pw.otherTok, w.tenantA, "other's agent")
		expectDecision(t, authz(t, ts, w.adminTok, ask("MANAGE_AGENT", "agent", agent)), "permit", "agent_admin")
		expectDecision(t, authz(t, ts, pw.otherTok, ask("MANAGE_AGENT", "agent", agent)), "permit", "agent_owner")

		// A disabled user is denied by the guard.
		expect(t, ts.do("PATCH", "/v1/users/"+w.member.ID, pw.root, map[string]any{"status": "disabled"}), http.StatusOK, "")
		expectDecision(t, authz(t, ts, pw.checker, ask("VIEW_TENANT", "tenant", w.tenantA, "tenant_id", w.tenantA, "principal", w.member.ActorID())), "deny", "actor_disabled")
		expect(t, ts.do("PATCH", "/v1/users/"+w.member.ID, pw.root, map[string]any{"status": "active"}), http.StatusOK, "")
		expectDecision(t, authz(t, ts, pw.checker, ask("VIEW_TENANT", "tenant", w.tenantA, "tenant_id", w.tenantA, "principal", w.member.ActorID())), "permit", "tenant_member")

		// A suspended tenant permits nothing.
		expect(t, ts.do("PATCH", "/v1/tenants/"+w.tenantA, pw.root, map[string]any{"status": "suspended"}), http.StatusOK, "")
		expectDecision(t, authz(t, ts, pw.checker, ask("VIEW_TENANT", "tenant", w.tenantA, "tenant_id", w.tenantA, "principal", w.owner.ActorID())), "deny", "tenant_suspended")
	})
}

// TestPolicyChangesReachReplicas shows a registered resource, a tenant
// policy and a membership change made on one replica reaching the other's
// decisions through the event bus (NATS), without waiting for the snapshot
// to expire.
func TestPolicyChangesReachReplicas(t *testing.T) {
	one, two := natsReplicas(t)
	w := newWorld(t, one)
	send := ask("SEND_MESSAGE", "channel", "replicated")
	// Replica two builds its snapshot first: the channel is unknown there.
	expectDecision(t, authz(t, two, w.memberTok, send), "deny", "default_deny")

	expect(t, one.do("PUT", resourcePath(w.tenantA, "channel", "replicated"), w.adminTok,
		map[string]any{"attrs": map[string]any{"members": []string{w.member.ActorID()}}}), http.StatusOK, "")
	withinPropagation(t, "replica two sees the registered channel", func() bool {
		return authz(t, two, w.memberTok, send).str("decision") == "permit"
	})

	freeze := `@id("frozen") forbid (principal, action == Action::"SEND_MESSAGE", resource == Channel::"replicated");`
	expect(t, one.do("PUT", "/v1/tenants/"+w.tenantA+"/policies", w.adminTok, map[string]any{"text": freeze}), http.StatusOK, "")
	withinPropagation(t, "replica two applies the tenant's policy", func() bool {
		r := authz(t, two, w.memberTok, send)
		return r.str("decision") == "deny" && slices.Equal(r.strs("reasons"), []string{"frozen"})
	})

	// The admin's channel_admin permit on another channel goes when the
	// admin is demoted on replica one.
	manage := ask("MANAGE", "channel", "replicated")
	expectDecision(t, authz(t, two, w.adminTok, manage), "permit", "channel_admin")
	expect(t, one.do("PATCH", "/v1/tenants/"+w.tenantA+"/members/"+w.admin.ActorID(), w.ownerTok,
		map[string]any{"roles": []string{"member"}}), http.StatusOK, "")
	withinPropagation(t, "replica two applies the demotion", func() bool {
		return authz(t, two, w.adminTok, manage).str("decision") == "deny"
	})
}
