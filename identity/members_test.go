package identity_test

import (
	"slices"
	"testing"

	"github.com/tollgate/tollgate/cursor"
	"github.com/tollgate/tollgate/event"
	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/identity"
)

func TestAddOrInviteByActorIDAdds(t *testing.T) {
	w := newWorld(t)
	byID := w.user("newbie@a.example", false)

	ad, err := w.svc.AddOrInvite(w.ctx, w.as(w.admin), w.tenantA.ID, identity.MemberRequest{ActorID: byID.ActorID(), Roles: []string{"member", "member"}})
	if err != nil || ad.Invitation != nil || ad.Member == nil {
		t.Fatalf("AddOrInvite by id = %+v, %v", ad, err)
	}
	if m := *ad.Member; m.ActorID != byID.ActorID() || m.TenantID != w.tenantA.ID || !slices.Equal(m.Roles, []string{"member"}) {
		t.Fatalf("AddOrInvite by id added %+v", m)
	}
	wantEvents(t, w.events.Take(), evIn(event.KindActorChanged, byID.ActorID(), w.tenantA.ID))
	if got := w.rolesOf(w.tenantA.ID, byID.ActorID()); !slices.Equal(got, []string{"member"}) {
		t.Fatalf("stored roles %v", got)
	}
	_, err = w.svc.AddOrInvite(w.ctx, w.as(w.admin), w.tenantA.ID, identity.MemberRequest{ActorID: byID.ActorID(), Roles: []string{"admin"}})
	wantFault(t, err, fault.Conflict, "member_exists")
	if got := w.rolesOf(w.tenantA.ID, byID.ActorID()); !slices.Equal(got, []string{"member"}) {
		t.Fatalf("stored roles %v after a refused second add", got)
	}
}

// TestAddOrInviteByEmailInvites: an address is invited, never added, and
// the answer is alike whether or not it has an account — no user_not_found
// to tell the caller which addresses are registered.
func TestAddOrInviteByEmailInvites(t *testing.T) {
	w := newMailWorld(t)
	registered := w.user("Second.Person@A.example", false)
	var seen []identity.Invitation
	for _, addr := range []string{" second.person@a.EXAMPLE", "Nobody@A.example"} {
		ad, err := w.svc.AddOrInvite(w.ctx, w.as(w.admin), w.tenantA.ID, identity.MemberRequest{Email: addr, Roles: []string{"member"}})
		if err != nil || ad.Member != nil || ad.Invitation == nil {
			t.Fatalf("AddOrInvite %q = %+v, %v", addr, ad, err)
		}
		inv := *ad.Invitation
		if inv.TenantID != w.tenantA.ID || inv.Status != identity.InvitationPending || inv.InvitedBy != w.admin.ActorID() || !slices.Equal(inv.Roles, []string{"member"}) {
			t.Fatalf("invitation %+v", inv)
		}
		seen = append(seen, inv)
	}
	if seen[0].Email != "second.person@a.example" || seen[1].Email != "nobody@a.example" {
		t.Fatalf("invited %q and %q, want normalised addresses", seen[0].Email, seen[1].Email)
	}
	if slices.Contains(w.memberIDs(w.tenantA.ID), registered.ActorID()) {
		t.Fatal("an address with an account was added, not invited")
	}
	if got := w.memberIDs(w.tenantA.ID); len(got) != 3 {
		t.Fatalf("inviting changed members: %v", got)
	}
	wantEvents(t, w.events.Take())
	list, err := w.svc.ListInvitations(w.ctx, w.as(w.admin), w.tenantA.ID, cursor.Page{})
	if err != nil || len(list) != 2 {
		t.Fatalf("pending invitations %+v, %v", list, err)
	}
}

