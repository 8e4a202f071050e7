package identity_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tollgate/tollgate/cursor"
	"github.com/tollgate/tollgate/event"
	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/identity"
)

func TestPutRoleCreatesThenReplacesACustomRole(t *testing.T) {
	w := newWorld(t)
	created := w.clock.Now()
	r, err := w.svc.PutRole(w.ctx, w.as(w.admin), w.tenantA.ID, "auditor", identity.RoleInput{
		Description: "reads the audit log", Permissions: []string{"usage:read", "audit:read", "audit:read"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(r.Permissions, []string{"audit:read", "usage:read"}) || r.TenantID != w.tenantA.ID || !r.CreatedAt.Equal(created) {
		t.Fatalf("created %+v", r)
	}
	wantEvents(t, w.events.Take(), evIn(event.KindActorChanged, "role:"+w.tenantA.ID+"/auditor", w.tenantA.ID))

	replaced := w.clock.Advance(time.Hour)
	r, err = w.svc.PutRole(w.ctx, w.as(w.owner), w.tenantA.ID, "auditor", identity.RoleInput{Permissions: []string{"audit:read"}})
	if err != nil {
		t.Fatal(err)
	}
	if !r.CreatedAt.Equal(created) || !r.UpdatedAt.Equal(replaced) || r.Description != "" || !slices.Equal(r.Permissions, []string{"audit:read"}) {
		t.Fatalf("replaced %+v", r)
	}
	wantEvents(t, w.events.Take(), evIn(event.KindActorChanged, "role:"+w.tenantA.ID+"/auditor", w.tenantA.ID))
	got, err := w.svc.GetRole(w.ctx, w.as(w.member), w.tenantA.ID, "auditor")
	if err != nil || !got.CreatedAt.Equal(created) || !slices.Equal(got.Permissions, []string{"audit:read"}) {
		t.Fatalf("GetRole = %+v, %v", got, err)
	}
}

func TestPutRoleRejectsBadInput(t *testing.T) {
	w := newWorld(t)
	tooMany := make([]string, len(identity.Catalogue())+1)
	for i := range tooMany {
		tooMany[i] = "tenant:read"
	}
	for _, c := range []struct {
		name, role string
		in         identity.RoleInput
		field      string
		code       string
	}{
		{"built-in owner", "owner", identity.RoleInput{}, "name", "builtin_role"},
		{"built-in admin", "admin", identity.RoleInput{}, "name", "builtin_role"},
		{"upper case and space", "Bad Name", identity.RoleInput{}, "name", "invalid_role_name"},
		{"leading digit", "1role", identity.RoleInput{}, "name", "invalid_role_name"},
		{"empty name", "", identity.RoleInput{}, "name", "invalid_role_name"},
		{"long name", strings.Repeat("r", identity.MaxRoleNameLen+1), identity.RoleInput{}, "name", "invalid_role_name"},
		{"long description", "ok", identity.RoleInput{Description: strings.Repeat("d", identity.MaxRoleDescLen+1)}, "description", "invalid_description"},
		{"invalid UTF-8 description", "ok", identity.RoleInput{Description: "\xff"}, "description", "invalid_description"},
		{"unknown permission", "ok", identity.RoleInput{Permissions: []string{"tenant:read", "root:all"}}, "permissions[1]", "unknown_permission"},
		{"too many permissions", "ok", identity.RoleInput{Permissions: tooMany}, "permissions", "invalid_permissions"},
		{"owners:write", "crown", identity.RoleInput{Permissions: []string{"tenant:read", "owners:write"}}, "permissions", "reserved_permission"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := w.svc.PutRole(w.ctx, w.as(w.owner), w.tenantA.ID, c.role, c.in)
			wantInvalid(t, err, c.field, c.code)
		})
	}
	if roles, err := w.svc.ListRoles(w.ctx, w.as(w.owner), w.tenantA.ID); err != nil || len(roles) != 0 {
		t.Fatalf("bad input created roles: %v, %v", roles, err)
	}
	wantEvents(t, w.events.Take())
}

func TestPutRoleCannotGrantWhatTheCallerLacks(t *testing.T) {
	w := newWorld(t)
	w.role(w.tenantA.ID, "rolemgr", identity.PermRolesRead, identity.PermRolesWrite, identity.PermTenantRead)
	mgr := w.memberWith("mgr@a.example", "rolemgr")
	for _, c := range []struct {
		name   string
		caller identity.Caller
		perms  []string
		kind   fault.Kind
		code   string
	}{
		{"member lacks roles:write", w.as(w.member), []string{"tenant:read"}, fault.Forbidden, "permission_denied"},
		{"role manager grants what it holds", w.as(mgr), []string{"tenant:read", "roles:read"}, 0, ""},
		{"role manager grants audit:read", w.as(mgr), []string{"tenant:read", "audit:read"}, fault.Forbidden, "permission_denied"},
		{"admin grants what it holds", w.as(w.admin), []string{"audit:read", "policies:write"}, 0, ""},
		{"admin's key grants beyond its scopes", bounded(w.admin, w.tenantA.ID, identity.PermRolesWrite), []string{"audit:read"}, fault.Forbidden, "permission_denied"},
		{"admin's key grants within its scopes", bounded(w.admin, w.tenantA.ID, identity.PermRolesWrite, identity.PermAuditRead), []string{"audit:read"}, 0, ""},
		{"platform admin grants anything", w.as(w.root), []string{"webhooks:write"}, 0, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			name := "r-" + slug(c.name)
			_, err := w.svc.PutRole(w.ctx, c.caller, w.tenantA.ID, name, identity.RoleInput{Permissions: c.perms})
			want(t, err, c.kind, c.code)
			_, err = w.st.GetRole(w.ctx, w.tenantA.ID, name)
			if (err == nil) != (c.code == "") {
				t.Fatalf("stored role: %v", err)
			}
		})
	}
}

// TestPutRoleCannotStripRightsFromThoseWhoOutrankTheCaller: a member may not
// change the roles of someone whose roles grant what the caller lacks
// (checkOutranks); redefining the custom role that person holds is the
// same change by another route.
func TestPutRoleCannotStripRightsFromThoseWhoOutrankTheCaller(t *testing.T) {
	w := newWorld(t)
	w.role(w.tenantA.ID, "rolemgr", identity.PermRolesRead, identity.PermRolesWrite, identity.PermTenantRead)
	w.role(w.tenantA.ID, "ops", identity.PermPoliciesRead, identity.PermPoliciesWrite, identity.PermTenantRead)
	mgr := w.memberWith("mgr@a.example", "rolemgr")
	ops := w.memberWith("ops@a.example", "ops")

	_, err := w.svc.UpdateMemberRoles(w.ctx, w.as(mgr), w.tenantA.ID, ops.ActorID(), []string{"rolemgr"})
	wantFault(t, err, fault.Forbidden, "permission_denied") // members:write is lacking anyway
	_, err = w.svc.PutRole(w.ctx, w.as(mgr), w.tenantA.ID, "ops", identity.RoleInput{Permissions: []string{"tenant:read"}})
	wantFault(t, err, fault.Forbidden, "permission_denied")
	got, err := w.svc.TenantPermissions(w.ctx, w.tenantA.ID, ops.ActorID())
	if err != nil || !got.Has(identity.PermPoliciesWrite) {
		t.Fatalf("ops holder's permissions now %v, %v", got.Sorted(), err)
	}
}

// TestPutRoleNeedsEveryPermissionOfTheOldAndTheNewDefinition: replacing a
// role is granting its new permissions and taking away its old ones, so the
// caller must hold both sets — within its scopes, for a key.
func TestPutRoleNeedsEveryPermissionOfTheOldAndTheNewDefinition(t *testing.T) {
	w := newWorld(t)
	w.role(w.tenantA.ID, "rolemgr", identity.PermRolesRead, identity.PermRolesWrite, identity.PermTenantRead, identity.PermUsageRead)
	mgr := w.memberWith("mgr@a.example", "rolemgr")
	for _, c := range []struct {
		name   string
		caller identity.Caller
		old    []identity.Permission // nil: the role does not exist yet
		perms  []string
		code   string
	}{
		{"new role within the caller's rights", w.as(mgr), nil, []string{"usage:read"}, ""},
		{"widening a role the caller covers", w.as(mgr), []identity.Permission{identity.PermTenantRead}, []string{"tenant:read", "usage:read"}, ""},
		{"narrowing a role the caller covers", w.as(mgr), []identity.Permission{identity.PermTenantRead, identity.PermUsageRead}, []string{"tenant:read"}, ""},
		{"emptying a role that grants audit:read", w.as(mgr), []identity.Permission{identity.PermAuditRead}, []string{}, "permission_denied"},
		{"keeping a role that grants audit:read as it is", w.as(mgr), []identity.Permission{identity.PermAuditRead, identity.PermTenantRead}, []string{"audit:read", "tenant:read"}, "permission_denied"},
		{"an admin empties it", w.as(w.admin), []identity.Permission{identity.PermAuditRead}, []string{}, ""},
		{"an admin's key without audit:read empties it", bounded(w.admin, w.tenantA.ID, identity.PermRolesWrite), []identity.Permission{identity.PermAuditRead}, []string{}, "permission_denied"},
		{"an admin's key with audit:read empties it", bounded(w.admin, w.tenantA.ID, identity.PermRolesWrite, identity.PermAuditRead), []identity.Permission{identity.PermAuditRead}, []string{}, ""},
		{"a platform admin empties it", w.as(w.root), []identity.Permission{identity.PermAuditRead}, []string{}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			name := "r-" + slug(c.name)
			if c.old != nil {
				w.role(w.tenantA.ID, name, c.old...)
			}
			before, _ := w.st.GetRole(w.ctx, w.tenantA.ID, name)
			w.events.Take()
			got, err := w.svc.PutRole(w.ctx, c.caller, w.tenantA.ID, name, identity.RoleInput{Permissions: c.perms})
			want(t, err, fault.Forbidden, c.code)
			stored, _ := w.st.GetRole(w.ctx, w.tenantA.ID, name)
			if c.code != "" {
				if !slices.Equal(stored.Permissions, before.Permissions) {
					t.Fatalf("a refused change stored %v, was %v", stored.Permissions, before.Permissions)
				}
				wantEvents(t, w.events.Take())
				return
			}
			if !slices.Equal(got.Permissions, c.perms) || !slices.Equal(stored.Permissions, c.perms) {
				t.Fatalf("role now %v (stored %v), want %v", got.Permissions, stored.Permissions, c.perms)
			}
		})
	}
}

