package httpapi_test

import (
	"net/http"
	"testing"
)

func TestQuotasAPI(t *testing.T) {
	forEachBackend(t, func(t *testing.T, ts *testServer) {
		w := newWorld(t, ts)
		_, rootTok := ts.platformAdmin("root@platform.example")
		path := "/v1/tenants/" + w.tenantA + "/quotas"
		quota := func(meter, actor string, limit any) map[string]any {
			q := map[string]any{"meter": meter, "limit": limit}
			if actor != "" {
				q["actor"] = actor
			}
			return q
		}
		body := func(qs ...any) map[string]any { return map[string]any{"quotas": qs} }

		r := ts.do("GET", path, w.adminTok, nil)
		expect(t, r, http.StatusOK, "")
		if qs, _ := r.body["quotas"].([]any); len(qs) != 0 || r.body["updated_at"] != nil {
			t.Fatalf("quotas before any: %s", r.raw)
		}
		for _, c := range []struct {
			name   string
			method string
			tok    string
			body   any
			status int
			code   string
		}{
			{"platform admin sets", "PUT", rootTok, body(quota("tool_runs", "", 100), quota("tool_runs", w.member.ActorID(), 5)), 200, ""},
			{"tenant admin reads", "GET", w.adminTok, nil, 200, ""},
			{"owner may not set", "PUT", w.ownerTok, body(), 403, "platform_admin_required"},
			{"member may not read", "GET", w.memberTok, nil, 403, "usage_quotas_admin_required"},
			{"unknown meter", "PUT", rootTok, body(quota("nope", "", 1)), 400, "usage_meter_unknown"},
			{"bad limit", "PUT", rootTok, body(quota("tool_runs", "", 0.5)), 400, "usage_quota_invalid"},
			{"bad actor", "PUT", rootTok, body(quota("tool_runs", "bob", 1)), 400, "usage_quota_invalid"},
			{"no quotas field", "PUT", rootTok, map[string]any{}, 400, "usage_quota_invalid"},
			{"another tenant's owner reads", "GET", w.outBTok, nil, 404, "tenant_not_found"},
			{"another tenant's owner sets", "PUT", w.outBTok, body(), 404, "tenant_not_found"},
		} {
			t.Run(c.name, func(t *testing.T) {
				r := ts.do(c.method, path, c.tok, c.body)
				expect(t, r, c.status, c.code)
				if c.status == 200 {
					if qs, _ := r.body["quotas"].([]any); len(qs) != 2 || r.str("updated_at") == "" {
						t.Fatalf("quotas %s", r.raw)
					}
				}
			})
		}
	})
}

// TestQuotaDeniesToolsOverIt: a quota at its limit denies EXECUTE_TOOL
// with quota_exceeded on the next decision (the change drops the cache);
// under it the tool runs, and other tenants are unaffected.
func TestQuotaDeniesToolsOverIt(t *testing.T) {
	forEachBackend(t, func(t *testing.T, ts *testServer) {
		w := newWorld(t, ts)
		_, rootTok := ts.platformAdmin("root@platform.example")
		expect(t, ts.do("PUT", resourcePath(w.tenantA, "tool", "search"), w.ownerTok, map[string]any{"attrs": map[string]any{"roles": []string{"member"}}}), http.StatusOK, "")
		_, writer := createKey(t, ts, w.adminTok, map[string]any{"name": "meter", "scopes": []string{"usage:write"}})
		e, _ := nowEvent("1", w.member.ActorID(), 300)
		wantReport(t, postUsage(ts, keyHeader(writer), true, []any{e}), 1, 0, map[int]string{})

		run := ask("EXECUTE_TOOL", "tool", "search")
		expectDecision(t, authz(t, ts, w.memberTok, run), "permit", "tool_role")
		put := func(limit int) {
			r := ts.do("PUT", "/v1/tenants/"+w.tenantA+"/quotas", rootTok, map[string]any{"quotas": []any{map[string]any{"meter": "llm_input_tokens", "limit": limit}}})
			expect(t, r, http.StatusOK, "")
		}
		put(1000)
		expectDecision(t, authz(t, ts, w.memberTok, run), "permit", "tool_role")
		put(300)
		expectDecision(t, authz(t, ts, w.memberTok, run), "deny", "quota_exceeded")
		// The summary shows the quota against the total.
		sum := ts.do("GET", "/v1/usage/summary", w.adminTok, nil)
		expect(t, sum, http.StatusOK, "")
		for _, m := range sum.body["meters"].([]any) {
			mt := m.(map[string]any)
			if want := mt["meter"] == "llm_input_tokens"; (mt["limit"] == 300.0) != want || (!want && mt["limit"] != nil) {
				t.Fatalf("summary limits: %s", sum.raw)
			}
		}
		// Reading is not bound by quotas.
		expectDecision(t, authz(t, ts, w.adminTok, ask("READ", "tool", "search")), "permit", "tool_admin")
	})
}
