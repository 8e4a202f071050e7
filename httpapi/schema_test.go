package httpapi_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tollgate/tollgate/app"
	"github.com/tollgate/tollgate/config"
	"github.com/tollgate/tollgate/store/sqlite/sqlitetest"
)

const quietExtension = `action SEND_MESSAGE appliesTo {
  principal: [User, Agent, Service],
  resource: [Channel, Tool],
  context: { quiet?: Bool },
};`

// TestSchemaExtension runs docs/policy.md's worked example over HTTP, then
// the schema routes' refusals.
func TestSchemaExtension(t *testing.T) {
	forEachBackend(t, func(t *testing.T, ts *testServer) {
		pw := newPolicyWorld(t, ts)
		w := pw.world
		A, B := w.tenantA, w.tenantB
		base := "/v1/tenants/" + A + "/schema"
		quiet := ask("SEND_MESSAGE", "channel", seedChannel, "context", map[string]any{"quiet": true})

		r := ts.do("GET", base, w.adminTok, nil)
		expect(t, r, http.StatusOK, "")
		if r.num("version") != 0 || r.str("text") != "" || !strings.Contains(r.str("effective"), "entity Channel") {
			t.Fatalf("the schema before any extension: %s", r.raw)
		}
		r = authz(t, ts, w.memberTok, quiet)
		expectDecision(t, r, "deny", "invalid_request")
		if errs := r.strs("errors"); len(errs) != 1 || !strings.Contains(errs[0], `unknown context attribute "quiet"`) {
			t.Fatalf("quiet before the extension: %s", r.raw)
		}

		r = ts.do("PUT", base, w.adminTok, map[string]any{"text": quietExtension, "previous_version": 0})
		expect(t, r, http.StatusOK, "")
		if r.num("version") != 1 || r.str("text") != quietExtension || r.str("created_by") != w.admin.ActorID() {
			t.Fatalf("the first version: %s", r.raw)
		}
		expect(t, ts.do("PUT", "/v1/tenants/"+A+"/policies", w.adminTok, map[string]any{
			"text": `@id("quiet_hours") forbid (principal, action == Action::"SEND_MESSAGE", resource) when { context has quiet && context.quiet };`,
		}), http.StatusOK, "")
		expectDecision(t, authz(t, ts, w.memberTok, quiet), "deny", "quiet_hours")
		expectDecision(t, authz(t, ts, w.memberTok, ask("SEND_MESSAGE", "channel", seedChannel, "context", map[string]any{"quiet": false})), "permit", "channel_member")
		r = authz(t, ts, w.memberTok, ask("SEND_MESSAGE", "channel", seedChannel, "context", map[string]any{"quiet": "yes"}))
		if errs := r.strs("errors"); len(errs) != 1 || errs[0] != "context.quiet: expected Bool" {
			t.Fatalf("a wrong type: %s", r.raw)
		}
		r = authz(t, ts, w.memberTok, ask("SEND_MESSAGE", "channel", seedChannel, "context", map[string]any{"now": "2020-01-01"}))
		expectDecision(t, r, "deny", "invalid_request")

		r = ts.do("GET", base, pw.checker, nil)
		expect(t, r, http.StatusOK, "")
		if r.num("version") != 1 || !strings.Contains(r.str("effective"), "quiet") {
			t.Fatalf("the schema as a checker reads it: %s", r.raw)
		}
		r = ts.do("GET", base+"/versions", w.adminTok, nil)
		expect(t, r, http.StatusOK, "")
		if items := r.items(); len(items) != 1 || items[0]["version"].(float64) != 1 {
			t.Fatalf("versions: %s", r.raw)
		}
		r = ts.do("GET", base+"/versions/1", w.adminTok, nil)
		expect(t, r, http.StatusOK, "")
		if r.str("text") != quietExtension || r.str("effective") != "" {
			t.Fatalf("version 1: %s", r.raw)
		}

		for _, tc := range []struct {
			name, method, path, token string
			body                      any
			status                    int
			code                      string
		}{
			{"a redefinition", "PUT", base, w.adminTok, map[string]any{"text": "entity Channel = {\n  members?: Long,\n};"}, http.StatusBadRequest, "invalid_schema"},
			{"no text", "PUT", base, w.adminTok, map[string]any{}, http.StatusBadRequest, "text_required"},
			{"an unknown field", "PUT", base, w.adminTok, map[string]any{"text": "", "schema": "x"}, http.StatusBadRequest, "unknown_field"},
			{"a stale version", "PUT", base, w.adminTok, map[string]any{"text": quietExtension, "previous_version": 0}, http.StatusConflict, "schema_version_conflict"},
			{"a required attribute the seed channel lacks", "PUT", base, w.adminTok, map[string]any{"text": "entity Channel = { topic: String };"}, http.StatusBadRequest, "schema_in_use"},
			{"a member writes", "PUT", base, w.memberTok, map[string]any{"text": ""}, http.StatusForbidden, "permission_denied"},
			{"a member reads", "GET", base, w.memberTok, nil, http.StatusForbidden, "permission_denied"},
			{"a service without authz scopes", "PUT", base, pw.outsider, map[string]any{"text": ""}, http.StatusForbidden, "scope_required"},
			{"A's admin reads B", "GET", "/v1/tenants/" + B + "/schema", w.adminTok, nil, http.StatusNotFound, "tenant_not_found"},
			{"A's admin writes B", "PUT", "/v1/tenants/" + B + "/schema", w.adminTok, map[string]any{"text": ""}, http.StatusNotFound, "tenant_not_found"},
			{"B's member lists A's versions", "GET", base + "/versions", pw.outMemberTok, nil, http.StatusNotFound, "tenant_not_found"},
			{"B's owner rolls A back", "POST", base + "/versions/1/rollback", w.outBTok, nil, http.StatusNotFound, "tenant_not_found"},
			{"a version that does not exist", "GET", base + "/versions/9", w.adminTok, nil, http.StatusNotFound, "schema_version_not_found"},
			{"a version that is no number", "POST", base + "/versions/x/rollback", w.adminTok, nil, http.StatusNotFound, "schema_version_not_found"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := ts.do(tc.method, tc.path, tc.token, tc.body)
				expect(t, r, tc.status, tc.code)
				if tc.code == "invalid_schema" {
					list, _ := r.body["errors"].([]any)
					first, _ := list[0].(map[string]any)
					if len(list) == 0 || first["line"] != float64(2) || r.str("field") != "text" {
						t.Fatalf("invalid_schema without a positioned error: %s", r.raw)
					}
				}
			})
		}

		// Tenant B knows nothing of A's extension.
		r = authz(t, ts, w.outBTok, ask("READ", "channel", "x", "context", map[string]any{"quiet": true}))
		expectDecision(t, r, "deny", "invalid_request")

		r = ts.do("POST", base+"/versions/1/rollback", w.ownerTok, nil)
		expect(t, r, http.StatusOK, "")
		if r.num("version") != 2 || r.str("text") != quietExtension {
			t.Fatalf("rollback: %s", r.raw)
		}
	})
}

