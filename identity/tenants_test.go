package identity_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/tollgate/tollgate/cursor"
	"github.com/tollgate/tollgate/event"
	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/identity"
)

func TestCreateTenantMakesTheCallerItsOnlyOwner(t *testing.T) {
	w := newWorld(t)
	tn, err := w.svc.CreateTenant(w.ctx, w.member.ActorID(), identity.NewTenant{Slug: "side-project"})
	if err != nil {
		t.Fatal(err)
	}
	if tn.Name != "side-project" || tn.Status != identity.TenantActive || !tn.CreatedAt.Equal(w.clock.Now()) {
		t.Fatalf("created %+v", tn)
	}
	if got := w.memberIDs(tn.ID); !slices.Equal(got, []string{w.member.ActorID()}) {
		t.Fatalf("members %v", got)
	}
	if got := w.rolesOf(tn.ID, w.member.ActorID()); !slices.Equal(got, []string{identity.RoleOwner}) {
		t.Fatalf("roles %v", got)
	}
	got, err := w.svc.GetTenant(w.ctx, w.as(w.member), tn.ID)
	if err != nil || got.Tenant.Slug != "side-project" || !slices.Equal(got.Roles, []string{identity.RoleOwner}) {
		t.Fatalf("GetTenant = %+v, %v", got, err)
	}
}

func TestCreateTenantRejectsBadInput(t *testing.T) {
	w := newWorld(t)
	for _, c := range []struct {
		name, slug, tname string
		field, code       string
	}{
		{"short slug", "ab", "", "slug", "invalid_slug"},
		{"long slug", strings.Repeat("a", 64), "", "slug", "invalid_slug"},
		{"upper-case slug", "Team-A", "", "slug", "invalid_slug"},
		{"homoglyph slug", "tenаnt-a", "", "slug", "invalid_slug"},
		{"edge hyphen", "-team", "", "slug", "invalid_slug"},
		{"reserved slug", "admin", "", "slug", "reserved_slug"},
		{"punycode slug", "xn--80ak6aa92e", "", "slug", "reserved_slug"},
		{"zero-width space in name", "fine-slug", "o\u200ba", "name", "invalid_name"},
		{"bidi override in name", "fine-slug", "a\u202eb", "name", "invalid_name"},
		{"control in name", "fine-slug", "bad\u0007name", "name", "invalid_name"},
		{"padded name", "fine-slug", " padded", "name", "invalid_name"},
		{"long name", "fine-slug", strings.Repeat("é", 201), "name", "invalid_name"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := w.svc.CreateTenant(w.ctx, w.member.ActorID(), identity.NewTenant{Slug: c.slug, Name: c.tname})
			wantInvalid(t, err, c.field, c.code)
		})
	}
	_, err := w.svc.CreateTenant(w.ctx, w.member.ActorID(), identity.NewTenant{Slug: w.tenantA.Slug})
	wantFault(t, err, fault.Conflict, "tenant_slug_taken")
	all, err := w.svc.ListTenants(w.ctx, cursor.Page{})
	if err != nil || len(all) != 2 {
		t.Fatalf("bad input created tenants: %v, %v", all, err)
	}
}