// TestAddOrInviteAcrossTenants: neither branch reaches a tenant the caller
// has no standing in, and a refused request leaves nothing there.
func TestAddOrInviteAcrossTenants(t *testing.T) {
	w := newMailWorld(t)
	for _, c := range []struct {
		name   string
		caller identity.Caller
		in     identity.MemberRequest
	}{
		{"admin of A adds to B", w.as(w.admin), identity.MemberRequest{ActorID: w.stranger.ActorID(), Roles: []string{"member"}}},
		{"admin of A invites to B", w.as(w.admin), identity.MemberRequest{Email: "x@b.example", Roles: []string{"member"}}},
		{"A's key adds to B", bounded(w.owner, w.tenantA.ID, identity.PermMembersWrite), identity.MemberRequest{ActorID: w.stranger.ActorID(), Roles: []string{"member"}}},
		{"A's key invites to B", bounded(w.owner, w.tenantA.ID, identity.PermMembersWrite), identity.MemberRequest{Email: "x@b.example", Roles: []string{"member"}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			ad, err := w.svc.AddOrInvite(w.ctx, c.caller, w.tenantB.ID, c.in)
			wantFault(t, err, fault.NotFound, "tenant_not_found")
			if ad.Member != nil || ad.Invitation != nil {
				t.Fatalf("refused request answered %+v", ad)
			}
		})
	}
	if got := w.memberIDs(w.tenantB.ID); !slices.Equal(got, []string{w.outB.ActorID()}) {
		t.Fatalf("B's members now %v", got)
	}
	if list, err := w.st.ListInvitations(w.ctx, w.tenantB.ID, cursor.Page{}); err != nil || len(list) != 0 {
		t.Fatalf("B's invitations %+v, %v", list, err)
	}
	wantEvents(t, w.events.Take())
}

func TestAddOrInviteRejectsBadInput(t *testing.T) {
	w := newWorld(t)
	many := make([]string, identity.MaxRolesPerMember+1)
	for i := range many {
		many[i] = "member"
	}
	id := w.stranger.ActorID()
	for _, c := range []struct {
		name  string
		in    identity.MemberRequest
		kind  fault.Kind
		field string
		code  string
	}{
		{"no roles", identity.MemberRequest{ActorID: id}, fault.Invalid, "roles", "invalid_roles"},
		{"too many roles", identity.MemberRequest{ActorID: id, Roles: many}, fault.Invalid, "roles", "invalid_roles"},
		{"bad role name", identity.MemberRequest{ActorID: id, Roles: []string{"member", "Robert'); DROP"}}, fault.Invalid, "roles[1]", "invalid_role_name"},
		{"undefined role", identity.MemberRequest{ActorID: id, Roles: []string{"auditor"}}, fault.Invalid, "roles", "unknown_role"},
		{"both ids", identity.MemberRequest{ActorID: id, Email: w.stranger.Email, Roles: []string{"member"}}, fault.Invalid, "actor_id", "ambiguous_member"},
		{"neither id", identity.MemberRequest{Roles: []string{"member"}}, fault.Invalid, "actor_id", "missing_member"},
		{"agent id", identity.MemberRequest{ActorID: w.agent.ActorID(), Roles: []string{"member"}}, fault.Invalid, "actor_id", "invalid_actor_id"},
		{"malformed user id", identity.MemberRequest{ActorID: "user:7f3a", Roles: []string{"member"}}, fault.Invalid, "actor_id", "invalid_actor_id"},
		{"unknown user", identity.MemberRequest{ActorID: "user:" + missingTenant, Roles: []string{"member"}}, fault.NotFound, "", "user_not_found"},
		{"bad email", identity.MemberRequest{Email: "@@", Roles: []string{"member"}}, fault.Invalid, "email", "invalid_email"},
		{"email with undefined role", identity.MemberRequest{Email: "r@a.example", Roles: []string{"auditor"}}, fault.Invalid, "roles", "unknown_role"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := w.svc.AddOrInvite(w.ctx, w.as(w.admin), w.tenantA.ID, c.in)
			if fe := wantFault(t, err, c.kind, c.code); fe.Field != c.field {
				t.Fatalf("field %q, want %q", fe.Field, c.field)
			}
		})
	}
	if got := w.memberIDs(w.tenantA.ID); len(got) != 3 {
		t.Fatalf("bad input changed members: %v", got)
	}
	wantEvents(t, w.events.Take())
}

