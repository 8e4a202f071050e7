package identity_test

import (
	"slices"
	"testing"

	"github.com/tollgate/tollgate/cursor"
	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/identity"
)

func TestActorContextCallerBoundsEveryCredentialButASession(t *testing.T) {
	perms := []string{"tenant:read"}
	for _, c := range []struct {
		name string
		ac   identity.ActorContext
		want identity.Caller
	}{
		{"session", identity.ActorContext{ActorID: "user:u1", TenantID: "t1", Credential: identity.CredentialSession, Permissions: perms, Scopes: []string{"x"}},
			identity.Caller{ActorID: "user:u1"}},
		{"human's API key", identity.ActorContext{ActorID: "user:u1", TenantID: "t1", Credential: identity.CredentialAPIKey, Permissions: perms, Scopes: []string{"tenant:read", "members:write"}},
			identity.Caller{ActorID: "user:u1", Bounded: true, TenantID: "t1", Scopes: perms}},
		{"agent's API key", identity.ActorContext{ActorID: "agent:a1", TenantID: "t1", Credential: identity.CredentialAPIKey, Permissions: perms},
			identity.Caller{ActorID: "agent:a1", Bounded: true, TenantID: "t1", Scopes: perms}},
		{"delegated token acts for the human", identity.ActorContext{ActorID: "agent:a1", OnBehalfOf: "user:u1", TenantID: "t1", Credential: identity.CredentialDelegation, Permissions: perms},
			identity.Caller{ActorID: "user:u1", Bounded: true, TenantID: "t1", Scopes: perms}},
		{"service token", identity.ActorContext{ActorID: "service:s1", TenantID: "t1", Credential: identity.CredentialClientCredentials, Permissions: nil},
			identity.Caller{ActorID: "service:s1", Bounded: true, TenantID: "t1"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := c.ac.Caller()
			if got.ActorID != c.want.ActorID || got.Bounded != c.want.Bounded || got.TenantID != c.want.TenantID || !slices.Equal(got.Scopes, c.want.Scopes) {
				t.Fatalf("Caller() = %+v, want %+v", got, c.want)
			}
		})
	}
}

// TestBoundedCallersHoldAtMostTheirScopesInTheirTenantOnly: a key or
// delegated token holds the intersection of its scopes with its holder's
// rights, in its own tenant, and never a platform admin's rights.
func TestBoundedCallersHoldAtMostTheirScopesInTheirTenantOnly(t *testing.T) {
	w := newWorld(t)
	both := w.memberWith("both@example.com", "admin")
	w.join(w.tenantB.ID, both, identity.RoleAdmin)
	w.join(w.tenantA.ID, w.root, identity.RoleMember)
	name := "renamed"
	rename := func(c identity.Caller, tenantID string) error {
		_, err := w.svc.UpdateTenant(w.ctx, c, tenantID, identity.TenantPatch{Name: &name})
		return err
	}
	getTenant := func(c identity.Caller, tenantID string) error {
		_, err := w.svc.GetTenant(w.ctx, c, tenantID)
		return err
	}
	listMembers := func(c identity.Caller, tenantID string) error {
		_, err := w.svc.ListMembers(w.ctx, c, tenantID, cursor.Page{})
		return err
	}
	readKey := bounded(both, w.tenantA.ID, identity.PermTenantRead, identity.PermMembersRead)
	allScopes := identity.Catalogue()
	for _, c := range []struct {
		name     string
		caller   identity.Caller
		do       func(identity.Caller, string) error
		tenantID string
		kind     fault.Kind
		code     string
	}{
		{"reads within its scopes", readKey, getTenant, w.tenantA.ID, 0, ""},
		{"lists members within its scopes", readKey, listMembers, w.tenantA.ID, 0, ""},
		{"writes beyond its scopes", readKey, rename, w.tenantA.ID, fault.Forbidden, "permission_denied"},
		{"acts in another tenant of its holder", readKey, getTenant, w.tenantB.ID, fault.NotFound, "tenant_not_found"},
		{"has no tenant", bounded(both, "", identity.PermTenantRead), getTenant, w.tenantA.ID, fault.NotFound, "tenant_not_found"},
		{"scopes beyond its holder's rights", bounded(w.member, w.tenantA.ID, identity.PermTenantRead, identity.PermTenantWrite), rename, w.tenantA.ID, fault.Forbidden, "permission_denied"},
		{"platform admin's key where root is no member", bounded(w.root, w.tenantB.ID, allScopes...), getTenant, w.tenantB.ID, fault.NotFound, "tenant_not_found"},
		{"platform admin's key holds only root's membership", bounded(w.root, w.tenantA.ID, allScopes...), rename, w.tenantA.ID, fault.Forbidden, "permission_denied"},
		{"platform admin's key reads as a member", bounded(w.root, w.tenantA.ID, allScopes...), listMembers, w.tenantA.ID, 0, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			want(t, c.do(c.caller, c.tenantID), c.kind, c.code)
		})
	}

	rootKey := bounded(w.root, w.tenantA.ID, allScopes...)
	if w.svc.IsPlatformAdmin(w.ctx, rootKey) {
		t.Error("a platform admin's key is a platform admin")
	}
	_, err := w.svc.ListAllTenants(w.ctx, rootKey, cursor.Page{})
	wantFault(t, err, fault.Forbidden, "platform_admin_required")
	_, err = w.svc.SetUserStatus(w.ctx, rootKey, w.member.ID, identity.UserDisabled)
	wantFault(t, err, fault.Forbidden, "platform_admin_required")

	suspended := identity.TenantSuspended
	if _, err := w.svc.UpdateTenant(w.ctx, w.as(w.root), w.tenantA.ID, identity.TenantPatch{Status: &suspended}); err != nil {
		t.Fatal(err)
	}
	wantFault(t, listMembers(rootKey, w.tenantA.ID), fault.Forbidden, "tenant_suspended")
	if err := listMembers(w.as(w.root), w.tenantA.ID); err != nil {
		t.Fatalf("platform admin's session in a suspended tenant: %v", err)
	}
}