func TestGetTenantAnswersMembersAndPlatformAdminsOnly(t *testing.T) {
	w := newWorld(t)
	w.role(w.tenantA.ID, "blind", identity.PermAuditRead)
	blind := w.memberWith("blind@a.example", "blind")
	for _, c := range []struct {
		name     string
		caller   identity.Caller
		tenantID string
		roles    []string
		code     string
	}{
		{"owner", w.as(w.owner), w.tenantA.ID, []string{"owner"}, ""},
		{"admin", w.as(w.admin), w.tenantA.ID, []string{"admin"}, ""},
		{"member", w.as(w.member), w.tenantA.ID, []string{"member"}, ""},
		{"platform admin, not a member", w.as(w.root), w.tenantA.ID, nil, ""},
		{"member of another tenant", w.as(w.outB), w.tenantA.ID, nil, "tenant_not_found"},
		{"stranger", w.as(w.stranger), w.tenantA.ID, nil, "tenant_not_found"},
		{"missing tenant", w.as(w.owner), missingTenant, nil, "tenant_not_found"},
		{"malformed tenant id", w.as(w.owner), "not-an-id", nil, "tenant_not_found"},
		{"agent actor", identity.Caller{ActorID: w.agent.ActorID()}, w.tenantA.ID, nil, "tenant_not_found"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := w.svc.GetTenant(w.ctx, c.caller, c.tenantID)
			if c.code != "" {
				wantFault(t, err, fault.NotFound, c.code)
				return
			}
			if err != nil || got.Tenant.ID != w.tenantA.ID || !slices.Equal(got.Roles, c.roles) {
				t.Fatalf("GetTenant = %+v, %v", got, err)
			}
		})
	}
	t.Run("member without tenant:read", func(t *testing.T) {
		_, err := w.svc.GetTenant(w.ctx, w.as(blind), w.tenantA.ID)
		wantFault(t, err, fault.Forbidden, "permission_denied")
	})
}

// TestCrossTenantCallersLearnNothing checks that every tenant-scoped rule
// answers a member of tenant A acting on tenant B exactly as for a tenant
// that does not exist, and leaves B and its agent unchanged.
func TestCrossTenantCallersLearnNothing(t *testing.T) {
	w := newWorld(t)
	bAgent, err := w.svc.CreateAgent(w.ctx, w.as(w.outB), w.tenantB.ID, identity.NewAgent{Name: "b's agent"})
	if err != nil {
		t.Fatal(err)
	}
	w.events.Take()
	name := "pwned"
	disabled := identity.AgentDisabled
	ops := []struct {
		name string
		do   func(c identity.Caller, tenantID string) error
	}{
		{"GetTenant", func(c identity.Caller, id string) error { _, err := w.svc.GetTenant(w.ctx, c, id); return err }},
		{"UpdateTenant", func(c identity.Caller, id string) error {
			_, err := w.svc.UpdateTenant(w.ctx, c, id, identity.TenantPatch{Name: &name})
			return err
		}},
		{"ListMembers", func(c identity.Caller, id string) error {
			_, err := w.svc.ListMembers(w.ctx, c, id, cursor.Page{})
			return err
		}},
		{"GetMember", func(c identity.Caller, id string) error {
			_, err := w.svc.GetMember(w.ctx, c, id, w.outB.ActorID())
			return err
		}},
		{"AddMember", func(c identity.Caller, id string) error {
			_, err := w.svc.AddMember(w.ctx, c, id, identity.NewMember{ActorID: c.ActorID, Roles: []string{"owner"}})
			return err
		}},
		{"UpdateMemberRoles", func(c identity.Caller, id string) error {
			_, err := w.svc.UpdateMemberRoles(w.ctx, c, id, w.outB.ActorID(), []string{"member"})
			return err
		}},
		{"RemoveMember", func(c identity.Caller, id string) error { return w.svc.RemoveMember(w.ctx, c, id, w.outB.ActorID()) }},
		{"ListRoles", func(c identity.Caller, id string) error { _, err := w.svc.ListRoles(w.ctx, c, id); return err }},
		{"GetRole", func(c identity.Caller, id string) error { _, err := w.svc.GetRole(w.ctx, c, id, "admin"); return err }},
		{"PutRole", func(c identity.Caller, id string) error {
			_, err := w.svc.PutRole(w.ctx, c, id, "spy", identity.RoleInput{Permissions: []string{"tenant:read"}})
			return err
		}},
		{"DeleteRole", func(c identity.Caller, id string) error { return w.svc.DeleteRole(w.ctx, c, id, "spy") }},
		{"CreateAgent", func(c identity.Caller, id string) error {
			_, err := w.svc.CreateAgent(w.ctx, c, id, identity.NewAgent{Name: "spy"})
			return err
		}},
		{"ListAgents", func(c identity.Caller, id string) error {
			_, err := w.svc.ListAgents(w.ctx, c, id, cursor.Page{})
			return err
		}},
		{"GetAgent", func(c identity.Caller, id string) error {
			_, err := w.svc.GetAgent(w.ctx, c, id, bAgent.ID)
			return err
		}},
		{"UpdateAgent", func(c identity.Caller, id string) error {
			_, err := w.svc.UpdateAgent(w.ctx, c, id, bAgent.ID, identity.AgentPatch{Status: &disabled})
			return err
		}},
		{"DeleteAgent", func(c identity.Caller, id string) error { return w.svc.DeleteAgent(w.ctx, c, id, bAgent.ID) }},
	}
	callers := []struct {
		name   string
		caller identity.Caller
	}{
		{"owner of A", w.as(w.owner)},
		{"member of A", w.as(w.member)},
		{"owner's key for A", bounded(w.owner, w.tenantA.ID, identity.Catalogue()...)},
	}
	for _, op := range ops {
		for _, c := range callers {
			t.Run(op.name+" as "+c.name, func(t *testing.T) {
				foreign := wantFault(t, op.do(c.caller, w.tenantB.ID), fault.NotFound, "tenant_not_found")
				absent := wantFault(t, op.do(c.caller, missingTenant), fault.NotFound, "tenant_not_found")
				if foreign.Detail != absent.Detail {
					t.Fatalf("foreign and missing tenants differ: %q vs %q", foreign.Detail, absent.Detail)
				}
			})
		}
	}
	b, err := w.svc.GetTenant(w.ctx, w.as(w.outB), w.tenantB.ID)
	if err != nil || b.Tenant.Name != "B" {
		t.Fatalf("tenant B changed: %+v, %v", b, err)
	}
	if got := w.memberIDs(w.tenantB.ID); !slices.Equal(got, []string{w.outB.ActorID()}) {
		t.Fatalf("tenant B members changed: %v", got)
	}
	if roles, err := w.st.ListRoles(w.ctx, w.tenantB.ID); err != nil || len(roles) != 0 {
		t.Fatalf("tenant B roles changed: %v, %v", roles, err)
	}
	if ag, err := w.st.GetAgent(w.ctx, w.tenantB.ID, bAgent.ID); err != nil || ag.Status != identity.AgentActive || ag.Name != "b's agent" {
		t.Fatalf("tenant B agent changed: %+v, %v", ag, err)
	}
	if agents, err := w.st.ListAgents(w.ctx, w.tenantB.ID, "", cursor.Page{Limit: 10}); err != nil || len(agents) != 1 {
		t.Fatalf("tenant B agents changed: %v, %v", agents, err)
	}
	wantEvents(t, w.events.Take())
}