// TestYouCannotGrantWhatYouDoNotHold checks the escalation guard on adding
// members and changing their roles: every role handed out must grant
// nothing the caller lacks, and owner needs owners:write.
func TestYouCannotGrantWhatYouDoNotHold(t *testing.T) {
	w := newWorld(t)
	w.role(w.tenantA.ID, "hr", identity.PermMembersRead, identity.PermMembersWrite, identity.PermTenantRead)
	w.role(w.tenantA.ID, "auditor", identity.PermAuditRead, identity.PermTenantRead)
	w.role(w.tenantA.ID, "reader", identity.PermTenantRead)
	hr := w.memberWith("hr@a.example", "hr")
	for _, c := range []struct {
		name   string
		caller identity.Caller
		roles  []string
		kind   fault.Kind
		code   string
	}{
		{"owner grants owner", w.as(w.owner), []string{"owner"}, 0, ""},
		{"owner grants a custom role", w.as(w.owner), []string{"auditor"}, 0, ""},
		{"admin grants admin", w.as(w.admin), []string{"admin"}, 0, ""},
		{"admin grants owner", w.as(w.admin), []string{"owner"}, fault.Forbidden, "permission_denied"},
		{"admin grants owner beside admin", w.as(w.admin), []string{"admin", "owner"}, fault.Forbidden, "permission_denied"},
		{"member cannot add anyone", w.as(w.member), []string{"member"}, fault.Forbidden, "permission_denied"},
		{"hr grants a role within its rights", w.as(hr), []string{"reader"}, 0, ""},
		{"hr grants member, which holds more than hr", w.as(hr), []string{"member"}, fault.Forbidden, "permission_denied"},
		{"hr grants admin", w.as(hr), []string{"admin"}, fault.Forbidden, "permission_denied"},
		{"hr grants a custom role beyond its rights", w.as(hr), []string{"auditor"}, fault.Forbidden, "permission_denied"},
		{"platform admin grants owner", w.as(w.root), []string{"owner"}, 0, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			u := w.user("add-"+slug(c.name)+"@a.example", false)
			_, err := w.svc.AddMember(w.ctx, c.caller, w.tenantA.ID, identity.NewMember{ActorID: u.ActorID(), Roles: c.roles})
			want(t, err, c.kind, c.code)
			if c.code != "" && slices.Contains(w.memberIDs(w.tenantA.ID), u.ActorID()) {
				t.Fatal("refused add left a member behind")
			}

			target := w.memberWith("upd-"+slug(c.name)+"@a.example", "reader")
			_, err = w.svc.UpdateMemberRoles(w.ctx, c.caller, w.tenantA.ID, target.ActorID(), c.roles)
			want(t, err, c.kind, c.code)
			wantRoles := c.roles
			if c.code != "" {
				wantRoles = []string{"reader"}
			}
			if got := w.rolesOf(w.tenantA.ID, target.ActorID()); !slices.Equal(got, wantRoles) {
				t.Fatalf("roles now %v, want %v", got, wantRoles)
			}
		})
	}
}

func slug(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			b[i] = '-'
		}
	}
	return string(b)
}

// TestMembersCannotTouchThoseWhoOutrankThem checks the role hierarchy: a
// caller may change or remove only members whose roles grant nothing the
// caller lacks.
func TestMembersCannotTouchThoseWhoOutrankThem(t *testing.T) {
	for _, c := range []struct {
		name           string
		caller, target string // owner, admin, member, hr, second-owner
		kind           fault.Kind
		code           string
	}{
		{"owner changes an admin", "owner", "admin", 0, ""},
		{"owner changes another owner", "owner", "second-owner", 0, ""},
		{"admin changes a member", "admin", "member", 0, ""},
		{"admin changes an owner", "admin", "owner", fault.Forbidden, "permission_denied"},
		{"member changes a member", "member", "hr", fault.Forbidden, "permission_denied"},
		{"hr changes an admin", "hr", "admin", fault.Forbidden, "permission_denied"},
		{"hr changes a member, who holds roles:read and agents:read", "hr", "member", fault.Forbidden, "permission_denied"},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := newWorld(t)
			w.role(w.tenantA.ID, "hr", identity.PermMembersRead, identity.PermMembersWrite, identity.PermTenantRead)
			w.role(w.tenantA.ID, "reader", identity.PermTenantRead)
			users := map[string]identity.User{
				"owner": w.owner, "admin": w.admin, "member": w.member,
				"hr":           w.memberWith("hr@a.example", "hr"),
				"second-owner": w.memberWith("owner2@a.example", "owner"),
			}
			caller, target := w.as(users[c.caller]), users[c.target].ActorID()
			before := w.rolesOf(w.tenantA.ID, target)

			_, err := w.svc.UpdateMemberRoles(w.ctx, caller, w.tenantA.ID, target, []string{"reader"})
			want(t, err, c.kind, c.code)
			if c.code != "" && !slices.Equal(w.rolesOf(w.tenantA.ID, target), before) {
				t.Fatalf("refused change altered roles to %v", w.rolesOf(w.tenantA.ID, target))
			}
			if c.code == "" {
				// Put the target back, then try removing them.
				if _, err := w.svc.UpdateMemberRoles(w.ctx, w.as(w.root), w.tenantA.ID, target, before); err != nil {
					t.Fatal(err)
				}
			}
			err = w.svc.RemoveMember(w.ctx, caller, w.tenantA.ID, target)
			want(t, err, c.kind, c.code)
			if present := slices.Contains(w.memberIDs(w.tenantA.ID), target); present != (c.code != "") {
				t.Fatalf("target still a member: %v", present)
			}
		})
	}
}

