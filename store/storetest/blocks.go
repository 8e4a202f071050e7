package storetest

import (
	"testing"
	"time"

	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/serviceaccount"
	"github.com/tollgate/tollgate/store"
)

func blockTests() []test {
	return []test{
		{"Empty", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			check(t, "BlockedActors", ok(s.BlockedActors(ctx))(t), []string{})
			check(t, "SuspendedTenants", ok(s.SuspendedTenants(ctx))(t), []string{})
		}},
		{"NothingBlocked", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			must(t, s.CreateUser(ctx, user("u1", "alice@example.com")))
			newTenant(t, s, "t1", "user:u1")
			newAgent(t, s, "t1", "a1", "user:u1")
			newService(t, s, "svc1", "mailer")
			check(t, "BlockedActors", ok(s.BlockedActors(ctx))(t), []string{})
			check(t, "SuspendedTenants", ok(s.SuspendedTenants(ctx))(t), []string{})
		}},
		{"BlockedActors", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			for _, id := range []string{"u1", "u2", "u3"} {
				must(t, s.CreateUser(ctx, user(id, id+"@example.com")))
			}
			newTenant(t, s, "t1", "user:u1")
			newTenant(t, s, "t2", "user:u2")
			newAgent(t, s, "t1", "a1", "user:u1")
			newAgent(t, s, "t2", "a2", "user:u2")
			newService(t, s, "svc1", "mailer")
			newService(t, s, "svc2", "runtime")

			setUser := func(id string, status identity.UserStatus) {
				t.Helper()
				u := ok(s.GetUser(ctx, id))(t)
				u.Status = status
				must(t, s.UpdateUser(ctx, u))
			}
			setAgent := func(tenantID, id string, status identity.AgentStatus) {
				t.Helper()
				a := ok(s.GetAgent(ctx, tenantID, id))(t)
				a.Status = status
				must(t, s.UpdateAgent(ctx, a))
			}
			setService := func(id string, status serviceaccount.Status) {
				t.Helper()
				sv := ok(s.GetService(ctx, id))(t)
				sv.Status = status
				must(t, s.UpdateService(ctx, sv))
			}
			setUser("u3", identity.UserDisabled)
			setUser("u1", identity.UserDisabled)
			setAgent("t2", "a2", identity.AgentDisabled)
			// A service is blocked by name: that is its actor id.
			setService("svc1", serviceaccount.Disabled)
			check(t, "BlockedActors", ok(s.BlockedActors(ctx))(t),
				[]string{"agent:a2", "service:mailer", "user:u1", "user:u3"})

			// Re-enabling unblocks; deleting a disabled agent or service
			// drops it from the list.
			setUser("u1", identity.UserActive)
			setService("svc2", serviceaccount.Disabled)
			ok(s.DeleteAgent(ctx, "t2", "a2", at(time.Hour)))(t)
			ok(s.DeleteService(ctx, "svc1", at(time.Hour)))(t)
			check(t, "BlockedActors", ok(s.BlockedActors(ctx))(t), []string{"service:runtime", "user:u3"})
		}},
		{"SuspendedTenants", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			for _, id := range []string{"t3", "t1", "t2", "t4"} {
				newTenant(t, s, id, "user:alice")
			}
			set := func(id string, status identity.TenantStatus) {
				t.Helper()
				tn := ok(s.GetTenant(ctx, id))(t)
				tn.Status = status
				must(t, s.UpdateTenant(ctx, tn))
			}
			set("t3", identity.TenantSuspended)
			set("t1", identity.TenantSuspended)
			// Anything but active counts, statuses yet to be invented too.
			set("t4", "archived")
			check(t, "SuspendedTenants", ok(s.SuspendedTenants(ctx))(t), []string{"t1", "t3", "t4"})
			set("t1", identity.TenantActive)
			check(t, "SuspendedTenants", ok(s.SuspendedTenants(ctx))(t), []string{"t3", "t4"})
		}},
	}
}