func TestUpdateTenantRenamesWithTenantWrite(t *testing.T) {
	w := newWorld(t)
	for _, c := range []struct {
		name   string
		caller identity.Caller
		rename string
		kind   fault.Kind
		code   string
	}{
		{"owner", w.as(w.owner), "By owner", 0, ""},
		{"admin", w.as(w.admin), "By admin", 0, ""},
		{"platform admin", w.as(w.root), "By root", 0, ""},
		{"member", w.as(w.member), "By member", fault.Forbidden, "permission_denied"},
		{"key without tenant:write", bounded(w.owner, w.tenantA.ID, identity.PermTenantRead), "By key", fault.Forbidden, "permission_denied"},
		{"key with tenant:write", bounded(w.owner, w.tenantA.ID, identity.PermTenantWrite), "By key", 0, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			before, _ := w.st.GetTenant(w.ctx, w.tenantA.ID)
			got, err := w.svc.UpdateTenant(w.ctx, c.caller, w.tenantA.ID, identity.TenantPatch{Name: &c.rename})
			want(t, err, c.kind, c.code)
			stored, _ := w.st.GetTenant(w.ctx, w.tenantA.ID)
			if c.code != "" {
				if stored.Name != before.Name {
					t.Fatalf("refused rename changed the name to %q", stored.Name)
				}
				return
			}
			if got.Name != c.rename || stored.Name != c.rename || got.Slug != "tenant-a" || got.Status != identity.TenantActive {
				t.Fatalf("renamed %+v, stored %+v", got, stored)
			}
		})
	}
	for _, bad := range []string{"", " x", "a\x00b", strings.Repeat("n", 201)} {
		_, err := w.svc.UpdateTenant(w.ctx, w.as(w.owner), w.tenantA.ID, identity.TenantPatch{Name: &bad})
		wantInvalid(t, err, "name", "invalid_name")
	}
	// Renaming is no change of anyone's rights.
	wantEvents(t, w.events.Take())
}

