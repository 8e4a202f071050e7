package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/tollgate/tollgate/cursor"
	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/store"
)

// pageAll is a page large enough for every list the suite builds.
var pageAll = cursor.Page{Limit: cursor.MaxLimit}

func tenantTests() []test {
	return []test{
		{"CreateAndGet", testTenantCreateAndGet},
		{"CreateOwnerUsesTenantID", testTenantCreateOwnerUsesTenantID},
		{"SlugTakenStoresNothing", testTenantSlugTakenStoresNothing},
		{"DuplicateIDConflicts", testTenantDuplicateIDConflicts},
		{"UnknownNotFound", testTenantUnknownNotFound},
		{"UpdateKeepsSlug", testTenantUpdateKeepsSlug},
		{"ListPagesByID", testTenantListPagesByID},
		{"ListOfActorWithRoles", testTenantListOfActorWithRoles},
		{"Count", testTenantCount},
	}
}

func testTenantCreateAndGet(t *testing.T, s store.Store) {
	ctx := t.Context()
	tn := tenant("t1", "acme")
	owner := membership("t1", "user:alice", identity.RoleOwner)
	must(t, s.CreateTenant(ctx, tn, owner))

	check(t, "GetTenant", ok(s.GetTenant(ctx, "t1"))(t), truncTenant(tn))
	check(t, "GetTenantBySlug", ok(s.GetTenantBySlug(ctx, "acme"))(t), truncTenant(tn))
	check(t, "owner membership", ok(s.GetMember(ctx, "t1", "user:alice"))(t), truncMember(owner))
}

func testTenantCreateOwnerUsesTenantID(t *testing.T, s store.Store) {
	ctx := t.Context()
	// The owner joins the new tenant even if the caller did not fill
	// in TenantID.
	must(t, s.CreateTenant(ctx, tenant("t1", "acme"), membership("", "user:alice", identity.RoleOwner)))
	ok(s.GetMember(ctx, "t1", "user:alice"))(t)
}

func testTenantSlugTakenStoresNothing(t *testing.T, s store.Store) {
	ctx := t.Context()
	must(t, s.CreateTenant(ctx, tenant("t1", "acme"), membership("t1", "user:alice", identity.RoleOwner)))
	err := s.CreateTenant(ctx, tenant("t2", "acme"), membership("t2", "user:bob", identity.RoleOwner))
	wantConflict(t, err, "tenant_slug_taken")

	// Atomic: the failed create left neither tenant nor membership.
	_, err = s.GetTenant(ctx, "t2")
	wantNotFound(t, err, "tenant_not_found")
	if l := ok(s.ListTenantsOf(ctx, "user:bob", pageAll))(t); len(l) != 0 {
		t.Errorf("ListTenantsOf(bob) = %v, want none", l)
	}
	if n := ok(s.CountTenants(ctx))(t); n != 1 {
		t.Errorf("CountTenants = %d, want 1", n)
	}
}

func testTenantDuplicateIDConflicts(t *testing.T, s store.Store) {
	ctx := t.Context()
	must(t, s.CreateTenant(ctx, tenant("t1", "acme"), membership("t1", "user:alice", identity.RoleOwner)))
	err := s.CreateTenant(ctx, tenant("t1", "other"), membership("t1", "user:bob", identity.RoleOwner))
	if fault.KindOf(err) != fault.Conflict {
		t.Fatalf("err = %v, want a conflict", err)
	}
	_, err = s.GetMember(ctx, "t1", "user:bob")
	wantNotFound(t, err, "member_not_found")
}

func testTenantUnknownNotFound(t *testing.T, s store.Store) {
	ctx := t.Context()
	newTenant(t, s, "t1", "user:alice")
	_, err := s.GetTenant(ctx, "nope")
	wantNotFound(t, err, "tenant_not_found")
	_, err = s.GetTenantBySlug(ctx, "nope")
	wantNotFound(t, err, "tenant_not_found")
	// An id is not a slug and a slug is not an id.
	_, err = s.GetTenantBySlug(ctx, "t1")
	wantNotFound(t, err, "tenant_not_found")
	_, err = s.GetTenant(ctx, "slug-t1")
	wantNotFound(t, err, "tenant_not_found")
	err = s.UpdateTenant(ctx, tenant("nope", "nope"))
	wantNotFound(t, err, "tenant_not_found")
}

