package httpapi_test

import (
	"net/http"
	"testing"
	"time"
)

// nowEvent is ce at the current minute: in this billing period unless the
// month turns during the test, which the checks allow for.
func nowEvent(id, subject string, tokens int) (map[string]any, time.Time) {
	at := time.Now().UTC().Truncate(time.Minute)
	m := ce(id, "", subject, tokens)
	m["time"] = at.Format(time.RFC3339)
	return m, at
}

// periodValue is a summary's value of meter, and whether the summary's
// period holds at.
func periodValue(t *testing.T, r response, meter string, at time.Time) (float64, bool) {
	t.Helper()
	expect(t, r, http.StatusOK, "")
	p := r.body["period"].(map[string]any)
	start, _ := time.Parse(time.RFC3339, p["start"].(string))
	end, _ := time.Parse(time.RFC3339, p["end"].(string))
	for _, m := range r.body["meters"].([]any) {
		mt := m.(map[string]any)
		if mt["meter"] == meter {
			return mt["value"].(float64), !at.Before(start) && at.Before(end)
		}
	}
	t.Fatalf("no meter %s in %s", meter, r.raw)
	return 0, false
}

func TestUsageSummary(t *testing.T) {
	forEachBackend(t, func(t *testing.T, ts *testServer) {
		w := newWorld(t, ts)
		_, writer := createKey(t, ts, w.adminTok, map[string]any{"name": "meter", "scopes": []string{"usage:write"}})
		member, admin := w.member.ActorID(), w.admin.ActorID()
		e1, at := nowEvent("1", member, 10)
		e2, _ := nowEvent("2", admin, 300)
		wantReport(t, postUsage(ts, keyHeader(writer), true, []any{e1, e2}), 2, 0, map[int]string{})
		_, noUsage := createKey(t, ts, w.adminTok, map[string]any{"name": "no usage", "scopes": []string{"tenant:read"}})

		r := ts.do("GET", "/v1/usage/summary", w.adminTok, nil)
		if v, in := periodValue(t, r, "llm_input_tokens", at); in && v != 310 {
			t.Fatalf("tenant's llm_input_tokens = %v, want 310: %s", v, r.raw)
		}
		if len(r.body["meters"].([]any)) != 5 || r.str("tenant_id") != w.tenantA || r.str("as_of") == "" {
			t.Fatalf("summary %s", r.raw)
		}
		for _, c := range []struct {
			name   string
			tok    string
			h      http.Header
			query  string
			status int
			code   string
			want   float64
		}{
			{"member, own usage", w.memberTok, nil, "?subject=" + member, 200, "", 10},
			{"admin, one actor's", w.adminTok, nil, "?tenant_id=" + w.tenantA + "&subject=" + admin, 200, "", 300},
			{"member, the tenant's", w.memberTok, nil, "", 403, "usage_view_denied", 0},
			{"member, another's", w.memberTok, nil, "?subject=" + admin, 403, "usage_view_denied", 0},
			{"a key without usage:read", "", keyHeader(noUsage), "", 403, "usage_view_denied", 0},
			{"a subject that is no actor", w.adminTok, nil, "?subject=tenant:x", 400, "usage_query_invalid", 0},
			{"another tenant's owner", w.outBTok, nil, "?tenant_id=" + w.tenantA, 404, "tenant_not_found", 0},
			{"no credential", "", http.Header{}, "", 401, "missing_credential", 0},
		} {
			t.Run(c.name, func(t *testing.T) {
				var r response
				if c.h != nil {
					r = ts.send("GET", "/v1/usage/summary"+c.query, c.h, nil)
				} else {
					r = ts.do("GET", "/v1/usage/summary"+c.query, c.tok, nil)
				}
				expect(t, r, c.status, c.code)
				if c.status == 200 {
					if v, in := periodValue(t, r, "llm_input_tokens", at); in && v != c.want {
						t.Fatalf("llm_input_tokens = %v, want %v", v, c.want)
					}
				}
			})
		}
		// Tenant B's owner sees its own, empty, period.
		if v, _ := periodValue(t, ts.do("GET", "/v1/usage/summary", w.outBTok, nil), "llm_input_tokens", at); v != 0 {
			t.Fatalf("tenant B's usage = %v", v)
		}
	})
}
