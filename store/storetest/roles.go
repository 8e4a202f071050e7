package storetest

import (
	"testing"
	"time"

	"github.com/tollgate/tollgate/store"
)

func roleTests() []test {
	return []test{
		{"PutAndGet", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			newTenant(t, s, "t1", "user:owner")
			// Permissions come back in the order given.
			r := role("t1", "auditor", "usage:read", "audit:read", "apikeys:read")
			must(t, s.PutRole(ctx, r))
			check(t, "GetRole", ok(s.GetRole(ctx, "t1", "auditor"))(t), truncRole(r))
		}},
		{"ReplaceKeepsCreatedAt", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			newTenant(t, s, "t1", "user:owner")
			orig := role("t1", "auditor", "usage:read")
			must(t, s.PutRole(ctx, orig))
			upd := role("t1", "auditor", "audit:read")
			upd.Description = "Reads the audit log"
			upd.CreatedAt = at(time.Hour)
			upd.UpdatedAt = at(2 * time.Hour)
			must(t, s.PutRole(ctx, upd))

			want := truncRole(upd)
			want.CreatedAt = us(orig.CreatedAt)
			check(t, "GetRole", ok(s.GetRole(ctx, "t1", "auditor"))(t), want)
			if l := ok(s.ListRoles(ctx, "t1"))(t); len(l) != 1 {
				t.Errorf("ListRoles has %d roles after a replace, want 1", len(l))
			}
		}},
		{"NoPermissions", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			newTenant(t, s, "t1", "user:owner")
			must(t, s.PutRole(ctx, role("t1", "empty")))
			if got := ok(s.GetRole(ctx, "t1", "empty"))(t); len(got.Permissions) != 0 {
				t.Errorf("permissions = %v, want none", got.Permissions)
			}
		}},
		{"UnknownTenant", func(t *testing.T, s store.Store) {
			wantNotFound(t, s.PutRole(t.Context(), role("nope", "auditor")), "tenant_not_found")
		}},
		{"List", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			newTenant(t, s, "t1", "user:owner")
			newTenant(t, s, "t2", "user:owner")
			names := []string{"Zeta", "alpha", "beta", "zeta"}
			for _, n := range shuffled(names) {
				must(t, s.PutRole(ctx, role("t1", n, "usage:read")))
			}
			must(t, s.PutRole(ctx, role("t2", "other")))
			got := ok(s.ListRoles(ctx, "t1"))(t)
			var gotNames []string
			for _, r := range got {
				gotNames = append(gotNames, r.Name)
			}
			// Bytewise order: upper case sorts before lower case.
			check(t, "names", gotNames, names)
			check(t, "item", got[1], truncRole(role("t1", "alpha", "usage:read")))
			if l := ok(s.ListRoles(ctx, "nope"))(t); len(l) != 0 {
				t.Errorf("ListRoles(unknown tenant) = %v, want none", l)
			}
		}},
		{"NotFound", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			newTenant(t, s, "t1", "user:owner")
			_, err := s.GetRole(ctx, "t1", "nope")
			wantNotFound(t, err, "role_not_found")
			wantNotFound(t, s.DeleteRole(ctx, "t1", "nope"), "role_not_found")
			wantNotFound(t, s.DeleteRole(ctx, "nope", "nope"), "role_not_found")
		}},
		{"Delete", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			newTenant(t, s, "t1", "user:owner")
			must(t, s.PutRole(ctx, role("t1", "auditor")))
			must(t, s.DeleteRole(ctx, "t1", "auditor"))
			_, err := s.GetRole(ctx, "t1", "auditor")
			wantNotFound(t, err, "role_not_found")
			wantNotFound(t, s.DeleteRole(ctx, "t1", "auditor"), "role_not_found")
		}},
		{"InUse", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			newTenant(t, s, "t1", "user:owner")
			must(t, s.PutRole(ctx, role("t1", "auditor")))
			addMember(t, s, "t1", "user:bob", "member", "auditor")
			wantConflict(t, s.DeleteRole(ctx, "t1", "auditor"), "role_in_use")
			ok(s.GetRole(ctx, "t1", "auditor"))(t)

			must(t, s.SetMemberRoles(ctx, "t1", "user:bob", []string{"member"}))
			must(t, s.DeleteRole(ctx, "t1", "auditor"))
		}},
		{"InUseByRemovedMember", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			newTenant(t, s, "t1", "user:owner")
			must(t, s.PutRole(ctx, role("t1", "auditor")))
			addMember(t, s, "t1", "user:bob", "auditor")
			wantConflict(t, s.DeleteRole(ctx, "t1", "auditor"), "role_in_use")
			must(t, s.RemoveMember(ctx, "t1", "user:bob"))
			must(t, s.DeleteRole(ctx, "t1", "auditor"))
		}},
		{"InUseMatchesWholeName", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			newTenant(t, s, "t1", "user:owner")
			must(t, s.PutRole(ctx, role("t1", "audit")))
			addMember(t, s, "t1", "user:bob", "auditor", "Audit", "audit-lead")
			must(t, s.DeleteRole(ctx, "t1", "audit"))
		}},
	}
}
