package identity_test

import (
	"slices"
	"testing"

	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/identity"
)

func TestTenantPermissionsAreAMembersRightsOrAnAgentsOwners(t *testing.T) {
	w := newWorld(t)
	w.role(w.tenantA.ID, "auditor", identity.PermAuditRead)
	auditor := w.memberWith("auditor@a.example", "auditor")
	disabledUser := w.memberWith("gone@a.example", "admin")
	adminsAgent, err := w.svc.CreateAgent(w.ctx, w.as(w.admin), w.tenantA.ID, identity.NewAgent{Name: "admin's"})
	if err != nil {
		t.Fatal(err)
	}
	disabledAgent, err := w.svc.CreateAgent(w.ctx, w.as(w.admin), w.tenantA.ID, identity.NewAgent{Name: "off"})
	if err != nil {
		t.Fatal(err)
	}
	off := identity.AgentDisabled
	if _, err := w.svc.UpdateAgent(w.ctx, w.as(w.admin), w.tenantA.ID, disabledAgent.ID, identity.AgentPatch{Status: &off}); err != nil {
		t.Fatal(err)
	}
	goneAgent, err := w.svc.CreateAgent(w.ctx, w.as(disabledUser), w.tenantA.ID, identity.NewAgent{Name: "orphan"})
	if err != nil {
		t.Fatal(err)
	}
	leaver := w.memberWith("leaver@a.example", "member")
	leaversAgent, err := w.svc.CreateAgent(w.ctx, w.as(leaver), w.tenantA.ID, identity.NewAgent{Name: "left behind"})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.svc.RemoveMember(w.ctx, w.as(leaver), w.tenantA.ID, leaver.ActorID()); err != nil {
		t.Fatal(err)
	}
	if _, err := w.svc.SetUserStatus(w.ctx, w.as(w.root), disabledUser.ID, identity.UserDisabled); err != nil {
		t.Fatal(err)
	}

	for _, c := range []struct {
		name, tenantID, actorID string
		want                    []string
		kind                    fault.Kind
		code                    string
	}{
		{"owner", w.tenantA.ID, w.owner.ActorID(), builtinSorted("owner"), 0, ""},
		{"member", w.tenantA.ID, w.member.ActorID(), builtinSorted("member"), 0, ""},
		{"custom role", w.tenantA.ID, auditor.ActorID(), []string{"audit:read"}, 0, ""},
		{"member's agent", w.tenantA.ID, w.agent.ActorID(), builtinSorted("member"), 0, ""},
		{"admin's agent", w.tenantA.ID, adminsAgent.ActorID(), builtinSorted("admin"), 0, ""},
		{"disabled agent", w.tenantA.ID, disabledAgent.ActorID(), nil, fault.Forbidden, "agent_disabled"},
		{"agent of a disabled user", w.tenantA.ID, goneAgent.ActorID(), nil, fault.Forbidden, "user_disabled"},
		{"agent whose owner left", w.tenantA.ID, leaversAgent.ActorID(), nil, fault.NotFound, "tenant_not_found"},
		{"missing agent", w.tenantA.ID, "agent:" + missingTenant, nil, fault.NotFound, "agent_not_found"},
		{"disabled user", w.tenantA.ID, disabledUser.ActorID(), nil, fault.Forbidden, "user_disabled"},
		{"a service", w.tenantA.ID, "service:billing", nil, fault.NotFound, "member_not_found"},
		{"not an actor id", w.tenantA.ID, "bogus", nil, fault.NotFound, "member_not_found"},
		{"platform admin who is not a member", w.tenantA.ID, w.root.ActorID(), nil, fault.NotFound, "tenant_not_found"},
		{"member of another tenant", w.tenantA.ID, w.outB.ActorID(), nil, fault.NotFound, "tenant_not_found"},
		{"missing tenant", missingTenant, w.owner.ActorID(), nil, fault.NotFound, "tenant_not_found"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := w.svc.TenantPermissions(w.ctx, c.tenantID, c.actorID)
			want(t, err, c.kind, c.code)
			if c.code == "" && !slices.Equal(got.Sorted(), c.want) {
				t.Fatalf("permissions %v, want %v", got.Sorted(), c.want)
			}
		})
	}
}

func TestTenantPermissionsStopInASuspendedTenant(t *testing.T) {
	w := newWorld(t)
	suspended := identity.TenantSuspended
	if _, err := w.svc.UpdateTenant(w.ctx, w.as(w.root), w.tenantA.ID, identity.TenantPatch{Status: &suspended}); err != nil {
		t.Fatal(err)
	}
	for _, actor := range []string{w.owner.ActorID(), w.member.ActorID(), w.agent.ActorID()} {
		_, err := w.svc.TenantPermissions(w.ctx, w.tenantA.ID, actor)
		wantFault(t, err, fault.Forbidden, "tenant_suspended")
	}
}

