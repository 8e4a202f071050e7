package storetest

import (
	"testing"
	"time"

	"github.com/tollgate/tollgate/apikey"
	"github.com/tollgate/tollgate/cursor"
	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/store"
)

func agent(tenantID, id, owner string) identity.Agent {
	return identity.Agent{
		ID: id, TenantID: tenantID, OwnerID: owner, Name: "agent-" + id, Description: "Agent " + id,
		Status: identity.AgentActive, CreatedAt: at(10 * time.Second), UpdatedAt: at(11 * time.Second),
	}
}

func truncAgent(a identity.Agent) identity.Agent {
	a.CreatedAt, a.UpdatedAt = us(a.CreatedAt), us(a.UpdatedAt)
	return a
}

// newAgent creates agent id of tenantID, owned by owner.
func newAgent(t *testing.T, s store.Store, tenantID, id, owner string) identity.Agent {
	t.Helper()
	a := agent(tenantID, id, owner)
	must(t, s.CreateAgent(t.Context(), a))
	return a
}

func agentIDs(l []identity.Agent) []string {
	out := []string{}
	for _, a := range l {
		out = append(out, a.ID)
	}
	return out
}

func agentTests() []test {
	return []test{
		{"CreateAndGet", testAgentCreateAndGet},
		{"NameTakenInTenant", testAgentNameTakenInTenant},
		{"DuplicateIDConflicts", testAgentDuplicateIDConflicts},
		{"CreateUnknownTenantNotFound", testAgentCreateUnknownTenantNotFound},
		{"UnknownIDNotFound", testAgentUnknownIDNotFound},
		{"UpdateKeepsOwner", testAgentUpdateKeepsOwner},
		{"ListPagesByOwner", testAgentListPagesByOwner},
		{"TenantIsolation", testAgentTenantIsolation},
		{"DeleteRevokesItsKeys", testAgentDeleteRevokesItsKeys},
		{"DeleteWithoutKeysRevokesNone", testAgentDeleteWithoutKeysRevokesNone},
		{"StringsRoundTrip", testAgentStringsRoundTrip},
	}
}

func testAgentCreateAndGet(t *testing.T, s store.Store) {
	ctx := t.Context()
	newTenant(t, s, "t1", "user:alice")
	a := agent("t1", "a1", "user:alice")
	must(t, s.CreateAgent(ctx, a))
	check(t, "GetAgent", ok(s.GetAgent(ctx, "t1", "a1"))(t), truncAgent(a))

	// Empty strings and a disabled status are values like any other.
	b := agent("t1", "a2", "user:alice")
	b.Description, b.Status = "", identity.AgentDisabled
	must(t, s.CreateAgent(ctx, b))
	check(t, "GetAgent", ok(s.GetAgent(ctx, "t1", "a2"))(t), truncAgent(b))
}

func testAgentNameTakenInTenant(t *testing.T, s store.Store) {
	ctx := t.Context()
	newTenant(t, s, "t1", "user:alice")
	newTenant(t, s, "t2", "user:bob")
	a := newAgent(t, s, "t1", "a1", "user:alice")
	clash := agent("t1", "a2", "user:bob")
	clash.Name = a.Name
	wantConflict(t, s.CreateAgent(ctx, clash), "agent_name_taken")
	_, err := s.GetAgent(ctx, "t1", "a2")
	wantNotFound(t, err, "agent_not_found")

	// Names are unique per tenant only.
	other := agent("t2", "a2", "user:bob")
	other.Name = a.Name
	must(t, s.CreateAgent(ctx, other))
}

func testAgentDuplicateIDConflicts(t *testing.T, s store.Store) {
	ctx := t.Context()
	newTenant(t, s, "t1", "user:alice")
	newTenant(t, s, "t2", "user:bob")
	a := newAgent(t, s, "t1", "a1", "user:alice")
	// Ids are global: the same id in another tenant is refused too.
	dup := agent("t2", "a1", "user:bob")
	dup.Name = "other"
	if err := s.CreateAgent(ctx, dup); fault.KindOf(err) != fault.Conflict {
		t.Fatalf("err = %v, want a conflict", err)
	}
	check(t, "GetAgent", ok(s.GetAgent(ctx, "t1", "a1"))(t), truncAgent(a))
}

func testAgentCreateUnknownTenantNotFound(t *testing.T, s store.Store) {
	wantNotFound(t, s.CreateAgent(t.Context(), agent("nope", "a1", "user:alice")), "tenant_not_found")
}

func testAgentUnknownIDNotFound(t *testing.T, s store.Store) {
	ctx := t.Context()
	newTenant(t, s, "t1", "user:alice")
	_, err := s.GetAgent(ctx, "t1", "nope")
	wantNotFound(t, err, "agent_not_found")
	wantNotFound(t, s.UpdateAgent(ctx, agent("t1", "nope", "user:alice")), "agent_not_found")
	_, err = s.DeleteAgent(ctx, "t1", "nope", at(time.Hour))
	wantNotFound(t, err, "agent_not_found")
}

