package httpapi_test

import (
	"net/http"
	"slices"
	"testing"
)

func TestMembers(t *testing.T) {
	forEachBackend(t, func(t *testing.T, ts *testServer) {
		w := newWorld(t, ts)
		base := "/v1/tenants/" + w.tenantA + "/members"
		newbie := ts.user("newbie@a.example", false)
		byEmail := ts.user("Second.Person@A.example", false)

		added := ts.do("POST", base, w.adminTok, map[string]any{"actor_id": newbie.ActorID(), "roles": []string{"member"}})
		expect(t, added, http.StatusCreated, "")
		// By address, a member is invited (invitations_test.go); by id, added.
		expect(t, ts.do("POST", base, w.adminTok, map[string]any{"email": " second.person@a.EXAMPLE", "roles": []string{"member"}}), http.StatusAccepted, "")
		expect(t, ts.do("POST", base, w.adminTok, map[string]any{"actor_id": byEmail.ActorID(), "roles": []string{"member"}}), http.StatusCreated, "")
		expect(t, ts.do("POST", base, w.adminTok, map[string]any{"actor_id": newbie.ActorID(), "roles": []string{"member"}}), http.StatusConflict, "member_exists")

		// Pagination walks every member exactly once.
		seen := listAll(t, ts, w.memberTok, base, "actor_id")
		if len(seen) != 5 || len(slices.Compact(slices.Sorted(slices.Values(seen)))) != 5 || !slices.Contains(seen, byEmail.ActorID()) {
			t.Fatalf("listed %v", seen)
		}

		m := base + "/" + newbie.ActorID()
		expect(t, ts.do("PATCH", m, w.adminTok, map[string]any{"roles": []string{"admin", "member"}}), http.StatusOK, "")
		// Only owners make owners.
		expect(t, ts.do("PATCH", m, w.adminTok, map[string]any{"roles": []string{"owner"}}), http.StatusForbidden, "permission_denied")
		expect(t, ts.do("PATCH", m, w.ownerTok, map[string]any{"roles": []string{"owner"}}), http.StatusOK, "")

		// The tenant always keeps an owner.
		expect(t, ts.do("PATCH", m, w.ownerTok, map[string]any{"roles": []string{"member"}}), http.StatusOK, "")
		expect(t, ts.do("PATCH", base+"/"+w.owner.ActorID(), w.ownerTok, map[string]any{"roles": []string{"admin"}}), http.StatusConflict, "last_owner")

		// Anyone may leave.
		expect(t, ts.do("DELETE", base+"/"+w.member.ActorID(), w.memberTok, nil), http.StatusNoContent, "")
		expect(t, ts.do("GET", "/v1/tenants/"+w.tenantA, w.memberTok, nil), http.StatusNotFound, "tenant_not_found")
		expect(t, ts.do("DELETE", m, w.adminTok, nil), http.StatusNoContent, "")
		expect(t, ts.do("GET", m, w.adminTok, nil), http.StatusNotFound, "member_not_found")
	})
}

func TestMemberBadInput(t *testing.T) {
	forEachBackend(t, func(t *testing.T, ts *testServer) {
		w := newWorld(t, ts)
		base := "/v1/tenants/" + w.tenantA + "/members"
		cases := []struct {
			name   string
			body   any
			status int
			code   string
		}{
			{"no roles", map[string]any{"actor_id": w.outB.ActorID()}, 400, "invalid_roles"},
			{"unknown user", map[string]any{"actor_id": "user:01jz0000000000000000000000", "roles": []string{"member"}}, 404, "user_not_found"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				expect(t, ts.do("POST", base, w.adminTok, c.body), c.status, c.code)
			})
		}
		list := ts.do("GET", base, w.adminTok, nil)
		if n := len(list.body["items"].([]any)); n != 3 {
			t.Fatalf("bad input changed members: %s", list.raw)
		}
	})
}