func TestTenantStatusIsChangedByPlatformAdminsOnly(t *testing.T) {
	w := newWorld(t)
	suspended, active, deleted := identity.TenantSuspended, identity.TenantActive, identity.TenantStatus("deleted")

	_, err := w.svc.UpdateTenant(w.ctx, w.as(w.owner), w.tenantA.ID, identity.TenantPatch{Status: &suspended})
	wantFault(t, err, fault.Forbidden, "platform_admin_required")
	// Restating the current status is no change.
	if _, err := w.svc.UpdateTenant(w.ctx, w.as(w.owner), w.tenantA.ID, identity.TenantPatch{Status: &active}); err != nil {
		t.Fatal(err)
	}
	_, err = w.svc.UpdateTenant(w.ctx, w.as(w.root), w.tenantA.ID, identity.TenantPatch{Status: &deleted})
	wantInvalid(t, err, "status", "invalid_status")
	wantEvents(t, w.events.Take())

	got, err := w.svc.UpdateTenant(w.ctx, w.as(w.root), w.tenantA.ID, identity.TenantPatch{Status: &suspended})
	if err != nil || got.Status != identity.TenantSuspended {
		t.Fatalf("suspend = %+v, %v", got, err)
	}
	wantEvents(t, w.events.Take(), ev(event.KindTenantSuspended, w.tenantA.ID))

	// Members learn why they are shut out; outsiders still learn nothing.
	for _, u := range []identity.User{w.owner, w.admin, w.member} {
		_, err := w.svc.GetTenant(w.ctx, w.as(u), w.tenantA.ID)
		wantFault(t, err, fault.Forbidden, "tenant_suspended")
		_, err = w.svc.ListMembers(w.ctx, w.as(u), w.tenantA.ID, cursor.Page{})
		wantFault(t, err, fault.Forbidden, "tenant_suspended")
	}
	name := "still mine"
	_, err = w.svc.UpdateTenant(w.ctx, w.as(w.owner), w.tenantA.ID, identity.TenantPatch{Name: &name, Status: &active})
	wantFault(t, err, fault.Forbidden, "tenant_suspended")
	_, err = w.svc.GetTenant(w.ctx, w.as(w.outB), w.tenantA.ID)
	wantFault(t, err, fault.NotFound, "tenant_not_found")
	if _, err := w.svc.ListMembers(w.ctx, w.as(w.root), w.tenantA.ID, cursor.Page{}); err != nil {
		t.Fatalf("platform admin shut out of a suspended tenant: %v", err)
	}

	got, err = w.svc.UpdateTenant(w.ctx, w.as(w.root), w.tenantA.ID, identity.TenantPatch{Status: &active})
	if err != nil || got.Status != identity.TenantActive {
		t.Fatalf("reactivate = %+v, %v", got, err)
	}
	wantEvents(t, w.events.Take(), ev(event.KindTenantActivated, w.tenantA.ID))
	if _, err := w.svc.GetTenant(w.ctx, w.as(w.member), w.tenantA.ID); err != nil {
		t.Fatalf("member after reactivation: %v", err)
	}
}