func TestUpdateMemberRolesAnnouncesTheChangeAndReturnsTheStoredMembership(t *testing.T) {
	w := newWorld(t)
	got, err := w.svc.UpdateMemberRoles(w.ctx, w.as(w.owner), w.tenantA.ID, w.member.ActorID(), []string{"member", "admin", "admin"})
	if err != nil || !slices.Equal(got.Roles, []string{"admin", "member"}) || got.ActorID != w.member.ActorID() || got.CreatedAt.IsZero() {
		t.Fatalf("UpdateMemberRoles = %+v, %v", got, err)
	}
	wantEvents(t, w.events.Take(), evIn(event.KindActorChanged, w.member.ActorID(), w.tenantA.ID))

	_, err = w.svc.UpdateMemberRoles(w.ctx, w.as(w.owner), w.tenantA.ID, w.stranger.ActorID(), []string{"member"})
	wantFault(t, err, fault.NotFound, "member_not_found")
	_, err = w.svc.UpdateMemberRoles(w.ctx, w.as(w.owner), w.tenantA.ID, w.member.ActorID(), nil)
	wantInvalid(t, err, "roles", "invalid_roles")
	_, err = w.svc.UpdateMemberRoles(w.ctx, w.as(w.owner), w.tenantA.ID, w.member.ActorID(), []string{"ghost"})
	wantInvalid(t, err, "roles", "unknown_role")
	wantEvents(t, w.events.Take())
}

