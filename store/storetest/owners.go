package storetest

import (
	"errors"
	"fmt"
	"testing"

	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/store"
)

const owner = identity.RoleOwner

func lastOwnerTests() []test {
	return []test{
		{"SoleOwnerCannotBeDemotedOrRemoved", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			newTenant(t, s, "t1", "user:alice")
			addMember(t, s, "t1", "user:bob", "admin")
			wantConflict(t, s.SetMemberRoles(ctx, "t1", "user:alice", []string{"admin"}), "last_owner")
			wantConflict(t, s.SetMemberRoles(ctx, "t1", "user:alice", nil), "last_owner")
			wantConflict(t, s.RemoveMember(ctx, "t1", "user:alice"), "last_owner")
			check(t, "roles", ok(s.GetMember(ctx, "t1", "user:alice"))(t).Roles, []string{owner})
		}},
		{"OwnerMayChangeOtherRoles", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			newTenant(t, s, "t1", "user:alice")
			must(t, s.SetMemberRoles(ctx, "t1", "user:alice", []string{"billing", owner}))
			must(t, s.SetMemberRoles(ctx, "t1", "user:alice", []string{owner}))
		}},
		{"NonOwnersAreFree", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			newTenant(t, s, "t1", "user:alice")
			addMember(t, s, "t1", "user:bob", "admin")
			must(t, s.SetMemberRoles(ctx, "t1", "user:bob", []string{"member"}))
			must(t, s.RemoveMember(ctx, "t1", "user:bob"))
		}},
		{"HandOver", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			newTenant(t, s, "t1", "user:alice")
			addMember(t, s, "t1", "user:bob", "admin")
			must(t, s.SetMemberRoles(ctx, "t1", "user:bob", []string{owner}))
			must(t, s.SetMemberRoles(ctx, "t1", "user:alice", []string{"admin"}))
			wantConflict(t, s.RemoveMember(ctx, "t1", "user:bob"), "last_owner")
			must(t, s.RemoveMember(ctx, "t1", "user:alice"))
		}},
		{"SecondOwnerAddedLater", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			newTenant(t, s, "t1", "user:alice")
			addMember(t, s, "t1", "user:bob", "admin", owner)
			must(t, s.RemoveMember(ctx, "t1", "user:alice"))
		}},
		{"OnlyTheExactRoleCounts", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			newTenant(t, s, "t1", "user:alice")
			// Neither look-alike role names nor owners of other tenants keep
			// t1 owned.
			addMember(t, s, "t1", "user:bob", "owners", "co-owner", "Owner", "owner ")
			newTenant(t, s, "t2", "user:carol")
			addMember(t, s, "t2", "user:alice", owner)
			newTenant(t, s, "t3", "user:bob")
			wantConflict(t, s.SetMemberRoles(ctx, "t1", "user:alice", []string{"member"}), "last_owner")
			wantConflict(t, s.RemoveMember(ctx, "t1", "user:alice"), "last_owner")
		}},
		{"ConcurrentDemotions", func(t *testing.T, s store.Store) {
			raceOwners(t, s, func(tenantID, actor string) error {
				return s.SetMemberRoles(t.Context(), tenantID, actor, []string{"admin"})
			})
		}},
		{"ConcurrentRemovals", func(t *testing.T, s store.Store) {
			raceOwners(t, s, func(tenantID, actor string) error {
				return s.RemoveMember(t.Context(), tenantID, actor)
			})
		}},
		{"ConcurrentDemotionAndRemoval", func(t *testing.T, s store.Store) {
			raceOwners(t, s, func(tenantID, actor string) error {
				if actor == "user:a" {
					return s.RemoveMember(t.Context(), tenantID, actor)
				}
				return s.SetMemberRoles(t.Context(), tenantID, actor, nil)
			})
		}},
	}
}

// raceOwners gives several tenants two owners each and, per tenant, runs
// unown on both owners at once: exactly one may succeed, the other must get
// "last_owner", and one owner must remain.
func raceOwners(t *testing.T, s store.Store, unown func(tenantID, actor string) error) {
	const rounds = 8
	for i := range rounds {
		id := fmt.Sprintf("t%d", i)
		newTenant(t, s, id, "user:a")
		addMember(t, s, id, "user:b", owner)
	}
	errs := make([][2]error, rounds)
	race(t, 2*rounds, func(k int) func() {
		i, j := k/2, k%2
		return func() { errs[i][j] = unown(fmt.Sprintf("t%d", i), []string{"user:a", "user:b"}[j]) }
	}, s)

	for i, pair := range errs {
		id := fmt.Sprintf("t%d", i)
		succeeded := 0
		for _, err := range pair {
			switch {
			case err == nil:
				succeeded++
			case fault.KindOf(err) == fault.Conflict && errors.Is(err, &fault.Error{Code: identity.CodeLastOwner}):
			default:
				t.Errorf("%s: unexpected error %v", id, err)
			}
		}
		if succeeded != 1 {
			t.Errorf("%s: %d of 2 concurrent owner removals succeeded, want exactly 1 (errors %v)", id, succeeded, pair)
		}
		owners := 0
		for _, m := range ok(s.ListMembers(t.Context(), id, pageAll))(t) {
			if identity.HasOwner(m.Roles) {
				owners++
			}
		}
		if owners != 1 {
			t.Errorf("%s: %d owners left, want 1", id, owners)
		}
	}
}
