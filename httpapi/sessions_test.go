package httpapi_test

import (
	"net/http"
	"slices"
	"testing"

	"github.com/tollgate/tollgate/ids"
)

func TestOwnSessions(t *testing.T) {
	forEachBackend(t, func(t *testing.T, ts *testServer) {
		w := newWorld(t, ts)
		other := ts.login(w.member.Email, w.tenantA)
		outB := ts.login(w.outB.Email, w.tenantB).str("session_id")
		mine := "/v1/users/me/sessions"

		r := ts.do("GET", mine, w.memberTok, nil)
		expect(t, r, http.StatusOK, "")
		current := map[string]bool{}
		for _, it := range r.items() {
			current[it["id"].(string)] = it["current"].(bool)
			if it["actor_id"] != w.member.ActorID() || it["tenant_id"] != w.tenantA || it["ip"] != "127.0.0.1" ||
				it["device"] == "" || it["created_at"] == "" || it["last_used_at"] == "" || it["ends_at"] == "" {
				t.Fatalf("session %v", it)
			}
		}
		if len(current) != 2 || !current[jwtClaims(t, w.memberTok)["sid"].(string)] || current[other.str("session_id")] {
			t.Fatalf("sessions %s", r.raw)
		}
		if got := listAll(t, ts, w.memberTok, mine, "id"); len(got) != 2 || !slices.IsSorted(got) {
			t.Fatalf("paged %v", got)
		}

		// Bad input, and another person's session: 404, never a leak.
		expect(t, ts.do("GET", mine+"?limit=0", w.memberTok, nil), http.StatusBadRequest, "invalid_limit")
		expect(t, ts.do("DELETE", mine+"/"+outB, w.memberTok, nil), http.StatusNotFound, "session_not_found")
		expect(t, ts.do("DELETE", mine+"/"+ids.New(), w.memberTok, nil), http.StatusNotFound, "session_not_found")
		expect(t, ts.do("DELETE", mine+"/not-an-id", w.memberTok, nil), http.StatusNotFound, "session_not_found")
		expect(t, ts.do("GET", "/v1/auth/me", w.outBTok, nil), http.StatusOK, "")

		// Revoking takes effect at once: the other session's tokens die.
		expect(t, ts.do("DELETE", mine+"/"+other.str("session_id"), w.memberTok, nil), http.StatusNoContent, "")
		expect(t, ts.do("GET", "/v1/auth/me", other.str("access_token"), nil), http.StatusUnauthorized, "token_revoked")
		expect(t, ts.do("POST", "/v1/auth/refresh", "", map[string]any{"refresh_token": other.str("refresh_token")}),
			http.StatusUnauthorized, "invalid_refresh_token")
		if got := listAll(t, ts, w.memberTok, mine, "id"); len(got) != 1 {
			t.Fatalf("after revoking, %v", got)
		}
	})
}

func TestTenantSessions(t *testing.T) {
	forEachBackend(t, func(t *testing.T, ts *testServer) {
		w := newWorld(t, ts)
		base := "/v1/tenants/" + w.tenantA + "/sessions"
		member := ts.login(w.member.Email, w.tenantA)
		outB := ts.login(w.outB.Email, w.tenantB).str("session_id")

		got := listAll(t, ts, w.adminTok, base, "actor_id")
		for _, who := range []string{w.owner.ActorID(), w.admin.ActorID(), w.member.ActorID()} {
			if !slices.Contains(got, who) {
				t.Fatalf("tenant sessions %v lack %s", got, who)
			}
		}
		if slices.Contains(got, w.outB.ActorID()) {
			t.Fatalf("tenant sessions %v hold another tenant's", got)
		}
		only := listAll(t, ts, w.adminTok, base+"?actor="+w.member.ActorID(), "actor_id")
		if len(only) != 2 || only[0] != w.member.ActorID() || only[1] != w.member.ActorID() {
			t.Fatalf("one member's sessions %v", only)
		}

		// Bad input.
		expect(t, ts.do("GET", base+"?actor=member@a.example", w.adminTok, nil), http.StatusBadRequest, "invalid_actor_id")
		expect(t, ts.do("GET", base+"?limit=1000", w.adminTok, nil), http.StatusBadRequest, "invalid_limit")
		// Rights: a member lacks sessions:read and sessions:write.
		expect(t, ts.do("GET", base, w.memberTok, nil), http.StatusForbidden, "permission_denied")
		expect(t, ts.do("DELETE", base+"/"+member.str("session_id"), w.memberTok, nil), http.StatusForbidden, "permission_denied")
		// An admin may not end an owner's session.
		ownerSID := jwtClaims(t, w.ownerTok)["sid"].(string)
		expect(t, ts.do("DELETE", base+"/"+ownerSID, w.adminTok, nil), http.StatusForbidden, "permission_denied")
		// Cross-tenant: 404 whichever way.
		expect(t, ts.do("GET", base, w.outBTok, nil), http.StatusNotFound, "tenant_not_found")
		expect(t, ts.do("DELETE", base+"/"+member.str("session_id"), w.outBTok, nil), http.StatusNotFound, "tenant_not_found")
		expect(t, ts.do("DELETE", base+"/"+outB, w.adminTok, nil), http.StatusNotFound, "session_not_found")
		expect(t, ts.do("DELETE", "/v1/tenants/"+w.tenantB+"/sessions/"+member.str("session_id"), w.outBTok, nil),
			http.StatusNotFound, "session_not_found")

		// The admin ends the member's session: at once.
		expect(t, ts.do("DELETE", base+"/"+member.str("session_id"), w.adminTok, nil), http.StatusNoContent, "")
		expect(t, ts.do("GET", "/v1/auth/me", member.str("access_token"), nil), http.StatusUnauthorized, "token_revoked")
		expect(t, ts.do("GET", "/v1/auth/me", w.memberTok, nil), http.StatusOK, "")
		expect(t, ts.do("GET", "/v1/auth/me", w.outBTok, nil), http.StatusOK, "")
	})
}
