package storetest

import (
	"slices"
	"testing"

	"github.com/tollgate/tollgate/cursor"
	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/store"
)

func memberTests() []test {
	return []test{
		{"AddAndGet", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			newTenant(t, s, "t1", "user:owner")
			m := addMember(t, s, "t1", "user:bob", "member", "auditor")
			check(t, "GetMember", ok(s.GetMember(ctx, "t1", "user:bob"))(t), truncMember(m))
		}},
		{"Exists", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			newTenant(t, s, "t1", "user:owner")
			addMember(t, s, "t1", "user:bob", "member")
			wantConflict(t, s.AddMember(ctx, membership("t1", "user:bob", "admin")), "member_exists")
			wantConflict(t, s.AddMember(ctx, membership("t1", "user:owner", "member")), "member_exists")
			if got := ok(s.GetMember(ctx, "t1", "user:bob"))(t); !slices.Equal(got.Roles, []string{"member"}) {
				t.Errorf("roles = %v after refused add, want [member]", got.Roles)
			}
		}},
		{"AddToUnknownTenant", func(t *testing.T, s store.Store) {
			wantNotFound(t, s.AddMember(t.Context(), membership("nope", "user:bob", "member")), "tenant_not_found")
		}},
		{"NoRoles", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			newTenant(t, s, "t1", "user:owner")
			addMember(t, s, "t1", "user:bob")
			if got := ok(s.GetMember(ctx, "t1", "user:bob"))(t); len(got.Roles) != 0 {
				t.Errorf("roles = %v, want none", got.Roles)
			}
		}},
		{"NotFound", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			newTenant(t, s, "t1", "user:owner")
			_, err := s.GetMember(ctx, "t1", "user:nobody")
			wantNotFound(t, err, "member_not_found")
			_, err = s.GetMember(ctx, "nope", "user:owner")
			wantNotFound(t, err, "member_not_found")
			wantNotFound(t, s.SetMemberRoles(ctx, "t1", "user:nobody", []string{"member"}), "member_not_found")
			wantNotFound(t, s.SetMemberRoles(ctx, "nope", "user:owner", []string{"member"}), "member_not_found")
			wantNotFound(t, s.RemoveMember(ctx, "t1", "user:nobody"), "member_not_found")
			wantNotFound(t, s.RemoveMember(ctx, "nope", "user:owner"), "member_not_found")
		}},
		{"Standing", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			for _, u := range []identity.User{user("owner", "owner@example.com"), user("bob", "bob@example.com")} {
				if err := s.CreateUser(ctx, u); err != nil {
					t.Fatal(err)
				}
			}
			newTenant(t, s, "t1", "user:owner")
			newTenant(t, s, "t2", "user:bob")
			addMember(t, s, "t1", "user:bob", "member", "auditor")
			addMember(t, s, "t1", "user:ghost")
			bob := ok(s.GetUser(ctx, "bob"))(t)
			bob.Status = identity.UserDisabled
			if err := s.UpdateUser(ctx, bob); err != nil {
				t.Fatal(err)
			}
			t2 := ok(s.GetTenant(ctx, "t2"))(t)
			t2.Status = identity.TenantSuspended
			if err := s.UpdateTenant(ctx, t2); err != nil {
				t.Fatal(err)
			}
			for _, c := range []struct {
				tenant, user string
				want         identity.Standing
			}{
				{"t1", "owner", identity.Standing{TenantStatus: identity.TenantActive, Member: true, Roles: []string{"owner"}, UserStatus: identity.UserActive}},
				{"t1", "bob", identity.Standing{TenantStatus: identity.TenantActive, Member: true, Roles: []string{"member", "auditor"}, UserStatus: identity.UserDisabled}},
				{"t1", "ghost", identity.Standing{TenantStatus: identity.TenantActive, Member: true, Roles: []string{}}},
				{"t1", "nobody", identity.Standing{TenantStatus: identity.TenantActive, Roles: []string{}}},
				{"t2", "owner", identity.Standing{TenantStatus: identity.TenantSuspended, Roles: []string{}, UserStatus: identity.UserActive}},
				{"t2", "bob", identity.Standing{TenantStatus: identity.TenantSuspended, Member: true, Roles: []string{"owner"}, UserStatus: identity.UserDisabled}},
			} {
				check(t, "GetStanding("+c.tenant+", "+c.user+")", ok(s.GetStanding(ctx, c.tenant, c.user))(t), c.want)
			}
			_, err := s.GetStanding(ctx, "nope", "owner")
			wantNotFound(t, err, "tenant_not_found")
		}},
		{"ListPages", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			newTenant(t, s, "t1", "user:a-owner")
			newTenant(t, s, "t2", "user:z-owner")
			actors := ids("user:m", 5)
			for _, a := range shuffled(actors) {
				addMember(t, s, "t1", a, "member")
			}
			addMember(t, s, "t2", "user:m-02b", "member")
			want := append([]string{"user:a-owner"}, actors...)

			var got []string
			after := ""
			for range 10 {
				page := ok(s.ListMembers(ctx, "t1", cursor.Page{After: after, Limit: 4}))(t)
				if len(page) == 0 {
					break
				}
				for _, m := range page {
					if m.TenantID != "t1" {
						t.Fatalf("ListMembers(t1) returned a member of %s", m.TenantID)
					}
					got = append(got, m.ActorID)
				}
				after = page[len(page)-1].ActorID
			}
			check(t, "paged actor ids", got, want)

			page := ok(s.ListMembers(ctx, "t1", cursor.Page{After: "user:m-01", Limit: 1}))(t)
			check(t, "after m-01", page, []identity.Membership{truncMember(membership("t1", "user:m-02", "member"))})
			if l := ok(s.ListMembers(ctx, "nope", pageAll))(t); len(l) != 0 {
				t.Errorf("ListMembers(unknown tenant) = %v, want none", l)
			}
		}},
		{"AllMembers", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			newTenant(t, s, "t1", "user:a-owner")
			newTenant(t, s, "t2", "user:z-owner")
			actors := ids("user:m", 450)
			for _, a := range actors {
				addMember(t, s, "t1", a, "member")
			}
			addMember(t, s, "t2", "user:m-02b", "member")
			var got []string
			for _, m := range ok(s.AllMembers(ctx, "t1"))(t) {
				if m.TenantID != "t1" || !slices.Equal(m.Roles, []string{"member"}) && m.ActorID != "user:a-owner" {
					t.Fatalf("AllMembers(t1) returned %+v", m)
				}
				got = append(got, m.ActorID)
			}
			want := append([]string{"user:a-owner"}, actors...)
			slices.Sort(got)
			slices.Sort(want)
			check(t, "every member, past one page", got, want)
			if l := ok(s.AllMembers(ctx, "nope"))(t); len(l) != 0 {
				t.Errorf("AllMembers(unknown tenant) = %v, want none", l)
			}
		}},
		{"SetRoles", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			newTenant(t, s, "t1", "user:owner")
			orig := addMember(t, s, "t1", "user:bob", "member")
			must(t, s.SetMemberRoles(ctx, "t1", "user:bob", []string{"admin", "billing"}))
			got := ok(s.GetMember(ctx, "t1", "user:bob"))(t)
			check(t, "roles", got.Roles, []string{"admin", "billing"})
			check(t, "created_at", got.CreatedAt, us(orig.CreatedAt))
			must(t, s.SetMemberRoles(ctx, "t1", "user:bob", nil))
			if got := ok(s.GetMember(ctx, "t1", "user:bob"))(t); len(got.Roles) != 0 {
				t.Errorf("roles = %v after clearing, want none", got.Roles)
			}
		}},
		{"Remove", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			newTenant(t, s, "t1", "user:owner")
			newTenant(t, s, "t2", "user:owner")
			addMember(t, s, "t1", "user:bob", "member")
			addMember(t, s, "t2", "user:bob", "member")
			must(t, s.RemoveMember(ctx, "t1", "user:bob"))
			_, err := s.GetMember(ctx, "t1", "user:bob")
			wantNotFound(t, err, "member_not_found")
			wantNotFound(t, s.RemoveMember(ctx, "t1", "user:bob"), "member_not_found")
			// Only the one membership went.
			ok(s.GetMember(ctx, "t2", "user:bob"))(t)
			// And the actor may join again.
			addMember(t, s, "t1", "user:bob", "admin")
		}},
	}
}
