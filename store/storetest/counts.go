package storetest

import (
	"testing"
	"time"

	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/store"
)

// countTests cover the counts the configured limits are checked against.
func countTests() []test {
	return []test{
		{"TenantsOfCountsOwnedOnly", testCountTenantsOfCountsOwnedOnly},
		{"AgentsPerTenant", testCountAgentsPerTenant},
		{"LiveAPIKeysSkipRevokedAndExpired", testCountLiveAPIKeysSkipRevokedAndExpired},
		{"ResourcesPerTenant", testCountResourcesPerTenant},
	}
}

func testCountTenantsOfCountsOwnedOnly(t *testing.T, s store.Store) {
	ctx := t.Context()
	check(t, "CountTenantsOf(nobody)", ok(s.CountTenantsOf(ctx, "user:alice"))(t), 0)
	newTenant(t, s, "t1", "user:alice")
	newTenant(t, s, "t2", "user:alice")
	newTenant(t, s, "t3", "user:bob")
	// A member who is not an owner does not count; a co-owner does.
	addMember(t, s, "t3", "user:alice", identity.RoleAdmin)
	newTenant(t, s, "t4", "user:carol")
	addMember(t, s, "t4", "user:alice", identity.RoleAdmin, identity.RoleOwner)
	check(t, "CountTenantsOf(alice)", ok(s.CountTenantsOf(ctx, "user:alice"))(t), 3)
	check(t, "CountTenantsOf(bob)", ok(s.CountTenantsOf(ctx, "user:bob"))(t), 1)
}

func testCountAgentsPerTenant(t *testing.T, s store.Store) {
	ctx := t.Context()
	newTenant(t, s, "t1", "user:alice")
	newTenant(t, s, "t2", "user:alice")
	check(t, "CountAgents(empty)", ok(s.CountAgents(ctx, "t1"))(t), 0)
	newAgent(t, s, "t1", "a1", "user:alice")
	newAgent(t, s, "t1", "a2", "user:bob")
	newAgent(t, s, "t2", "a3", "user:alice")
	check(t, "CountAgents(t1)", ok(s.CountAgents(ctx, "t1"))(t), 2)
	check(t, "CountAgents(t2)", ok(s.CountAgents(ctx, "t2"))(t), 1)
}

func testCountLiveAPIKeysSkipRevokedAndExpired(t *testing.T, s store.Store) {
	ctx := t.Context()
	newTenant(t, s, "t1", "user:alice")
	newTenant(t, s, "t2", "user:alice")
	now := at(time.Hour)
	newAPIKey(t, s, "k1", "t1", "user:alice")
	later := apiKey("k2", "t1", "user:alice")
	later.ExpiresAt = ptr(at(2 * time.Hour))
	must(t, s.CreateAPIKey(ctx, later))
	expired := apiKey("k3", "t1", "user:alice")
	expired.ExpiresAt = ptr(now)
	must(t, s.CreateAPIKey(ctx, expired))
	newAPIKey(t, s, "k4", "t1", "user:alice")
	must(t, s.RevokeAPIKey(ctx, "k4", at(30*time.Minute)))
	newAPIKey(t, s, "k5", "t1", "user:bob")
	newAPIKey(t, s, "k6", "t2", "user:alice")
	check(t, "CountLiveAPIKeys(t1, alice)", ok(s.CountLiveAPIKeys(ctx, "t1", "user:alice", now))(t), 2)
	check(t, "CountLiveAPIKeys(t1, bob)", ok(s.CountLiveAPIKeys(ctx, "t1", "user:bob", now))(t), 1)
	check(t, "CountLiveAPIKeys(t2, alice)", ok(s.CountLiveAPIKeys(ctx, "t2", "user:alice", now))(t), 1)
	check(t, "CountLiveAPIKeys(t1, alice) after k2 expired",
		ok(s.CountLiveAPIKeys(ctx, "t1", "user:alice", at(3*time.Hour)))(t), 1)
}

func testCountResourcesPerTenant(t *testing.T, s store.Store) {
	ctx := t.Context()
	newTenant(t, s, "t1", "user:alice")
	newTenant(t, s, "t2", "user:alice")
	check(t, "CountResources(empty)", ok(s.CountResources(ctx, "t1"))(t), 0)
	putResources(t, s, "t1", resource("doc", "d1", nil), resource("doc", "d2", nil), resource("folder", "f1", nil))
	putResources(t, s, "t2", resource("doc", "d1", nil))
	// Replacing a resource adds none.
	putResources(t, s, "t1", resource("doc", "d1", map[string]any{"v": "2"}))
	check(t, "CountResources(t1)", ok(s.CountResources(ctx, "t1"))(t), 3)
	check(t, "CountResources(t2)", ok(s.CountResources(ctx, "t2"))(t), 1)
}
