package httpapi_test

import (
	"fmt"
	"net/http"
	"testing"
)

func TestTenantLifecycle(t *testing.T) {
	forEachBackend(t, func(t *testing.T, ts *testServer) {
		w := newWorld(t, ts)
		created := ts.do("POST", "/v1/tenants", w.memberTok, map[string]string{"slug": "member-side-project", "name": "Side project"})
		expect(t, created, http.StatusCreated, "")
		id := created.str("id")
		if created.header.Get("Location") != "/v1/tenants/"+id || created.body["roles"].([]any)[0] != "owner" {
			t.Fatalf("create: %v %s", created.header, created.raw)
		}
		expect(t, ts.do("POST", "/v1/tenants", w.memberTok, map[string]string{"slug": "member-side-project"}), http.StatusConflict, "tenant_slug_taken")

		list := ts.do("GET", "/v1/tenants", w.memberTok, nil)
		expect(t, list, http.StatusOK, "")
		if n := len(list.body["items"].([]any)); n != 2 {
			t.Fatalf("member sees %d tenants, want 2: %s", n, list.raw)
		}

		got := ts.do("GET", "/v1/tenants/"+id, w.memberTok, nil)
		expect(t, got, http.StatusOK, "")
		patched := ts.do("PATCH", "/v1/tenants/"+id, w.memberTok, map[string]string{"name": "Renamed"})
		expect(t, patched, http.StatusOK, "")
		if patched.str("name") != "Renamed" || patched.str("slug") != "member-side-project" {
			t.Fatalf("patch: %s", patched.raw)
		}
		// Only a platform admin may suspend a tenant.
		expect(t, ts.do("PATCH", "/v1/tenants/"+id, w.memberTok, map[string]string{"status": "suspended"}), http.StatusForbidden, "platform_admin_required")
		// A plain member of A may read but not rename it.
		expect(t, ts.do("GET", "/v1/tenants/"+w.tenantA, w.memberTok, nil), http.StatusOK, "")
		expect(t, ts.do("PATCH", "/v1/tenants/"+w.tenantA, w.memberTok, map[string]string{"name": "Mine now"}), http.StatusForbidden, "permission_denied")
		expect(t, ts.do("PATCH", "/v1/tenants/"+w.tenantA, w.adminTok, map[string]string{"name": "Team A"}), http.StatusOK, "")
	})
}

func TestPlatformAdmin(t *testing.T) {
	forEachBackend(t, func(t *testing.T, ts *testServer) {
		w := newWorld(t, ts)
		root := ts.user("root@platform.example", true)
		tok := ts.login(root.Email, "").str("access_token")
		all := ts.do("GET", "/v1/tenants?all=true", tok, nil)
		expect(t, all, http.StatusOK, "")
		if n := len(all.body["items"].([]any)); n != 2 {
			t.Fatalf("platform admin sees %d tenants: %s", n, all.raw)
		}
		expect(t, ts.do("GET", "/v1/tenants?all=true", w.ownerTok, nil), http.StatusForbidden, "platform_admin_required")
		suspended := ts.do("PATCH", "/v1/tenants/"+w.tenantB, tok, map[string]string{"status": "suspended"})
		expect(t, suspended, http.StatusOK, "")
		if suspended.str("status") != "suspended" {
			t.Fatalf("suspend: %s", suspended.raw)
		}
		// A suspended tenant cannot be signed in to.
		r := ts.do("POST", "/v1/auth/login", "", map[string]string{"email": w.outB.Email, "password": testPassword, "tenant": w.tenantB})
		expect(t, r, http.StatusForbidden, "tenant_suspended")
		expect(t, ts.do("PATCH", "/v1/tenants/"+w.tenantB, tok, map[string]string{"status": "deleted"}), http.StatusBadRequest, "invalid_status")
	})
}

func TestTenantBadInput(t *testing.T) {
	forEachBackend(t, func(t *testing.T, ts *testServer) {
		w := newWorld(t, ts)
		cases := []struct {
			name   string
			body   string
			status int
			code   string
		}{
			{"short slug", `{"slug": "ab"}`, 400, "invalid_slug"},
			{"wrong type", `{"slug": ["x"]}`, 400, "invalid_type"},
			{"unknown field", `{"slug": "fine-slug", "owner": "me"}`, 400, "unknown_field"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				expect(t, ts.do("POST", "/v1/tenants", w.memberTok, c.body), c.status, c.code)
			})
		}
		list := ts.do("GET", "/v1/tenants", w.memberTok, nil)
		if n := len(list.body["items"].([]any)); n != 1 {
			t.Fatalf("bad input created tenants: %s", list.raw)
		}
	})
}

