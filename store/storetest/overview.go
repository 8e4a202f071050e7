package storetest

import (
	"testing"
	"time"

	"github.com/tollgate/tollgate/apikey"
	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/overview"
	"github.com/tollgate/tollgate/store"
)

func overviewTests() []test {
	return []test{
		{"TenantCounts", testTenantCounts},
		{"TenantCountsOfAnEmptyTenant", testTenantCountsOfAnEmptyTenant},
	}
}

func testTenantCounts(t *testing.T, s store.Store) {
	ctx := t.Context()
	newTenant(t, s, "t1", "user:alice")
	newTenant(t, s, "t2", "user:bob")
	addMember(t, s, "t1", "user:bob", identity.RoleAdmin, identity.RoleMember)
	addMember(t, s, "t1", "user:carol", identity.RoleMember)
	addMember(t, s, "t2", "user:carol", identity.RoleMember)
	// Sessions: live, revoked, expired at the count, and another tenant's.
	for _, c := range []struct {
		id, tenant string
		expires    time.Duration
	}{{"s1", "t1", 2 * time.Hour}, {"s2", "t1", 2 * time.Hour}, {"s3", "t1", time.Hour}, {"s4", "t2", 2 * time.Hour}} {
		ss := sess(c.id, "user:alice")
		ss.TenantID, ss.ExpiresAt = c.tenant, at(c.expires)
		must(t, s.CreateSession(ctx, ss, hash(c.id+"-0")))
	}
	must(t, s.RevokeSession(ctx, "s2", "logout", at(time.Minute)))
	// Keys: live, revoked, expired, never expiring, another tenant's.
	past, future := at(time.Minute), at(48*time.Hour)
	for _, k := range []apikey.Key{
		{ID: "k1", TenantID: "t1", ExpiresAt: &future},
		{ID: "k2", TenantID: "t1"},
		{ID: "k3", TenantID: "t1", ExpiresAt: &past},
		{ID: "k4", TenantID: "t1"},
		{ID: "k5", TenantID: "t2"},
	} {
		k.ActorID, k.CreatedBy, k.Name, k.Scopes, k.Hash, k.CreatedAt = "user:alice", "user:alice", k.ID, []string{}, hash(k.ID), at(0)
		must(t, s.CreateAPIKey(ctx, k))
	}
	must(t, s.RevokeAPIKey(ctx, "k4", at(time.Minute)))
	newAgent(t, s, "t1", "a1", "user:alice")
	newAgent(t, s, "t2", "a2", "user:bob")

	got := ok(s.TenantCounts(ctx, "t1", at(time.Hour)))(t)
	check(t, "t1", got, overview.Counts{
		Members:        3,
		MembersByRole:  map[string]int{identity.RoleOwner: 1, identity.RoleAdmin: 1, identity.RoleMember: 2},
		ActiveSessions: 1, APIKeys: 2, Agents: 1,
	})
}

func testTenantCountsOfAnEmptyTenant(t *testing.T, s store.Store) {
	newTenant(t, s, "t1", "user:alice")
	check(t, "unknown tenant", ok(s.TenantCounts(t.Context(), "nope", at(0)))(t), overview.Counts{MembersByRole: map[string]int{}})
}
