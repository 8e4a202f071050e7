package storetest

import (
	"testing"
	"time"

	"github.com/tollgate/tollgate/store"
)

func testAgentDeleteRevokesItsKeys(t *testing.T, s store.Store) {
	ctx := t.Context()
	newTenant(t, s, "ta", "user:alice")
	newTenant(t, s, "tb", "user:bob")
	a := newAgent(t, s, "ta", "a1", "user:alice")
	newAgent(t, s, "ta", "a2", "user:alice")
	for _, id := range []string{"k3", "k1", "k2"} {
		newAPIKey(t, s, id, "ta", a.ActorID())
	}
	must(t, s.RevokeAPIKey(ctx, "k2", at(time.Minute)))
	newAPIKey(t, s, "k4", "ta", "agent:a2")
	newAPIKey(t, s, "k5", "ta", "user:alice")
	// The same actor id in another tenant is not this agent.
	newAPIKey(t, s, "k6", "tb", a.ActorID())

	revoked := ok(s.DeleteAgent(ctx, "ta", "a1", at(time.Hour)))(t)
	check(t, "revoked keys", revoked, []string{"k1", "k3"})
	_, err := s.GetAgent(ctx, "ta", "a1")
	wantNotFound(t, err, "agent_not_found")
	check(t, "ListAgents", agentIDs(ok(s.ListAgents(ctx, "ta", "", pageAll))(t)), []string{"a2"})

	wantRevokedAt(t, s, "k1", at(time.Hour))
	wantRevokedAt(t, s, "k3", at(time.Hour))
	// The first revocation's time stays.
	wantRevokedAt(t, s, "k2", at(time.Minute))
	for _, id := range []string{"k4", "k5", "k6"} {
		if k := ok(s.GetAPIKey(ctx, id))(t); k.RevokedAt != nil {
			t.Errorf("%s revoked with agent a1", id)
		}
	}

	_, err = s.DeleteAgent(ctx, "ta", "a1", at(2*time.Hour))
	wantNotFound(t, err, "agent_not_found")
	// The name is free again.
	again := agent("ta", "a9", "user:alice")
	again.Name = a.Name
	must(t, s.CreateAgent(ctx, again))
}

func testAgentDeleteWithoutKeysRevokesNone(t *testing.T, s store.Store) {
	newTenant(t, s, "t1", "user:alice")
	newAgent(t, s, "t1", "a1", "user:alice")
	check(t, "revoked keys", ok(s.DeleteAgent(t.Context(), "t1", "a1", at(time.Hour)))(t), []string{})
}