// TestBoundedCallersCannotEscalateThroughMembers: the escalation guard
// compares roles with the bounded rights, not the holder's.
func TestBoundedCallersCannotEscalateThroughMembers(t *testing.T) {
	w := newWorld(t)
	narrow := bounded(w.admin, w.tenantA.ID, identity.PermTenantRead, identity.PermMembersRead, identity.PermMembersWrite)
	wide := bounded(w.admin, w.tenantA.ID, identity.PermTenantRead, identity.PermMembersRead, identity.PermMembersWrite,
		identity.PermRolesRead, identity.PermAgentsRead)

	_, err := w.svc.AddMember(w.ctx, narrow, w.tenantA.ID, identity.NewMember{ActorID: w.stranger.ActorID(), Roles: []string{"member"}})
	wantFault(t, err, fault.Forbidden, "permission_denied")
	_, err = w.svc.UpdateMemberRoles(w.ctx, narrow, w.tenantA.ID, w.member.ActorID(), []string{"member"})
	wantFault(t, err, fault.Forbidden, "permission_denied")
	_, err = w.svc.AddMember(w.ctx, wide, w.tenantA.ID, identity.NewMember{ActorID: w.stranger.ActorID(), Roles: []string{"admin"}})
	wantFault(t, err, fault.Forbidden, "permission_denied")
	wantFault(t, w.svc.RemoveMember(w.ctx, wide, w.tenantA.ID, w.owner.ActorID()), fault.Forbidden, "permission_denied")

	if _, err := w.svc.AddMember(w.ctx, wide, w.tenantA.ID, identity.NewMember{ActorID: w.stranger.ActorID(), Roles: []string{"member"}}); err != nil {
		t.Fatal(err)
	}
	if err := w.svc.RemoveMember(w.ctx, wide, w.tenantA.ID, w.stranger.ActorID()); err != nil {
		t.Fatal(err)
	}
}

// TestBoundedCallersLeaveATenantOnlyWithMembersWrite: removing a membership
// is a write; a key or delegated token must not do it with read scopes, and
// leaving is the person's own act, so even with members:write it needs
// their session.
func TestBoundedCallersLeaveATenantOnlyWithMembersWrite(t *testing.T) {
	delegated := func(w *world, u identity.User, scopes ...string) identity.Caller {
		return identity.ActorContext{
			ActorID: w.agent.ActorID(), ActorType: identity.ActorAgent, TenantID: w.tenantA.ID,
			Credential: identity.CredentialDelegation, OnBehalfOf: u.ActorID(), Permissions: scopes,
		}.Caller()
	}
	for _, c := range []struct {
		name   string
		leaver func(w *world) identity.User
		caller func(w *world) identity.Caller
		code   string
	}{
		{"a read-only key", func(w *world) identity.User { return w.member },
			func(w *world) identity.Caller { return bounded(w.member, w.tenantA.ID, identity.PermTenantRead) }, "permission_denied"},
		{"a read-only delegated token", func(w *world) identity.User { return w.member },
			func(w *world) identity.Caller { return delegated(w, w.member, "tenant:read") }, "permission_denied"},
		{"an admin's key with members:write", func(w *world) identity.User { return w.admin },
			func(w *world) identity.Caller {
				return bounded(w.admin, w.tenantA.ID, identity.PermTenantRead, identity.PermMembersWrite)
			}, "session_required"},
		{"an admin's delegated token with members:write", func(w *world) identity.User { return w.admin },
			func(w *world) identity.Caller { return delegated(w, w.admin, "members:write") }, "session_required"},
		{"the member's session", func(w *world) identity.User { return w.member },
			func(w *world) identity.Caller { return w.as(w.member) }, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := newWorld(t)
			leaver := c.leaver(w)
			want(t, w.svc.RemoveMember(w.ctx, c.caller(w), w.tenantA.ID, leaver.ActorID()), fault.Forbidden, c.code)
			if stayed := slices.Contains(w.memberIDs(w.tenantA.ID), leaver.ActorID()); stayed != (c.code != "") {
				t.Fatalf("member still there: %v, after answer %q", stayed, c.code)
			}
		})
	}
}
