package httpapi_test

import (
	"bytes"
	"context"
	"net/http"
	"testing"
)

func TestPersonalExport(t *testing.T) {
	forEachBackend(t, func(t *testing.T, ts *testServer) {
		w := newWorld(t, ts)
		keyID, key := createKey(t, ts, w.memberTok, map[string]any{"name": "mine", "scopes": []string{"tenant:read"}})
		agentID := createAgent(t, ts, w.adminTok, w.tenantA, "admin's helper")
		ts.app.FlushAudit(context.Background())

		r := ts.do("GET", "/v1/users/me/export", w.memberTok, nil)
		expect(t, r, http.StatusOK, "")
		user, _ := r.body["user"].(map[string]any)
		if user["email"] != w.member.Email || user["actor_id"] != w.member.ActorID() || r.header.Get("Content-Disposition") == "" {
			t.Fatalf("export %s", r.raw)
		}
		// No secret, no hash, anywhere.
		for _, leak := range []string{key, "$argon2id$", `"hash"`, `"password`, `"key":`} {
			if bytes.Contains(r.raw, []byte(leak)) {
				t.Fatalf("the export holds %q: %s", leak, r.raw)
			}
		}
		list := func(r response, name, field string) []string {
			items, _ := r.body[name].([]any)
			out := []string{}
			for _, it := range items {
				out = append(out, it.(map[string]any)[field].(string))
			}
			return out
		}
		if got := list(r, "memberships", "id"); len(got) != 1 || got[0] != w.tenantA {
			t.Fatalf("memberships %v", got)
		}
		if got := list(r, "api_keys", "id"); len(got) != 1 || got[0] != keyID {
			t.Fatalf("api keys %v", got)
		}
		if got := list(r, "agents", "id"); len(got) != 0 {
			t.Fatalf("another person's agents %v", got)
		}
		if got := list(r, "sessions", "actor_id"); len(got) != 1 || got[0] != w.member.ActorID() {
			t.Fatalf("sessions %v", got)
		}
		actions := list(r, "audit_events", "action")
		for _, a := range list(r, "audit_events", "actor_id") {
			if a != w.member.ActorID() {
				t.Fatalf("an event of %s in %v", a, actions)
			}
		}
		if len(actions) == 0 {
			t.Fatal("no audit events of the member's")
		}

		// The admin's has their agent; the other tenant's owner sees
		// nothing of tenant A.
		admin := ts.do("GET", "/v1/users/me/export", w.adminTok, nil)
		expect(t, admin, http.StatusOK, "")
		if got := list(admin, "agents", "id"); len(got) != 1 || got[0] != agentID {
			t.Fatalf("admin's agents %v", got)
		}
		outB := ts.do("GET", "/v1/users/me/export", w.outBTok, nil)
		expect(t, outB, http.StatusOK, "")
		if bytes.Contains(outB.raw, []byte(w.tenantA)) || bytes.Contains(outB.raw, []byte(w.member.ActorID())) {
			t.Fatalf("tenant B's owner sees tenant A: %s", outB.raw)
		}

		// Only the person's own session: not a key, not without a credential.
		expect(t, ts.withKey("GET", "/v1/users/me/export", key, nil), http.StatusForbidden, "session_required")
		expect(t, ts.do("GET", "/v1/users/me/export", "", nil), http.StatusUnauthorized, "")
	})
}
