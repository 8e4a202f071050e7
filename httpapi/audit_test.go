package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tollgate/tollgate/audit"
	"github.com/tollgate/tollgate/store/sqlite/sqlitetest"
)

// auditQuery asks GET /v1/audit with params as token.
func auditQuery(ts *testServer, token string, params ...string) response {
	v := url.Values{}
	for i := 0; i+1 < len(params); i += 2 {
		v.Set(params[i], params[i+1])
	}
	return ts.do("GET", "/v1/audit?"+v.Encode(), token, nil)
}

func actions(r response) []string {
	var out []string
	for _, it := range r.items() {
		out = append(out, it["action"].(string))
	}
	return out
}

func TestAuditQuery(t *testing.T) {
	forEachBackend(t, func(t *testing.T, ts *testServer) {
		ctx := context.Background()
		w := newWorld(t, ts)
		_, rootTok := ts.platformAdmin("root@example.com")
		// A deny of the PDP, and a failed sign-in (platform stream).
		authz(t, ts, w.memberTok, ask("DELETE", "channel", "c404"))
		expect(t, ts.send("POST", "/v1/auth/login", nil, map[string]string{"email": w.member.Email, "password": "wrong password!"}), http.StatusUnauthorized, "invalid_credentials")
		ts.app.FlushAudit(ctx)

		cases := []struct {
			name   string
			token  string
			params []string
			status int
			code   string
			check  func(t *testing.T, r response)
		}{
			{"an admin reads their tenant, newest first", w.adminTok, []string{"tenant_id", w.tenantA}, 200, "", func(t *testing.T, r response) {
				got := actions(r)
				if len(got) < 4 || got[0] != audit.ActionDecision {
					t.Fatalf("actions %v", got)
				}
				for _, it := range r.items() {
					if it["tenant_id"] != w.tenantA {
						t.Fatalf("an event of %v", it["tenant_id"])
					}
				}
			}},
			{"filters", w.adminTok, []string{"tenant_id", w.tenantA, "action", audit.ActionDecision, "outcome", "denied", "actor", w.member.ActorID()}, 200, "", func(t *testing.T, r response) {
				items := r.items()
				if len(items) != 1 || items[0]["target_id"] != "c404" || items[0]["detail"].(map[string]any)["action"] != "DELETE" {
					t.Fatalf("items %s", r.raw)
				}
			}},
			{"pages with a cursor", w.adminTok, []string{"tenant_id", w.tenantA, "limit", "2"}, 200, "", func(t *testing.T, r response) {
				next := r.str("next_cursor")
				if len(r.items()) != 2 || next == "" {
					t.Fatalf("page %s", r.raw)
				}
				r2 := auditQuery(ts, w.adminTok, "tenant_id", w.tenantA, "limit", "2", "cursor", next)
				expect(t, r2, 200, "")
				if r2.items()[0]["seq"].(float64) >= r.items()[1]["seq"].(float64) {
					t.Fatalf("second page %s after %s", r2.raw, r.raw)
				}
			}},
			{"a member without audit:read is refused", w.memberTok, []string{"tenant_id", w.tenantA}, 403, "audit_read_denied", nil},
			{"another tenant's stream is not found", w.outBTok, []string{"tenant_id", w.tenantA}, 404, "audit_stream_not_found", nil},
			{"a member never reads the platform stream", w.ownerTok, []string{"tenant_id", "platform"}, 403, "audit_read_denied", nil},
			{"a platform admin reads any tenant", rootTok, []string{"tenant_id", w.tenantA}, 200, "", nil},
			{"a platform admin reads the platform stream", rootTok, []string{"action", audit.ActionSessionLogin, "outcome", "failure"}, 200, "", func(t *testing.T, r response) {
				items := r.items()
				if len(items) == 0 || items[0]["reason"] != "bad_password" || items[0]["target_id"] != w.member.ActorID() {
					t.Fatalf("items %s", r.raw)
				}
			}},
			{"a limit out of bounds", w.adminTok, []string{"tenant_id", w.tenantA, "limit", "501"}, 400, "audit_query_invalid", nil},
			{"a bad cursor", w.adminTok, []string{"tenant_id", w.tenantA, "cursor", "x"}, 400, "audit_query_invalid", nil},
			{"a bad time", w.adminTok, []string{"tenant_id", w.tenantA, "from", "yesterday"}, 400, "audit_query_invalid", nil},
			{"to before from", w.adminTok, []string{"tenant_id", w.tenantA, "from", "2025-03-02T00:00:00Z", "to", "2025-03-01T00:00:00Z"}, 400, "audit_query_invalid", nil},
			{"an unknown outcome", w.adminTok, []string{"tenant_id", w.tenantA, "outcome", "maybe"}, 400, "audit_query_invalid", nil},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				r := auditQuery(ts, c.token, c.params...)
				expect(t, r, c.status, c.code)
				if c.check != nil {
					c.check(t, r)
				}
			})
		}
	})
}