// TestTenantPermissionsIgnorePlatformAdminStanding: keys are tenant
// credentials, so a platform admin's keys and agents are bounded by their
// membership, and stop when the tenant is suspended.
func TestTenantPermissionsIgnorePlatformAdminStanding(t *testing.T) {
	w := newWorld(t)
	w.join(w.tenantA.ID, w.root, identity.RoleMember)
	rootsAgent, err := w.svc.CreateAgent(w.ctx, w.as(w.root), w.tenantA.ID, identity.NewAgent{Name: "root's"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := w.svc.TenantPermissions(w.ctx, w.tenantA.ID, w.root.ActorID())
	if err != nil || !slices.Equal(got.Sorted(), builtinSorted("member")) {
		t.Fatalf("platform admin member's permissions %v, %v", got.Sorted(), err)
	}
	suspended := identity.TenantSuspended
	if _, err := w.svc.UpdateTenant(w.ctx, w.as(w.root), w.tenantA.ID, identity.TenantPatch{Status: &suspended}); err != nil {
		t.Fatal(err)
	}
	for _, actor := range []string{w.root.ActorID(), rootsAgent.ActorID()} {
		_, err := w.svc.TenantPermissions(w.ctx, w.tenantA.ID, actor)
		wantFault(t, err, fault.Forbidden, "tenant_suspended")
	}
}

func TestRolePermissionsResolveBuiltinAndCustomRoles(t *testing.T) {
	w := newWorld(t)
	w.role(w.tenantA.ID, "auditor", identity.PermAuditRead, identity.PermUsageRead)
	memberAndAudit := append(builtinSorted("member"), "audit:read", "usage:read")
	slices.Sort(memberAndAudit)
	for _, c := range []struct {
		name     string
		tenantID string
		roles    []string
		want     []string
	}{
		{"no roles", w.tenantA.ID, nil, []string{}},
		{"owner", w.tenantA.ID, []string{"owner"}, builtinSorted("owner")},
		{"admin and member", w.tenantA.ID, []string{"member", "admin"}, builtinSorted("admin")},
		{"all three", w.tenantA.ID, []string{"member", "owner", "admin"}, builtinSorted("owner")},
		{"member and a custom role", w.tenantA.ID, []string{"member", "auditor"}, memberAndAudit},
		{"custom role of another tenant", w.tenantB.ID, []string{"auditor"}, []string{}},
		{"undefined role fails closed", w.tenantA.ID, []string{"ghost"}, []string{}},
		{"undefined role beside member", w.tenantA.ID, []string{"ghost", "member"}, builtinSorted("member")},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := w.svc.RolePermissions(w.ctx, c.tenantID, c.roles)
			if err != nil || !slices.Equal(got, c.want) {
				t.Fatalf("RolePermissions(%v) = %v, %v; want %v", c.roles, got, err, c.want)
			}
		})
	}
	// The precomputed lists agree with resolving each combination.
	builtins := []string{"owner", "admin", "member"}
	for mask := range 8 {
		var roles []string
		for i, r := range builtins {
			if mask&(1<<i) != 0 {
				roles = append(roles, r)
			}
		}
		got, err := w.svc.RolePermissions(w.ctx, w.tenantA.ID, roles)
		if want := identity.ResolvePermissions(roles, nil).Sorted(); err != nil || !slices.Equal(got, want) {
			t.Errorf("RolePermissions(%v) = %v, %v; want %v", roles, got, err, want)
		}
	}
}

func TestBuiltinRolesFormAHierarchy(t *testing.T) {
	owner := identity.ResolvePermissions([]string{"owner"}, nil)
	admin := identity.ResolvePermissions([]string{"admin"}, nil)
	member := identity.ResolvePermissions([]string{"member"}, nil)
	for p := range member {
		if !admin.Has(p) {
			t.Errorf("admin lacks member's %s", p)
		}
	}
	for p := range admin {
		if !owner.Has(p) {
			t.Errorf("owner lacks admin's %s", p)
		}
	}
	if len(member) >= len(admin) || !slices.Equal(owner.Sorted(), identity.PermissionSet(catalogueSet()).Sorted()) {
		t.Errorf("member %v, admin %v, owner %v", member.Sorted(), admin.Sorted(), owner.Sorted())
	}
	if admin.Has(identity.PermOwnersWrite) || !owner.Has(identity.PermOwnersWrite) {
		t.Error("owners:write belongs to owners alone")
	}
	for _, c := range []struct {
		role    string
		builtin bool
	}{{"owner", true}, {"admin", true}, {"member", true}, {"auditor", false}, {"Owner", false}, {"", false}} {
		if identity.IsBuiltinRole(c.role) != c.builtin {
			t.Errorf("IsBuiltinRole(%q) = %v", c.role, !c.builtin)
		}
	}
	if identity.BuiltinPermissions("auditor") != nil {
		t.Error("a custom role name has built-in permissions")
	}
	perms := identity.BuiltinPermissions("member")
	perms[0] = identity.PermOwnersWrite
	if identity.ResolvePermissions([]string{"member"}, nil).Has(identity.PermOwnersWrite) {
		t.Error("BuiltinPermissions shares its slice")
	}
	if !identity.HasOwner([]string{"member", "owner"}) || identity.HasOwner([]string{"admin"}) {
		t.Error("HasOwner")
	}
}

func catalogueSet() map[identity.Permission]struct{} {
	out := map[identity.Permission]struct{}{}
	for _, p := range identity.Catalogue() {
		out[p] = struct{}{}
	}
	return out
}

func TestCatalogueIsSortedKnownAndCopied(t *testing.T) {
	cat := identity.Catalogue()
	if !slices.IsSorted(cat) || len(cat) != 20 {
		t.Fatalf("catalogue %v", cat)
	}
	for _, p := range cat {
		if !identity.KnownPermission(string(p)) {
			t.Errorf("%s is not known", p)
		}
	}
	for _, p := range []string{"root:all", "", "Tenant:read", "tenant:read "} {
		if identity.KnownPermission(p) {
			t.Errorf("%q is known", p)
		}
	}
	cat[0] = "root:all"
	if identity.Catalogue()[0] == "root:all" || identity.KnownPermission("root:all") {
		t.Error("Catalogue shares its slice")
	}
}