func testTenantUpdateKeepsSlug(t *testing.T, s store.Store) {
	ctx := t.Context()
	orig := newTenant(t, s, "t1", "user:alice")
	upd := orig
	upd.Name = "Renamed"
	upd.Status = identity.TenantSuspended
	upd.UpdatedAt = at(time.Hour)
	// Only name, status and updated_at are written.
	upd.Slug = "changed-slug"
	upd.CreatedAt = at(-time.Hour)
	must(t, s.UpdateTenant(ctx, upd))

	want := truncTenant(orig)
	want.Name, want.Status, want.UpdatedAt = "Renamed", identity.TenantSuspended, us(upd.UpdatedAt)
	check(t, "GetTenant", ok(s.GetTenant(ctx, "t1"))(t), want)
	_, err := s.GetTenantBySlug(ctx, "changed-slug")
	wantNotFound(t, err, "tenant_not_found")
}

func testTenantListPagesByID(t *testing.T, s store.Store) {
	ctx := t.Context()
	all := ids("t", 7)
	for _, id := range shuffled(all) {
		newTenant(t, s, id, "user:alice")
	}
	var got []string
	after := ""
	for range 10 {
		page := ok(s.ListTenants(ctx, cursor.Page{After: after, Limit: 3}))(t)
		if len(page) > 3 {
			t.Fatalf("page of %d items, limit 3", len(page))
		}
		if len(page) == 0 {
			break
		}
		for _, tn := range page {
			got = append(got, tn.ID)
		}
		after = page[len(page)-1].ID
	}
	check(t, "paged ids", got, all)

	page := ok(s.ListTenants(ctx, cursor.Page{After: "t-02", Limit: 2}))(t)
	check(t, "after t-02", tenantIDs(page), []string{"t-03", "t-04"})
	// A zero limit means the default, not "none".
	page = ok(s.ListTenants(ctx, cursor.Page{}))(t)
	check(t, "zero limit", tenantIDs(page), all)
	check(t, "item", page[0], truncTenant(tenant("t-00", "slug-t-00")))
	page = ok(s.ListTenants(ctx, cursor.Page{After: "t-06"}))(t)
	check(t, "past the end", tenantIDs(page), []string{})
}

func testTenantListOfActorWithRoles(t *testing.T, s store.Store) {
	ctx := t.Context()
	// Slugs sort the other way round from ids: the list is by id.
	for i, id := range []string{"t-a", "t-b", "t-c", "t-d", "t-e"} {
		tn := tenant(id, string(rune('z'-i)))
		must(t, s.CreateTenant(ctx, tn, membership(id, "user:owner", identity.RoleOwner)))
	}
	addMember(t, s, "t-e", "user:alice", "member")
	addMember(t, s, "t-a", "user:alice", "admin", "billing")
	addMember(t, s, "t-c", "user:alice", "member")
	addMember(t, s, "t-b", "user:bob", "member")

	first := ok(s.ListTenantsOf(ctx, "user:alice", cursor.Page{Limit: 2}))(t)
	want := []identity.TenantMembership{
		{Tenant: truncTenant(tenant("t-a", "z")), Roles: []string{"admin", "billing"}},
		{Tenant: truncTenant(tenant("t-c", "x")), Roles: []string{"member"}},
	}
	check(t, "first page", first, want)
	second := ok(s.ListTenantsOf(ctx, "user:alice", cursor.Page{After: "t-c", Limit: 2}))(t)
	check(t, "second page", second, []identity.TenantMembership{
		{Tenant: truncTenant(tenant("t-e", "v")), Roles: []string{"member"}},
	})
	if l := ok(s.ListTenantsOf(ctx, "user:nobody", pageAll))(t); len(l) != 0 {
		t.Errorf("ListTenantsOf(nobody) = %v, want none", l)
	}
	owned := ok(s.ListTenantsOf(ctx, "user:owner", pageAll))(t)
	if len(owned) != 5 {
		t.Errorf("ListTenantsOf(owner) has %d tenants, want 5", len(owned))
	}
}

func testTenantCount(t *testing.T, s store.Store) {
	for _, id := range ids("t", 3) {
		newTenant(t, s, id, "user:alice")
	}
	if n := ok(s.CountTenants(t.Context()))(t); n != 3 {
		t.Errorf("CountTenants = %d, want 3", n)
	}
}

func tenantIDs(l []identity.Tenant) []string {
	out := []string{}
	for _, t := range l {
		out = append(out, t.ID)
	}
	return out
}

func sorted(l []string) []string {
	l = slices.Clone(l)
	slices.Sort(l)
	return l
}