// TestInstallationSchemaExtension gives every tenant an Invoice type from
// policy_schema_extension, on which a tenant builds its own.
func TestInstallationSchemaExtension(t *testing.T) {
	file := filepath.Join(t.TempDir(), "install.cedarschema")
	if err := os.WriteFile(file, []byte(`entity Invoice = { owner: String, amount: Long };
action APPROVE_INVOICE appliesTo { principal: [User], resource: [Invoice] };`), 0o600); err != nil {
		t.Fatal(err)
	}
	forEachBackendWithConfig(t, func(c *config.Config) { c.PolicySchemaExtension = file }, func(t *testing.T, ts *testServer) {
		w := newWorld(t, ts)
		A := w.tenantA
		putResources(t, ts, w.adminTok, A, map[string]any{"type": "Invoice", "id": "inv-1", "attrs": map[string]any{"owner": w.member.ActorID(), "amount": 50}})
		expect(t, ts.do("PUT", "/v1/tenants/"+A+"/policies", w.adminTok, map[string]any{
			"text": `@id("own_invoice") permit (principal, action == Action::"APPROVE_INVOICE", resource) when { resource.owner == principal.actor_id };`,
		}), http.StatusOK, "")
		expectDecision(t, authz(t, ts, w.memberTok, ask("APPROVE_INVOICE", "Invoice", "inv-1")), "permit", "own_invoice")
		// A tenant adds to the installation's type, but cannot redefine it.
		expect(t, ts.do("PUT", "/v1/tenants/"+A+"/schema", w.adminTok, map[string]any{"text": "entity Invoice = { currency?: String };"}), http.StatusOK, "")
		expect(t, ts.do("PUT", "/v1/tenants/"+A+"/schema", w.adminTok, map[string]any{"text": "entity Invoice = { amount: String };"}), http.StatusBadRequest, "invalid_schema")
	})
	t.Run("an invalid file stops the start", func(t *testing.T) {
		bad := filepath.Join(t.TempDir(), "bad.cedarschema")
		if err := os.WriteFile(bad, []byte("entity Channel = { members: Long };"), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg := testConfig(t)
		cfg.PolicySchemaExtension = bad
		if _, err := app.New(context.Background(), cfg, sqlitetest.Open(t), make([]byte, 32), nil); err == nil || !strings.Contains(err.Error(), "bad.cedarschema") {
			t.Fatalf("app.New = %v, want a refusal naming the file", err)
		}
	})
}
