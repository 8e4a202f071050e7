package storetest

import (
	"testing"

	"github.com/tollgate/tollgate/store"
)

// isolationTests check that every tenant-scoped call keys on the tenant id:
// naming another tenant never reaches this tenant's rows.
func isolationTests() []test {
	return []test{
		{"Members", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			newTenant(t, s, "ta", "user:alice")
			newTenant(t, s, "tb", "user:bob")
			m := addMember(t, s, "ta", "user:carol", "admin")

			_, err := s.GetMember(ctx, "tb", "user:carol")
			wantNotFound(t, err, "member_not_found")
			wantNotFound(t, s.SetMemberRoles(ctx, "tb", "user:carol", []string{"member"}), "member_not_found")
			wantNotFound(t, s.RemoveMember(ctx, "tb", "user:carol"), "member_not_found")
			// Not even the last-owner check leaks: alice owns ta, not tb.
			wantNotFound(t, s.SetMemberRoles(ctx, "tb", "user:alice", nil), "member_not_found")
			wantNotFound(t, s.RemoveMember(ctx, "tb", "user:alice"), "member_not_found")

			check(t, "carol in ta", ok(s.GetMember(ctx, "ta", "user:carol"))(t), truncMember(m))
			check(t, "alice in ta", ok(s.GetMember(ctx, "ta", "user:alice"))(t).Roles, []string{owner})
			var actors []string
			for _, m := range ok(s.ListMembers(ctx, "tb", pageAll))(t) {
				actors = append(actors, m.ActorID)
			}
			check(t, "tb members", actors, []string{"user:bob"})
		}},
		{"Roles", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			newTenant(t, s, "ta", "user:alice")
			newTenant(t, s, "tb", "user:bob")
			r := role("ta", "auditor", "audit:read")
			must(t, s.PutRole(ctx, r))

			_, err := s.GetRole(ctx, "tb", "auditor")
			wantNotFound(t, err, "role_not_found")
			wantNotFound(t, s.DeleteRole(ctx, "tb", "auditor"), "role_not_found")
			if l := ok(s.ListRoles(ctx, "tb"))(t); len(l) != 0 {
				t.Errorf("ListRoles(tb) = %v, want none", l)
			}
			check(t, "ta role", ok(s.GetRole(ctx, "ta", "auditor"))(t), truncRole(r))

			// Same name in both tenants: two roles, and writing one leaves the
			// other alone.
			must(t, s.PutRole(ctx, role("tb", "auditor", "usage:read")))
			check(t, "ta role", ok(s.GetRole(ctx, "ta", "auditor"))(t), truncRole(r))
			must(t, s.DeleteRole(ctx, "tb", "auditor"))
			check(t, "ta role", ok(s.GetRole(ctx, "ta", "auditor"))(t), truncRole(r))
		}},
		{"RoleInUseElsewhere", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			newTenant(t, s, "ta", "user:alice")
			newTenant(t, s, "tb", "user:bob")
			must(t, s.PutRole(ctx, role("ta", "auditor")))
			must(t, s.PutRole(ctx, role("tb", "auditor")))
			addMember(t, s, "tb", "user:carol", "auditor")
			must(t, s.DeleteRole(ctx, "ta", "auditor"))
			wantConflict(t, s.DeleteRole(ctx, "tb", "auditor"), "role_in_use")
		}},
		{"Tenants", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			newTenant(t, s, "ta", "user:alice")
			newTenant(t, s, "tb", "user:bob")
			upd := tenant("ta", "slug-ta")
			upd.Name = "Renamed"
			must(t, s.UpdateTenant(ctx, upd))
			if got := ok(s.GetTenant(ctx, "tb"))(t); got.Name != "Tenant tb" {
				t.Errorf("tb renamed to %q by an update of ta", got.Name)
			}
			var of []string
			for _, tm := range ok(s.ListTenantsOf(ctx, "user:alice", pageAll))(t) {
				of = append(of, tm.Tenant.ID)
			}
			check(t, "alice's tenants", of, []string{"ta"})
		}},
	}
}