func TestPlatformAdminWhoIsAMemberKeepsManagingTheTenant(t *testing.T) {
	w := newWorld(t)
	w.join(w.tenantA.ID, w.root, identity.RoleMember)
	suspended, active := identity.TenantSuspended, identity.TenantActive
	if _, err := w.svc.UpdateTenant(w.ctx, w.as(w.root), w.tenantA.ID, identity.TenantPatch{Status: &suspended}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.svc.ListMembers(w.ctx, w.as(w.root), w.tenantA.ID, cursor.Page{}); err != nil {
		t.Fatalf("platform admin member of a suspended tenant: %v", err)
	}
	name := "Back"
	got, err := w.svc.UpdateTenant(w.ctx, w.as(w.root), w.tenantA.ID, identity.TenantPatch{Status: &active, Name: &name})
	if err != nil || got.Name != "Back" || got.Status != identity.TenantActive {
		t.Fatalf("reactivate = %+v, %v", got, err)
	}
}

func TestListAllTenantsNeedsAnUnboundedPlatformAdmin(t *testing.T) {
	w := newWorld(t)
	got, err := w.svc.ListAllTenants(w.ctx, w.as(w.root), cursor.Page{})
	if err != nil || len(got) != 2 {
		t.Fatalf("platform admin lists %v, %v", got, err)
	}
	for name, c := range map[string]identity.Caller{
		"owner":                    w.as(w.owner),
		"platform admin's key":     bounded(w.root, w.tenantA.ID, identity.Catalogue()...),
		"agent acting as an actor": {ActorID: w.agent.ActorID()},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := w.svc.ListAllTenants(w.ctx, c, cursor.Page{})
			wantFault(t, err, fault.Forbidden, "platform_admin_required")
		})
	}
}

func TestListMyTenantsShowsOnlyTheCallersTenants(t *testing.T) {
	w := newWorld(t)
	w.join(w.tenantB.ID, w.member, identity.RoleMember)
	ids := func(ts []identity.TenantMembership) []string {
		out := []string{}
		for _, tm := range ts {
			out = append(out, tm.Tenant.ID)
		}
		return out
	}
	both := []string{w.tenantA.ID, w.tenantB.ID}
	slices.Sort(both)
	for _, c := range []struct {
		name   string
		caller identity.Caller
		page   cursor.Page
		want   []string
	}{
		{"owner of A", w.as(w.owner), cursor.Page{}, []string{w.tenantA.ID}},
		{"member of both", w.as(w.member), cursor.Page{}, both},
		{"member of both, second page", w.as(w.member), cursor.Page{After: both[0], Limit: 1}, both[1:]},
		{"stranger", w.as(w.stranger), cursor.Page{}, []string{}},
		{"platform admin sees only memberships", w.as(w.root), cursor.Page{}, []string{}},
		{"key for A of a member of both", bounded(w.member, w.tenantA.ID, identity.PermTenantRead), cursor.Page{}, []string{w.tenantA.ID}},
		{"key for A, past its tenant", bounded(w.member, w.tenantA.ID, identity.PermTenantRead), cursor.Page{After: w.tenantA.ID}, []string{}},
		{"key for a tenant its holder left", bounded(w.stranger, w.tenantA.ID, identity.PermTenantRead), cursor.Page{}, []string{}},
		{"key without a tenant", bounded(w.member, ""), cursor.Page{}, []string{}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := w.svc.ListMyTenants(w.ctx, c.caller, c.page)
			if err != nil || !slices.Equal(ids(got), c.want) {
				t.Fatalf("ListMyTenants = %v, %v; want %v", ids(got), err, c.want)
			}
		})
	}
	t.Run("key's roles come from the membership", func(t *testing.T) {
		got, err := w.svc.ListMyTenants(w.ctx, bounded(w.admin, w.tenantA.ID), cursor.Page{})
		if err != nil || len(got) != 1 || !slices.Equal(got[0].Roles, []string{"admin"}) {
			t.Fatalf("ListMyTenants = %+v, %v", got, err)
		}
	})
	t.Run("key for a suspended tenant", func(t *testing.T) {
		suspended := identity.TenantSuspended
		if _, err := w.svc.UpdateTenant(w.ctx, w.as(w.root), w.tenantA.ID, identity.TenantPatch{Status: &suspended}); err != nil {
			t.Fatal(err)
		}
		got, err := w.svc.ListMyTenants(w.ctx, bounded(w.member, w.tenantA.ID, identity.PermTenantRead), cursor.Page{})
		if err != nil || len(got) != 0 {
			t.Fatalf("ListMyTenants = %v, %v", ids(got), err)
		}
	})
}