func TestAuditExport(t *testing.T) {
	forEachBackend(t, func(t *testing.T, ts *testServer) {
		ctx := context.Background()
		w := newWorld(t, ts)
		authz(t, ts, w.memberTok, ask("DELETE", "channel", "c1"))
		ts.app.FlushAudit(ctx)

		r := ts.do("GET", "/v1/audit/export?tenant_id="+w.tenantA, w.adminTok, nil)
		expect(t, r, 200, "")
		if ct := r.header.Get("Content-Type"); ct != "application/x-ndjson" {
			t.Fatalf("content type %q", ct)
		}
		lines := bytes.Split(bytes.TrimSpace(r.raw), []byte("\n"))
		if len(lines) < 4 {
			t.Fatalf("%d lines: %s", len(lines), r.raw)
		}
		var last map[string]any
		if err := json.Unmarshal(lines[len(lines)-1], &last); err != nil {
			t.Fatal(err)
		}
		if last["class_uid"] != 6003.0 || last["status_id"] != 2.0 {
			t.Fatalf("last line %s", lines[len(lines)-1])
		}
		p := filepath.Join(t.TempDir(), "export.ndjson")
		if err := os.WriteFile(p, r.raw, 0o600); err != nil {
			t.Fatal(err)
		}
		rep, err := audit.VerifyExport(ctx, p, nil)
		if err != nil || rep.Break != nil || rep.Events != int64(len(lines)) {
			t.Fatalf("verify: %v %v", err, rep)
		}

		for _, c := range []struct {
			name, token, query string
			status             int
			code               string
		}{
			{"another tenant", w.outBTok, "tenant_id=" + w.tenantA, 404, "audit_stream_not_found"},
			{"without audit:read", w.memberTok, "tenant_id=" + w.tenantA, 403, "audit_read_denied"},
			{"the platform stream, not an admin", w.adminTok, "tenant_id=platform", 403, "audit_read_denied"},
			{"a bad range", w.adminTok, "tenant_id=" + w.tenantA + "&from=2025-01-01T00:00:00Z&to=2027-01-01T00:00:00Z", 400, "audit_query_invalid"},
		} {
			t.Run(c.name, func(t *testing.T) {
				expect(t, ts.do("GET", "/v1/audit/export?"+c.query, c.token, nil), c.status, c.code)
			})
		}
	})
}

func TestAuditKeysPublished(t *testing.T) {
	ts := newTestServer(t, sqlitetest.Open(t))
	r := ts.do("GET", "/.well-known/audit-keys.json", "", nil)
	expect(t, r, 200, "")
	if !strings.Contains(string(r.raw), `"EdDSA"`) || r.header.Get("Content-Type") != "application/jwk-set+json" {
		t.Fatalf("%s %s", r.header, r.raw)
	}
}
