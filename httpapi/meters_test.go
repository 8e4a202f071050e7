package httpapi_test

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

func ocrEvent(id string, pages int) map[string]any {
	return map[string]any{
		"specversion": "1.0", "id": id, "source": "//ocr", "type": "usage.ocr", "subject": "agent:ocr",
		"time": usageTime.Add(time.Minute).Format(time.RFC3339), "data": map[string]any{"pages": pages, "lang": "en"},
	}
}

func TestTenantMeters(t *testing.T) {
	forEachBackend(t, func(t *testing.T, ts *testServer) {
		w := newWorld(t, ts)
		path := "/v1/tenants/" + w.tenantA + "/meters"
		pages := map[string]any{"name": "pages", "event_type": "usage.ocr", "aggregation": "SUM", "value_path": "pages", "group_by": []string{"lang"}}

		// None at first; the shipped meters are listed apart.
		r := ts.do("GET", path, w.memberTok, nil)
		expect(t, r, 200, "")
		if r.body["version"] != float64(0) || len(r.body["meters"].([]any)) != 0 || len(r.body["shipped"].([]any)) != 5 {
			t.Fatalf("GET %s", r.raw)
		}
		expect(t, ts.do("PUT", path, w.adminTok, map[string]any{"meters": []any{pages}, "version": 0}), 200, "")

		// Events of the type count from then on.
		_, writer := createKey(t, ts, w.adminTok, map[string]any{"name": "ocr", "scopes": []string{"usage:write"}})
		wantReport(t, postUsage(ts, keyHeader(writer), true, []any{ocrEvent("1", 3), ocrEvent("2", 4)}), 2, 0, map[int]string{})
		if got := sumRows(t, usageQuery(ts, bearerHeader(w.adminTok), "meter", "pages", "filter[lang]", "en")); got != 7 {
			t.Fatalf("pages = %v, want 7", got)
		}
		r = ts.do("GET", path, w.adminTok, nil)
		if r.body["version"] != float64(1) || !strings.Contains(string(r.raw), `"name":"pages"`) {
			t.Fatalf("GET after PUT %s", r.raw)
		}

		for _, c := range []struct {
			name   string
			tok    string
			body   any
			status int
			code   string
		}{
			{"a stale version", w.adminTok, map[string]any{"meters": []any{pages}, "version": 0}, 409, "usage_meters_changed"},
			{"a shipped name", w.adminTok, map[string]any{"meters": []any{map[string]any{"name": "tool_runs", "event_type": "usage.x", "aggregation": "COUNT"}}}, 400, "usage_meter_invalid"},
			{"an unknown aggregation", w.adminTok, map[string]any{"meters": []any{map[string]any{"name": "x", "event_type": "usage.x", "aggregation": "AVG", "value_path": "v"}}}, 400, "usage_meter_invalid"},
			{"a bad value path", w.adminTok, map[string]any{"meters": []any{map[string]any{"name": "x", "event_type": "usage.x", "aggregation": "SUM", "value_path": "a..b"}}}, 400, "usage_meter_invalid"},
			{"a meter of voids", w.adminTok, map[string]any{"meters": []any{map[string]any{"name": "x", "event_type": "usage.void", "aggregation": "COUNT"}}}, 400, "usage_meter_invalid"},
			{"the same name twice", w.adminTok, map[string]any{"meters": []any{pages, pages}}, 400, "usage_meter_invalid"},
			{"too many", w.adminTok, map[string]any{"meters": manyMeters(33)}, 400, "usage_meter_invalid"},
			{"no meters", w.adminTok, map[string]any{}, 400, "usage_meter_invalid"},
			{"a member", w.memberTok, map[string]any{"meters": []any{}}, 403, "permission_denied"},
			{"another tenant's owner", w.outBTok, map[string]any{"meters": []any{}}, 404, "tenant_not_found"},
		} {
			t.Run(c.name, func(t *testing.T) {
				expect(t, ts.do("PUT", path, c.tok, c.body), c.status, c.code)
			})
		}
		expect(t, ts.do("GET", path, w.outBTok, nil), 404, "tenant_not_found")
		expect(t, ts.do("GET", "/v1/tenants/"+w.tenantB+"/meters", w.adminTok, nil), 404, "tenant_not_found")
		// A key without tenant:read does not read them.
		_, narrow := createKey(t, ts, w.adminTok, map[string]any{"name": "narrow", "scopes": []string{"usage:write"}})
		expect(t, ts.send("GET", path, http.Header{"X-Api-Key": {narrow}}, nil), 403, "permission_denied")
	})
}

func manyMeters(n int) []any {
	out := make([]any, n)
	for i := range out {
		out[i] = map[string]any{"name": "m" + strings.Repeat("x", i), "event_type": "usage.x", "aggregation": "COUNT"}
	}
	return out
}