func TestAdminCreateTenantMakesTheNamedUserOwner(t *testing.T) {
	w := newWorld(t)
	tn, err := w.svc.AdminCreateTenant(w.ctx, "  Stranger@NOWHERE.example ", identity.NewTenant{Slug: "from-cli", Name: "From CLI"})
	if err != nil {
		t.Fatal(err)
	}
	if got := w.rolesOf(tn.ID, w.stranger.ActorID()); !slices.Equal(got, []string{"owner"}) {
		t.Fatalf("roles %v", got)
	}
	_, err = w.svc.AdminCreateTenant(w.ctx, "nobody@nowhere.example", identity.NewTenant{Slug: "orphan"})
	wantFault(t, err, fault.NotFound, "user_not_found")
	_, err = w.svc.AdminCreateTenant(w.ctx, "not an email", identity.NewTenant{Slug: "orphan"})
	wantInvalid(t, err, "email", "invalid_email")
	_, err = w.svc.AdminCreateTenant(w.ctx, w.stranger.Email, identity.NewTenant{Slug: "x"})
	wantInvalid(t, err, "slug", "invalid_slug")
}

func TestTenantExists(t *testing.T) {
	w := newWorld(t)
	if err := w.svc.TenantExists(w.ctx, w.tenantB.ID); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{missingTenant, "not-an-id", ""} {
		wantFault(t, w.svc.TenantExists(w.ctx, id), fault.NotFound, "tenant_not_found")
	}
}

func TestAdminListsSeeEveryTenantAndUser(t *testing.T) {
	w := newWorld(t)
	tenants, err := w.svc.ListTenants(w.ctx, cursor.Page{})
	if err != nil || len(tenants) != 2 {
		t.Fatalf("ListTenants = %v, %v", tenants, err)
	}
	users, err := w.svc.ListUsers(w.ctx, cursor.Page{})
	if err != nil || len(users) != 6 {
		t.Fatalf("ListUsers = %v, %v", users, err)
	}
	page, err := w.svc.ListUsers(w.ctx, cursor.Page{Limit: 2, After: users[1].ID})
	if err != nil || len(page) != 2 || page[0].ID != users[2].ID {
		t.Fatalf("second page of users = %v, %v", page, err)
	}
}

func TestTenantMFARuleNeedsTenantWrite(t *testing.T) {
	w := newWorld(t)
	required, optional, bad := identity.MFARequired, identity.MFAOptional, identity.TenantMFA("always")
	for _, c := range []struct {
		name   string
		caller identity.Caller
		set    *identity.TenantMFA
		kind   fault.Kind
		code   string
		want   identity.TenantMFA
	}{
		{"member", w.as(w.member), &required, fault.Forbidden, "permission_denied", identity.MFAOptional},
		{"key without tenant:write", bounded(w.owner, w.tenantA.ID, identity.PermTenantRead), &required, fault.Forbidden, "permission_denied", identity.MFAOptional},
		{"unknown rule", w.as(w.owner), &bad, fault.Invalid, "invalid_mfa", identity.MFAOptional},
		{"admin requires it", w.as(w.admin), &required, 0, "", identity.MFARequired},
		{"a rename keeps it", w.as(w.owner), nil, 0, "", identity.MFARequired},
		{"owner lifts it", w.as(w.owner), &optional, 0, "", identity.MFAOptional},
	} {
		t.Run(c.name, func(t *testing.T) {
			name := "Tenant A"
			got, err := w.svc.UpdateTenant(w.ctx, c.caller, w.tenantA.ID, identity.TenantPatch{Name: &name, MFA: c.set})
			want(t, err, c.kind, c.code)
			stored, _ := w.st.GetTenant(w.ctx, w.tenantA.ID)
			if stored.MFA != c.want || c.code == "" && got.MFA != c.want {
				t.Fatalf("returned %q, stored %q, want %q", got.MFA, stored.MFA, c.want)
			}
		})
	}
	if tb, _ := w.st.GetTenant(w.ctx, w.tenantB.ID); tb.MFA != identity.MFAOptional {
		t.Fatalf("another tenant's rule %q", tb.MFA)
	}
}