func TestGetRoleReadsBuiltinAndCustomRolesWithRolesRead(t *testing.T) {
	w := newWorld(t)
	w.role(w.tenantA.ID, "auditor", identity.PermAuditRead, identity.PermTenantRead)
	w.role(w.tenantA.ID, "blind", identity.PermTenantRead)
	blind := w.memberWith("blind@a.example", "blind")
	for _, c := range []struct {
		name   string
		caller identity.Caller
		role   string
		perms  []string
		kind   fault.Kind
		code   string
	}{
		{"owner role", w.as(w.member), "owner", builtinSorted("owner"), 0, ""},
		{"admin role", w.as(w.member), "admin", builtinSorted("admin"), 0, ""},
		{"member role", w.as(w.member), "member", builtinSorted("member"), 0, ""},
		{"custom role", w.as(w.member), "auditor", []string{"audit:read", "tenant:read"}, 0, ""},
		{"platform admin", w.as(w.root), "auditor", []string{"audit:read", "tenant:read"}, 0, ""},
		{"missing role", w.as(w.member), "ghost", nil, fault.NotFound, "role_not_found"},
		{"without roles:read", w.as(blind), "owner", nil, fault.Forbidden, "permission_denied"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r, err := w.svc.GetRole(w.ctx, c.caller, w.tenantA.ID, c.role)
			want(t, err, c.kind, c.code)
			if c.code == "" && (r.Name != c.role || r.TenantID != w.tenantA.ID || !slices.Equal(r.Permissions, c.perms)) {
				t.Fatalf("GetRole = %+v", r)
			}
		})
	}
	if r, _ := w.svc.GetRole(w.ctx, w.as(w.member), w.tenantA.ID, "owner"); r.Description != "built-in role" {
		t.Fatalf("built-in role description %q", r.Description)
	}
}

