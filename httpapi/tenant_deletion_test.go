package httpapi_test

import (
	"context"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/tollgate/tollgate/audit"
	"github.com/tollgate/tollgate/config"
	"github.com/tollgate/tollgate/ids"
)

// TestTenantDeletion: a platform admin schedules, reads and cancels a
// tenant's deletion; the tenant is suspended at once; nobody else may, and
// nobody learns about tenants they cannot see.
func TestTenantDeletion(t *testing.T) {
	forEachBackendWithConfig(t, func(c *config.Config) { c.TenantDeletionGrace = time.Hour }, func(t *testing.T, ts *testServer) {
		w := newWorld(t, ts)
		_, root := ts.platformAdmin("root@platform.example")
		base := "/v1/tenants/" + w.tenantA + "/deletion"
		confirm := map[string]any{"confirm": "tenant-a"}
		_, ownerKey := createKey(t, ts, w.ownerTok, map[string]any{"name": "ops", "scopes": []string{"tenant:read", "tenant:write"}})

		// Nobody but a platform admin's session; the same answer for any
		// tenant, so it tells nothing.
		expect(t, ts.do("POST", base, w.ownerTok, confirm), http.StatusForbidden, "platform_admin_required")
		expect(t, ts.withKey("POST", base, ownerKey, confirm), http.StatusForbidden, "platform_admin_required")
		expect(t, ts.do("POST", base, w.outBTok, confirm), http.StatusForbidden, "platform_admin_required")
		expect(t, ts.do("GET", base, w.ownerTok, nil), http.StatusForbidden, "platform_admin_required")
		expect(t, ts.do("DELETE", base, w.ownerTok, nil), http.StatusForbidden, "platform_admin_required")

		// Bad input.
		expect(t, ts.do("POST", base, root, map[string]any{"confirm": "tenant-b"}), http.StatusBadRequest, "deletion_confirm_mismatch")
		expect(t, ts.do("POST", base, root, map[string]any{}), http.StatusBadRequest, "deletion_confirm_mismatch")
		expect(t, ts.do("POST", base, root, map[string]any{"confirm": "tenant-a", "now": true}), http.StatusBadRequest, "unknown_field")
		expect(t, ts.do("POST", "/v1/tenants/not-an-id/deletion", root, confirm), http.StatusNotFound, "tenant_not_found")
		expect(t, ts.do("POST", "/v1/tenants/"+ids.New()+"/deletion", root, confirm), http.StatusNotFound, "tenant_not_found")
		expect(t, ts.do("GET", base, root, nil), http.StatusNotFound, "tenant_deletion_not_found")
		expect(t, ts.do("DELETE", base, root, nil), http.StatusNotFound, "tenant_deletion_not_found")

		r := ts.do("POST", base, root, confirm)
		expect(t, r, http.StatusAccepted, "")
		requested, _ := time.Parse(time.RFC3339Nano, r.str("requested_at"))
		after, _ := time.Parse(time.RFC3339Nano, r.str("delete_after"))
		if r.str("status") != "pending" || r.str("tenant_id") != w.tenantA || !ids.Valid(r.str("id")) || after.Sub(requested) != time.Hour {
			t.Fatalf("schedule answered %s", r.raw)
		}
		id := r.str("id")
		// Suspended at once: every credential of the tenant stops.
		expect(t, ts.do("GET", "/v1/tenants/"+w.tenantA, w.ownerTok, nil), http.StatusForbidden, "tenant_suspended")
		expect(t, ts.withKey("GET", "/v1/tenants/"+w.tenantA, ownerKey, nil), http.StatusForbidden, "tenant_suspended")
		expect(t, ts.do("GET", "/v1/tenants/"+w.tenantB, w.outBTok, nil), http.StatusOK, "")

		expect(t, ts.do("POST", base, root, confirm), http.StatusConflict, "tenant_deletion_pending")
		expect(t, ts.do("PATCH", "/v1/tenants/"+w.tenantA, root, map[string]any{"status": "active"}), http.StatusConflict, "tenant_deletion_pending")
		if r := ts.do("GET", base, root, nil); r.status != http.StatusOK || r.str("id") != id || r.str("status") != "pending" {
			t.Fatalf("get answered %d %s", r.status, r.raw)
		}

		r = ts.do("DELETE", base, root, nil)
		expect(t, r, http.StatusOK, "")
		if r.str("status") != "cancelled" || r.str("cancelled_by") == "" {
			t.Fatalf("cancel answered %s", r.raw)
		}
		expect(t, ts.do("DELETE", base, root, nil), http.StatusNotFound, "tenant_deletion_not_found")
		// Still suspended until reactivated on purpose.
		expect(t, ts.do("GET", "/v1/tenants/"+w.tenantA, w.ownerTok, nil), http.StatusForbidden, "tenant_suspended")
		expect(t, ts.do("PATCH", "/v1/tenants/"+w.tenantA, root, map[string]any{"status": "active"}), http.StatusOK, "")
		expect(t, ts.do("GET", "/v1/tenants/"+w.tenantA, w.ownerTok, nil), http.StatusOK, "")

		// Audited in the platform stream, by the admin.
		events, err := ts.store.ReadAudit(context.Background(), "", 0, 1000)
		if err != nil {
			t.Fatal(err)
		}
		var acts []string
		for _, e := range events {
			if e.TargetID == w.tenantA {
				acts = append(acts, e.Action)
			}
		}
		if !slices.Equal(acts, []string{audit.ActionTenantDeletionScheduled, audit.ActionTenantDeletionCancelled}) {
			t.Fatalf("platform events about the tenant: %v", acts)
		}
	})
}
