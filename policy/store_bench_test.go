package policy_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/ids"
	"github.com/tollgate/tollgate/policy"
	"github.com/tollgate/tollgate/store"
	"github.com/tollgate/tollgate/store/postgres/pgtest"
	"github.com/tollgate/tollgate/store/sqlite/sqlitetest"
)

// BenchmarkSnapshotFromStore measures what a replica does after a change
// in a tenant of 10,000 or 100,000 members, reading from the store:
// "whole" reads the tenant whole (members in pages, agents, roles,
// resources, policies) and builds the snapshot — the first decision, or
// the TTL's re-read; "member" changes one member's roles in the store and
// applies that change alone, until it is served. PostgreSQL runs when
// TOLLGATE_TEST_POSTGRES_URL is set. Filling 100,000 members takes a
// minute or two: run it by name.
func BenchmarkSnapshotFromStore(b *testing.B) {
	for _, be := range []struct {
		name string
		open func(testing.TB) store.Store
	}{
		{"sqlite", func(t testing.TB) store.Store { return sqlitetest.Open(t) }},
		{"postgres", func(t testing.TB) store.Store { return pgtest.Open(t) }},
	} {
		for _, members := range []int{10_000, 100_000} {
			b.Run(fmt.Sprintf("%s/members=%d", be.name, members), func(b *testing.B) {
				st := be.open(b)
				ctx := context.Background()
				tenant, owner, users := fillTenant(b, st, members)
				c, err := policy.NewCompiler()
				if err != nil {
					b.Fatal(err)
				}
				e := policy.NewEngine(policy.EngineDeps{Source: policy.StoreSource{Identity: st, Policies: st}, Compiler: c}, policy.EngineOptions{})
				req := policy.Request{Principal: owner, Action: "VIEW_TENANT", Resource: policy.ResourceRef{Type: "tenant", ID: tenant}}
				if d := e.Authorize(ctx, tenant, req); !d.Permitted() {
					b.Fatal(d)
				}
				b.Run("whole", func(b *testing.B) {
					b.ReportAllocs()
					for range b.N {
						e.Apply(ctx, policy.Change{TenantID: tenant, Part: policy.PartAll})
					}
				})
				b.Run("member", func(b *testing.B) {
					b.ReportAllocs()
					for i := range b.N {
						actor := users[i%len(users)]
						roles := []string{[]string{"admin", "member"}[i%2]}
						if err := st.SetMemberRoles(ctx, tenant, actor, roles); err != nil {
							b.Fatal(err)
						}
						e.Apply(ctx, policy.Change{TenantID: tenant, Part: policy.PartActor, Key: actor})
					}
				})
			})
		}
	}
}

// fillTenant makes a tenant with an owner and members more users; it
// returns the tenant's id, the owner's and the members' actor ids.
func fillTenant(b *testing.B, st store.Store, members int) (string, string, []string) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Microsecond)
	owner := identity.User{ID: ids.New(), Email: "owner@example.com", Status: identity.UserActive, CreatedAt: now, UpdatedAt: now}
	if err := st.CreateUser(ctx, owner); err != nil {
		b.Fatal(err)
	}
	tenant := identity.Tenant{ID: ids.New(), Slug: "big", Name: "Big", Status: identity.TenantActive, CreatedAt: now, UpdatedAt: now}
	if err := st.CreateTenant(ctx, tenant, identity.Membership{TenantID: tenant.ID, ActorID: owner.ActorID(), Roles: []string{"owner"}, CreatedAt: now, UpdatedAt: now}); err != nil {
		b.Fatal(err)
	}
	users := make([]string, members)
	for i := range members {
		u := identity.User{ID: ids.New(), Email: fmt.Sprintf("u%d@example.com", i), Status: identity.UserActive, CreatedAt: now, UpdatedAt: now}
		if err := st.CreateUser(ctx, u); err != nil {
			b.Fatal(err)
		}
		if err := st.AddMember(ctx, identity.Membership{TenantID: tenant.ID, ActorID: u.ActorID(), Roles: []string{"member"}, CreatedAt: now, UpdatedAt: now}); err != nil {
			b.Fatal(err)
		}
		users[i] = u.ActorID()
	}
	return tenant.ID, owner.ActorID(), users
}