func TestCustomRoles(t *testing.T) {
	forEachBackend(t, func(t *testing.T, ts *testServer) {
		w := newWorld(t, ts)
		roles := "/v1/tenants/" + w.tenantA + "/roles"
		put := ts.do("PUT", roles+"/auditor", w.adminTok, map[string]any{"description": "reads the audit log", "permissions": []string{"audit:read", "usage:read", "audit:read"}})
		expect(t, put, http.StatusOK, "")
		if perms := put.body["permissions"].([]any); len(perms) != 2 {
			t.Fatalf("permissions not de-duplicated: %s", put.raw)
		}
		expect(t, ts.do("GET", roles+"/auditor", w.memberTok, nil), http.StatusOK, "")
		owner := ts.do("GET", roles+"/owner", w.memberTok, nil)
		expect(t, owner, http.StatusOK, "")
		if !owner.body["builtin"].(bool) {
			t.Fatalf("owner role: %s", owner.raw)
		}
		list := ts.do("GET", roles, w.memberTok, nil)
		if n := len(list.body["items"].([]any)); n != 1 {
			t.Fatalf("roles: %s", list.raw)
		}

		// Assign it; the member's next session carries its permissions.
		expect(t, ts.do("PATCH", "/v1/tenants/"+w.tenantA+"/members/"+w.member.ActorID(), w.adminTok,
			map[string]any{"roles": []string{"member", "auditor"}}), http.StatusOK, "")
		tok := ts.login(w.member.Email, w.tenantA).str("access_token")
		me := ts.do("GET", "/v1/auth/me", tok, nil)
		if perms := me.body["permissions"].([]any); !slices.Contains(perms, any("audit:read")) {
			t.Fatalf("custom role permissions missing: %s", me.raw)
		}

		expect(t, ts.do("DELETE", roles+"/auditor", w.adminTok, nil), http.StatusConflict, "role_in_use")
		expect(t, ts.do("PUT", roles+"/admin", w.ownerTok, map[string]any{"permissions": []string{}}), http.StatusBadRequest, "builtin_role")
		expect(t, ts.do("PUT", roles+"/Bad%20Name", w.ownerTok, map[string]any{"permissions": []string{}}), http.StatusBadRequest, "invalid_role_name")

		// Back to plain member; now the role can go.
		expect(t, ts.do("PATCH", "/v1/tenants/"+w.tenantA+"/members/"+w.member.ActorID(), w.adminTok,
			map[string]any{"roles": []string{"member"}}), http.StatusOK, "")
		expect(t, ts.do("DELETE", roles+"/auditor", w.adminTok, nil), http.StatusNoContent, "")
		expect(t, ts.do("GET", roles+"/auditor", w.adminTok, nil), http.StatusNotFound, "role_not_found")
	})
}

// TestSuspendedTenantRefusesItsMembers checks the tenant_suspended
// problem at the edge. That a refresh re-reads membership and tenant
// status is session.TestRefreshRereadsTheAccount.
func TestSuspendedTenantRefusesItsMembers(t *testing.T) {
	forEachBackend(t, func(t *testing.T, ts *testServer) {
		w := newWorld(t, ts)
		root := ts.user("root@platform.example", true)
		rootTok := ts.login(root.Email, "").str("access_token")
		expect(t, ts.do("PATCH", "/v1/tenants/"+w.tenantA, rootTok, map[string]string{"status": "suspended"}), http.StatusOK, "")
		// Members of a suspended tenant can no longer use it.
		expect(t, ts.do("GET", "/v1/tenants/"+w.tenantA+"/members", w.adminTok, nil), http.StatusForbidden, "tenant_suspended")
		expect(t, ts.do("PATCH", "/v1/tenants/"+w.tenantA, w.ownerTok, map[string]string{"name": "still mine"}), http.StatusForbidden, "tenant_suspended")
		// Platform admins still manage it.
		expect(t, ts.do("GET", "/v1/tenants/"+w.tenantA+"/members", rootTok, nil), http.StatusOK, "")
	})
}
