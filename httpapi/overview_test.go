package httpapi_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/tollgate/tollgate/ids"
)

func TestTenantOverview(t *testing.T) {
	forEachBackend(t, func(t *testing.T, ts *testServer) {
		w := newWorld(t, ts)
		base := "/v1/tenants/" + w.tenantA + "/overview"
		createKey(t, ts, w.adminTok, map[string]any{"name": "ci", "scopes": []string{"tenant:read"}})
		createAgent(t, ts, w.adminTok, w.tenantA, "bot")
		ts.app.FlushAudit(context.Background())

		r := ts.do("GET", base, w.adminTok, nil)
		expect(t, r, http.StatusOK, "")
		roles, _ := r.body["members_by_role"].(map[string]any)
		if r.str("tenant_id") != w.tenantA || r.body["members"] != 3.0 || roles["owner"] != 1.0 || roles["admin"] != 1.0 ||
			roles["member"] != 1.0 || r.body["active_sessions"] != 3.0 || r.body["api_keys"] != 1.0 || r.body["agents"] != 1.0 {
			t.Fatalf("overview %s", r.raw)
		}
		usage, _ := r.body["usage"].(map[string]any)
		if usage["tenant_id"] != w.tenantA {
			t.Fatalf("usage %v", r.body["usage"])
		}
		events, _ := r.body["security_events"].([]any)
		if len(events) == 0 || len(events) > 20 {
			t.Fatalf("security events %v", events)
		}
		for _, e := range events {
			if e.(map[string]any)["tenant_id"] != w.tenantA {
				t.Fatalf("an event of another stream: %v", e)
			}
		}

		// A member lacks the read permissions; an API key too, unless its
		// scopes hold them all.
		expect(t, ts.do("GET", base, w.memberTok, nil), http.StatusForbidden, "permission_denied")
		_, narrow := createKey(t, ts, w.adminTok, map[string]any{"name": "narrow", "scopes": []string{"tenant:read", "audit:read"}})
		expect(t, ts.withKey("GET", base, narrow, nil), http.StatusForbidden, "permission_denied")
		_, wide := createKey(t, ts, w.adminTok, map[string]any{"name": "wide",
			"scopes": []string{"tenant:read", "members:read", "sessions:read", "apikeys:read", "agents:read", "audit:read"}})
		expect(t, ts.withKey("GET", base, wide, nil), http.StatusOK, "")
		// Bad input and cross-tenant: 404, never a leak.
		expect(t, ts.do("GET", "/v1/tenants/not-an-id/overview", w.adminTok, nil), http.StatusNotFound, "tenant_not_found")
		expect(t, ts.do("GET", "/v1/tenants/"+ids.New()+"/overview", w.adminTok, nil), http.StatusNotFound, "tenant_not_found")
		expect(t, ts.do("GET", base, w.outBTok, nil), http.StatusNotFound, "tenant_not_found")
		expect(t, ts.withKey("GET", "/v1/tenants/"+w.tenantB+"/overview", wide, nil), http.StatusNotFound, "tenant_not_found")
	})
}
