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

// BenchmarkSnapshotFromStore measures what a replica does after a
// membership change in a tenant of 10,000 members: read the tenant's data
// from the store (members in pages of 200, agents, roles, resources,
// policies) and build the snapshot. PostgreSQL runs when
// TOLLGATE_TEST_POSTGRES_URL is set.
func BenchmarkSnapshotFromStore(b *testing.B) {
	for _, be := range []struct {
		name string
		open func(testing.TB) store.Store
	}{
		{"sqlite", func(t testing.TB) store.Store { return sqlitetest.Open(t) }},
		{"postgres", func(t testing.TB) store.Store { return pgtest.Open(t) }},
	} {
		b.Run(be.name, func(b *testing.B) {
			st := be.open(b)
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
			for i := range 10_000 {
				u := identity.User{ID: ids.New(), Email: fmt.Sprintf("u%d@example.com", i), Status: identity.UserActive, CreatedAt: now, UpdatedAt: now}
				if err := st.CreateUser(ctx, u); err != nil {
					b.Fatal(err)
				}
				if err := st.AddMember(ctx, identity.Membership{TenantID: tenant.ID, ActorID: u.ActorID(), Roles: []string{"member"}, CreatedAt: now, UpdatedAt: now}); err != nil {
					b.Fatal(err)
				}
			}
			c, err := policy.NewCompiler()
			if err != nil {
				b.Fatal(err)
			}
			e := policy.NewEngine(policy.EngineDeps{Source: policy.StoreSource{Identity: st, Policies: st}, Compiler: c}, policy.EngineOptions{})
			req := policy.Request{Principal: owner.ActorID(), Action: "VIEW_TENANT", Resource: policy.ResourceRef{Type: "tenant", ID: tenant.ID}}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				e.Apply(ctx, policy.Change{TenantID: tenant.ID, Part: policy.PartAll})
				if d := e.Authorize(ctx, tenant.ID, req); !d.Permitted() {
					b.Fatal(d)
				}
			}
		})
	}
}