func TestListRolesListsCustomRolesByName(t *testing.T) {
	w := newWorld(t)
	w.role(w.tenantA.ID, "zeta", identity.PermTenantRead)
	w.role(w.tenantA.ID, "alpha", identity.PermAuditRead)
	w.role(w.tenantB.ID, "b-only", identity.PermTenantRead)
	blind := w.memberWith("blind@a.example", "zeta")
	roles, err := w.svc.ListRoles(w.ctx, w.as(w.member), w.tenantA.ID)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range roles {
		names = append(names, r.Name)
	}
	if !slices.Equal(names, []string{"alpha", "zeta"}) {
		t.Fatalf("roles %v", names)
	}
	_, err = w.svc.ListRoles(w.ctx, w.as(blind), w.tenantA.ID)
	wantFault(t, err, fault.Forbidden, "permission_denied")
}

func TestDeleteRoleRefusesRolesInUse(t *testing.T) {
	w := newWorld(t)
	w.role(w.tenantA.ID, "auditor", identity.PermAuditRead, identity.PermTenantRead)
	if _, err := w.svc.UpdateMemberRoles(w.ctx, w.as(w.admin), w.tenantA.ID, w.member.ActorID(), []string{"member", "auditor"}); err != nil {
		t.Fatal(err)
	}
	w.events.Take()
	for _, c := range []struct {
		name   string
		caller identity.Caller
		role   string
		kind   fault.Kind
		code   string
	}{
		{"in use", w.as(w.admin), "auditor", fault.Conflict, "role_in_use"},
		{"built-in", w.as(w.owner), "member", fault.Invalid, "builtin_role"},
		{"missing", w.as(w.admin), "ghost", fault.NotFound, "role_not_found"},
		{"without roles:write", w.as(w.member), "auditor", fault.Forbidden, "permission_denied"},
		{"key without roles:write", bounded(w.admin, w.tenantA.ID, identity.PermRolesRead), "auditor", fault.Forbidden, "permission_denied"},
	} {
		t.Run(c.name, func(t *testing.T) {
			want(t, w.svc.DeleteRole(w.ctx, c.caller, w.tenantA.ID, c.role), c.kind, c.code)
		})
	}
	if _, err := w.st.GetRole(w.ctx, w.tenantA.ID, "auditor"); err != nil {
		t.Fatalf("refused deletes removed the role: %v", err)
	}

	if _, err := w.svc.UpdateMemberRoles(w.ctx, w.as(w.admin), w.tenantA.ID, w.member.ActorID(), []string{"member"}); err != nil {
		t.Fatal(err)
	}
	if err := w.svc.DeleteRole(w.ctx, w.as(w.admin), w.tenantA.ID, "auditor"); err != nil {
		t.Fatal(err)
	}
	_, err := w.svc.GetRole(w.ctx, w.as(w.admin), w.tenantA.ID, "auditor")
	wantFault(t, err, fault.NotFound, "role_not_found")
	_, err = w.svc.AddMember(w.ctx, w.as(w.admin), w.tenantA.ID, identity.NewMember{ActorID: w.stranger.ActorID(), Roles: []string{"auditor"}})
	wantInvalid(t, err, "roles", "unknown_role")
}

// TestCustomRolesTakeEffectAtOnce checks that the rules re-read custom role
// definitions: granting, widening and narrowing a role changes what its
// holders may do on their next call.
func TestCustomRolesTakeEffectAtOnce(t *testing.T) {
	w := newWorld(t)
	w.role(w.tenantA.ID, "hr", identity.PermMembersRead, identity.PermTenantRead)
	hr := w.memberWith("hr@a.example", "hr")
	add := func() error {
		_, err := w.svc.AddMember(w.ctx, w.as(hr), w.tenantA.ID, identity.NewMember{ActorID: w.stranger.ActorID(), Roles: []string{"hr"}})
		return err
	}
	wantFault(t, add(), fault.Forbidden, "permission_denied")
	w.role(w.tenantA.ID, "hr", identity.PermMembersRead, identity.PermMembersWrite, identity.PermTenantRead)
	if err := add(); err != nil {
		t.Fatalf("after widening hr: %v", err)
	}
	w.role(w.tenantA.ID, "hr", identity.PermTenantRead)
	_, err := w.svc.ListMembers(w.ctx, w.as(hr), w.tenantA.ID, cursor.Page{})
	wantFault(t, err, fault.Forbidden, "permission_denied")
}