func testAgentUpdateKeepsOwner(t *testing.T, s store.Store) {
	ctx := t.Context()
	newTenant(t, s, "t1", "user:alice")
	orig := newAgent(t, s, "t1", "a1", "user:alice")
	newAgent(t, s, "t1", "a2", "user:alice")
	upd := orig
	upd.Name, upd.Description, upd.Status = "renamed", "", identity.AgentDisabled
	upd.UpdatedAt = at(time.Hour)
	// Owner and created_at are not written.
	upd.OwnerID, upd.CreatedAt = "user:mallory", at(-time.Hour)
	must(t, s.UpdateAgent(ctx, upd))

	want := truncAgent(orig)
	want.Name, want.Description, want.Status, want.UpdatedAt = "renamed", "", identity.AgentDisabled, us(upd.UpdatedAt)
	check(t, "GetAgent", ok(s.GetAgent(ctx, "t1", "a1"))(t), want)

	// Keeping its own name is no clash; taking another's is.
	must(t, s.UpdateAgent(ctx, upd))
	upd.Name = "agent-a2"
	wantConflict(t, s.UpdateAgent(ctx, upd), "agent_name_taken")
	check(t, "GetAgent after refused rename", ok(s.GetAgent(ctx, "t1", "a1"))(t), want)
}

func testAgentListPagesByOwner(t *testing.T, s store.Store) {
	ctx := t.Context()
	newTenant(t, s, "t1", "user:alice")
	newTenant(t, s, "t2", "user:bob")
	all := ids("a", 7)
	owners := map[string]string{}
	for i, id := range shuffled(all) {
		owners[id] = []string{"user:alice", "user:bob"}[i%2]
		newAgent(t, s, "t1", id, owners[id])
	}
	newAgent(t, s, "t2", "a-03b", "user:alice")
	var alices []string
	for _, id := range all {
		if owners[id] == "user:alice" {
			alices = append(alices, id)
		}
	}

	for _, tc := range []struct {
		owner string
		want  []string
	}{{"", all}, {"user:alice", alices}} {
		var got []string
		after := ""
		for range 10 {
			page := ok(s.ListAgents(ctx, "t1", tc.owner, cursor.Page{After: after, Limit: 2}))(t)
			if len(page) > 2 {
				t.Fatalf("page of %d items, limit 2", len(page))
			}
			if len(page) == 0 {
				break
			}
			got = append(got, agentIDs(page)...)
			after = page[len(page)-1].ID
		}
		check(t, "paged ids of owner "+tc.owner, got, tc.want)
	}
	page := ok(s.ListAgents(ctx, "t1", "", cursor.Page{After: "a-02", Limit: 1}))(t)
	check(t, "after a-02", page, []identity.Agent{truncAgent(agent("t1", "a-03", owners["a-03"]))})
	check(t, "zero limit", agentIDs(ok(s.ListAgents(ctx, "t1", "", cursor.Page{}))(t)), all)
	check(t, "unknown owner", agentIDs(ok(s.ListAgents(ctx, "t1", "user:nobody", pageAll))(t)), []string{})
	check(t, "unknown tenant", agentIDs(ok(s.ListAgents(ctx, "nope", "", pageAll))(t)), []string{})
}

func testAgentTenantIsolation(t *testing.T, s store.Store) {
	ctx := t.Context()
	newTenant(t, s, "ta", "user:alice")
	newTenant(t, s, "tb", "user:bob")
	a := newAgent(t, s, "ta", "a1", "user:alice")
	newAPIKey(t, s, "k1", "ta", a.ActorID())

	_, err := s.GetAgent(ctx, "tb", "a1")
	wantNotFound(t, err, "agent_not_found")
	check(t, "ListAgents(tb)", agentIDs(ok(s.ListAgents(ctx, "tb", "", pageAll))(t)), []string{})
	check(t, "ListAgents(tb, alice)", agentIDs(ok(s.ListAgents(ctx, "tb", "user:alice", pageAll))(t)), []string{})
	upd := a
	upd.TenantID, upd.Name, upd.Status = "tb", "hijacked", identity.AgentDisabled
	wantNotFound(t, s.UpdateAgent(ctx, upd), "agent_not_found")
	_, err = s.DeleteAgent(ctx, "tb", "a1", at(time.Hour))
	wantNotFound(t, err, "agent_not_found")

	// Nothing of ta changed, and the refused delete revoked nothing.
	check(t, "GetAgent(ta)", ok(s.GetAgent(ctx, "ta", "a1"))(t), truncAgent(a))
	if k := ok(s.GetAPIKey(ctx, "k1"))(t); k.RevokedAt != nil {
		t.Errorf("key revoked by a refused cross-tenant delete")
	}
}

func testAgentStringsRoundTrip(t *testing.T, s store.Store) {
	ctx := t.Context()
	newTenant(t, s, "t1", "user:alice")
	for i, v := range nasty {
		id := ids("a", len(nasty))[i]
		a := agent("t1", id, v)
		a.Name, a.Description = v, v
		must(t, s.CreateAgent(ctx, a))
		check(t, "agent", ok(s.GetAgent(ctx, "t1", id))(t), truncAgent(a))
		check(t, "by owner", agentIDs(ok(s.ListAgents(ctx, "t1", v, pageAll))(t)), []string{id})

		k := apiKey(ids("k", len(nasty))[i], "t1", v)
		k.Name, k.CreatedBy, k.Scopes = v, v, []string{v, "usage:read"}
		must(t, s.CreateAPIKey(ctx, k))
		check(t, "key", ok(s.GetAPIKey(ctx, k.ID))(t), truncAPIKey(k))
		check(t, "keys by actor", ok(s.ListAPIKeys(ctx, apikey.Filter{TenantID: "t1", ActorIDs: []string{v}}, pageAll))(t),
			[]apikey.Key{truncAPIKey(k)})
	}
}