func TestTheLastOwnerCannotLeaveOrStepDown(t *testing.T) {
	w := newWorld(t)
	_, err := w.svc.UpdateMemberRoles(w.ctx, w.as(w.owner), w.tenantA.ID, w.owner.ActorID(), []string{"admin"})
	wantFault(t, err, fault.Conflict, "last_owner")
	wantFault(t, w.svc.RemoveMember(w.ctx, w.as(w.owner), w.tenantA.ID, w.owner.ActorID()), fault.Conflict, "last_owner")
	// Not even a platform admin may leave a tenant ownerless.
	wantFault(t, w.svc.RemoveMember(w.ctx, w.as(w.root), w.tenantA.ID, w.owner.ActorID()), fault.Conflict, "last_owner")
	if got := w.rolesOf(w.tenantA.ID, w.owner.ActorID()); !slices.Equal(got, []string{"owner"}) {
		t.Fatalf("owner's roles now %v", got)
	}
	wantEvents(t, w.events.Take())

	// With a second owner, either may step down or leave.
	if _, err := w.svc.UpdateMemberRoles(w.ctx, w.as(w.owner), w.tenantA.ID, w.admin.ActorID(), []string{"owner"}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.svc.UpdateMemberRoles(w.ctx, w.as(w.owner), w.tenantA.ID, w.owner.ActorID(), []string{"admin"}); err != nil {
		t.Fatal(err)
	}
	if err := w.svc.RemoveMember(w.ctx, w.as(w.owner), w.tenantA.ID, w.owner.ActorID()); err != nil {
		t.Fatal(err)
	}
	wantFault(t, w.svc.RemoveMember(w.ctx, w.as(w.admin), w.tenantA.ID, w.admin.ActorID()), fault.Conflict, "last_owner")
}

func TestRemoveMember(t *testing.T) {
	w := newWorld(t)
	other := w.memberWith("other@a.example", "member")
	w.events.Take()
	// Anyone may leave, and then no longer sees the tenant.
	if err := w.svc.RemoveMember(w.ctx, w.as(w.member), w.tenantA.ID, w.member.ActorID()); err != nil {
		t.Fatal(err)
	}
	wantEvents(t, w.events.Take(), evIn(event.KindActorChanged, w.member.ActorID(), w.tenantA.ID))
	_, err := w.svc.GetTenant(w.ctx, w.as(w.member), w.tenantA.ID)
	wantFault(t, err, fault.NotFound, "tenant_not_found")

	wantFault(t, w.svc.RemoveMember(w.ctx, w.as(other), w.tenantA.ID, w.admin.ActorID()), fault.Forbidden, "permission_denied")
	wantFault(t, w.svc.RemoveMember(w.ctx, w.as(w.admin), w.tenantA.ID, w.stranger.ActorID()), fault.NotFound, "member_not_found")
	wantFault(t, w.svc.RemoveMember(w.ctx, w.as(w.admin), w.tenantA.ID, "user:not-an-id"), fault.NotFound, "member_not_found")
	wantEvents(t, w.events.Take())

	if err := w.svc.RemoveMember(w.ctx, w.as(w.admin), w.tenantA.ID, other.ActorID()); err != nil {
		t.Fatal(err)
	}
	wantEvents(t, w.events.Take(), evIn(event.KindActorChanged, other.ActorID(), w.tenantA.ID))
	_, err = w.svc.GetMember(w.ctx, w.as(w.admin), w.tenantA.ID, other.ActorID())
	wantFault(t, err, fault.NotFound, "member_not_found")
}

// TestGetMemberNeedsMembersReadExceptForOneself: a person reads their own
// membership in their session; a key or delegated token needs members:read
// for its holder's too.
func TestGetMemberNeedsMembersReadExceptForOneself(t *testing.T) {
	w := newWorld(t)
	w.role(w.tenantA.ID, "reader", identity.PermTenantRead)
	reader := w.memberWith("reader@a.example", "reader")
	for _, c := range []struct {
		name   string
		caller identity.Caller
		target string
		kind   fault.Kind
		code   string
		roles  []string
	}{
		{"member reads an admin", w.as(w.member), w.admin.ActorID(), 0, "", []string{"admin"}},
		{"reader reads themself", w.as(reader), reader.ActorID(), 0, "", []string{"reader"}},
		{"member's key with members:read reads the member", bounded(w.member, w.tenantA.ID, identity.PermMembersRead), w.member.ActorID(), 0, "", []string{"member"}},
		{"member's key with tenant:read reads the member", bounded(w.member, w.tenantA.ID, identity.PermTenantRead), w.member.ActorID(), fault.Forbidden, "permission_denied", nil},
		{"reader's key reads the reader", bounded(reader, w.tenantA.ID, identity.PermMembersRead, identity.PermTenantRead), reader.ActorID(), fault.Forbidden, "permission_denied", nil},
		{"reader reads another", w.as(reader), w.admin.ActorID(), fault.Forbidden, "permission_denied", nil},
		{"platform admin reads anyone", w.as(w.root), w.owner.ActorID(), 0, "", []string{"owner"}},
		{"not a member", w.as(w.admin), w.stranger.ActorID(), fault.NotFound, "member_not_found", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			m, err := w.svc.GetMember(w.ctx, c.caller, w.tenantA.ID, c.target)
			want(t, err, c.kind, c.code)
			if c.code == "" && (m.ActorID != c.target || !slices.Equal(m.Roles, c.roles)) {
				t.Fatalf("GetMember = %+v", m)
			}
		})
	}
}

func TestListMembersPagesByActorIDWithMembersRead(t *testing.T) {
	w := newWorld(t)
	w.role(w.tenantA.ID, "reader", identity.PermTenantRead)
	reader := w.memberWith("reader@a.example", "reader")
	var seen []string
	p := cursor.Page{Limit: 2}
	for range 10 {
		page, err := w.svc.ListMembers(w.ctx, w.as(w.member), w.tenantA.ID, p)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range page {
			seen = append(seen, m.ActorID)
		}
		if len(page) < p.Limit {
			break
		}
		p.After = page[len(page)-1].ActorID
	}
	want := []string{w.owner.ActorID(), w.admin.ActorID(), w.member.ActorID(), reader.ActorID()}
	slices.Sort(want)
	if !slices.Equal(seen, want) {
		t.Fatalf("listed %v, want %v", seen, want)
	}
	_, err := w.svc.ListMembers(w.ctx, w.as(reader), w.tenantA.ID, cursor.Page{})
	wantFault(t, err, fault.Forbidden, "permission_denied")
}