// TestCrossTenant checks that a caller learns nothing about a tenant they do
// not belong to: every tenant-scoped route answers 404 for tenant B's id,
// exactly as for an id that does not exist, and B is left unchanged.
func TestCrossTenant(t *testing.T) {
	forEachBackend(t, func(t *testing.T, ts *testServer) {
		w := newWorld(t, ts)
		const missing = "01jz0000000000000000000000"
		routes := []struct {
			method, path string
			body         any
		}{
			{"GET", "/v1/tenants/%s", nil},
			{"PATCH", "/v1/tenants/%s", map[string]string{"name": "pwned"}},
			{"GET", "/v1/tenants/%s/members", nil},
			{"POST", "/v1/tenants/%s/members", map[string]any{"actor_id": w.owner.ActorID(), "roles": []string{"owner"}}},
			{"GET", "/v1/tenants/%s/members/" + w.outB.ActorID(), nil},
			{"PATCH", "/v1/tenants/%s/members/" + w.outB.ActorID(), map[string]any{"roles": []string{"member"}}},
			{"DELETE", "/v1/tenants/%s/members/" + w.outB.ActorID(), nil},
			{"GET", "/v1/tenants/%s/roles", nil},
			{"GET", "/v1/tenants/%s/roles/admin", nil},
			{"PUT", "/v1/tenants/%s/roles/spy", map[string]any{"permissions": []string{"tenant:read"}}},
			{"DELETE", "/v1/tenants/%s/roles/spy", nil},
		}
		for _, rt := range routes {
			for _, tok := range []struct{ name, token string }{{"owner of A", w.ownerTok}, {"member of A", w.memberTok}} {
				t.Run(rt.method+" "+rt.path+" as "+tok.name, func(t *testing.T) {
					foreign := ts.do(rt.method, fmt.Sprintf(rt.path, w.tenantB), tok.token, rt.body)
					absent := ts.do(rt.method, fmt.Sprintf(rt.path, missing), tok.token, rt.body)
					expect(t, foreign, http.StatusNotFound, "tenant_not_found")
					expect(t, absent, http.StatusNotFound, "tenant_not_found")
					if foreign.str("detail") != absent.str("detail") {
						t.Fatalf("foreign and missing tenants differ: %s vs %s", foreign.raw, absent.raw)
					}
				})
			}
		}
		b := ts.do("GET", "/v1/tenants/"+w.tenantB, w.outBTok, nil)
		if b.str("name") != "B" {
			t.Fatalf("tenant B changed: %s", b.raw)
		}
		members := ts.do("GET", "/v1/tenants/"+w.tenantB+"/members", w.outBTok, nil)
		if n := len(members.body["items"].([]any)); n != 1 {
			t.Fatalf("tenant B members changed: %s", members.raw)
		}
	})
}

// TestPlatformAdminWhoIsAMember checks that membership does not shrink a
// platform admin's rights: they keep managing the tenant, suspended or not.
func TestPlatformAdminWhoIsAMember(t *testing.T) {
	forEachBackend(t, func(t *testing.T, ts *testServer) {
		w := newWorld(t, ts)
		root := ts.user("root@platform.example", true)
		expect(t, ts.do("POST", "/v1/tenants/"+w.tenantA+"/members", w.ownerTok,
			map[string]any{"actor_id": root.ActorID(), "roles": []string{"member"}}), http.StatusCreated, "")
		tok := ts.login(root.Email, w.tenantA).str("access_token")
		expect(t, ts.do("PATCH", "/v1/tenants/"+w.tenantA, tok, map[string]string{"status": "suspended"}), http.StatusOK, "")
		expect(t, ts.do("PATCH", "/v1/tenants/"+w.tenantA, tok, map[string]string{"status": "active", "name": "Back"}), http.StatusOK, "")
		expect(t, ts.do("GET", "/v1/tenants/"+w.tenantA+"/members", w.memberTok, nil), http.StatusOK, "")
	})
}
