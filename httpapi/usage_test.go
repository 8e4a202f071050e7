package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// usageTime is a whole hour within the allowed skew of the test's clock.
var usageTime = time.Now().UTC().Truncate(time.Hour).Add(-time.Hour)

// ce is a usage.llm event of tenant (omitted when ""), subject and tokens.
func ce(id, tenant, subject string, tokens int) map[string]any {
	m := map[string]any{
		"specversion": "1.0", "id": id, "source": "//agents", "type": "usage.llm", "subject": subject,
		"time": usageTime.Add(time.Minute).Format(time.RFC3339), "data": map[string]any{"model": "gpt", "input_tokens": tokens},
	}
	if tenant != "" {
		m["tenant"] = tenant
	}
	return m
}

// postUsage sends events as one event or a batch with the credential in h.
func postUsage(ts *testServer, h http.Header, batch bool, body any) response {
	ts.t.Helper()
	h = h.Clone()
	if batch {
		h.Set("Content-Type", "application/cloudevents-batch+json")
	} else {
		h.Set("Content-Type", "application/cloudevents+json")
	}
	return ts.send("POST", "/v1/usage/events", h, body)
}

func keyHeader(key string) http.Header    { return http.Header{"X-Api-Key": {key}} }
func bearerHeader(tok string) http.Header { return http.Header{"Authorization": {"Bearer " + tok}} }

func wantReport(t *testing.T, r response, accepted, duplicates int, rejected map[int]string) {
	t.Helper()
	expect(t, r, http.StatusAccepted, "")
	var got struct {
		Accepted, Duplicates int
		Rejected             []struct {
			Index int
			Code  string
		}
	}
	if err := json.Unmarshal(r.raw, &got); err != nil {
		t.Fatal(err)
	}
	codes := map[int]string{}
	for _, rj := range got.Rejected {
		codes[rj.Index] = rj.Code
	}
	if got.Accepted != accepted || got.Duplicates != duplicates || fmt.Sprint(codes) != fmt.Sprint(rejected) {
		t.Fatalf("report %s; want %d accepted, %d duplicates, rejected %v", r.raw, accepted, duplicates, rejected)
	}
}

// usageQuery asks GET /v1/usage with params as the credential in h.
func usageQuery(ts *testServer, h http.Header, params ...string) response {
	ts.t.Helper()
	v := url.Values{"meter": {"llm_input_tokens"}, "from": {usageTime.Format(time.RFC3339)}, "to": {usageTime.Add(time.Hour).Format(time.RFC3339)}}
	for i := 0; i+1 < len(params); i += 2 {
		v.Set(params[i], params[i+1])
	}
	return ts.send("GET", "/v1/usage?"+v.Encode(), h, nil)
}

// sumRows adds the values of a query's rows.
func sumRows(t *testing.T, r response) float64 {
	t.Helper()
	expect(t, r, http.StatusOK, "")
	rows, _ := r.body["data"].([]any)
	sum := 0.0
	for _, row := range rows {
		sum += row.(map[string]any)["value"].(float64)
	}
	return sum
}

func TestUsageReport(t *testing.T) {
	forEachBackend(t, func(t *testing.T, ts *testServer) {
		w := newWorld(t, ts)
		_, writer := createKey(t, ts, w.adminTok, map[string]any{"name": "meter", "scopes": []string{"usage:write"}})
		_, reader := createKey(t, ts, w.adminTok, map[string]any{"name": "reader", "scopes": []string{"tenant:read", "usage:read"}})
		key := keyHeader(writer)
		member := w.member.ActorID()

		// One event, without the tenant attribute: the key's.
		wantReport(t, postUsage(ts, key, false, ce("e1", "", member, 10)), 1, 0, map[int]string{})
		// The same again, and within a batch with a new one and a copy.
		wantReport(t, postUsage(ts, key, true, []any{ce("e1", "", member, 10), ce("e2", w.tenantA, member, 5), ce("e2", "", member, 5)}), 1, 2, map[int]string{})
		// A batch with bad events: the rest count.
		future := ce("e4", "", member, 1)
		future["time"] = time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
		bad := ce("e5", "", member, 1)
		bad["data"] = map[string]any{"model": "gpt", "input_tokens": -1}
		wantReport(t, postUsage(ts, key, true, []any{ce("e3", "", member, 100), future, bad, "not an event", ce("e6", w.tenantB, member, 1000)}), 1, 0,
			map[int]string{1: "usage_event_in_future", 2: "usage_event_invalid", 3: "usage_event_invalid", 4: "usage_tenant_not_allowed"})
		if got := sumRows(t, usageQuery(ts, keyHeader(reader))); got != 115 {
			t.Fatalf("tenant A's llm_input_tokens = %v, want 115", got)
		}
		// Tenant B saw nothing of the event aimed at it.
		if got := sumRows(t, usageQuery(ts, bearerHeader(w.outBTok))); got != 0 {
			t.Fatalf("tenant B's usage = %v, want 0", got)
		}

		// A service reports for the tenants it serves, naming each.
		root := func() string { _, tok := ts.platformAdmin("root@usage.example"); return tok }()
		r := ts.do("POST", "/v1/services", root, map[string]any{"name": "meter", "scopes": []string{"usage:write"}, "tenants": []string{w.tenantA}})
		expect(t, r, http.StatusCreated, "")
		svc := bearerHeader(serviceToken(t, ts, r.str("client_id"), r.str("client_secret")))
		wantReport(t, postUsage(ts, svc, true, []any{ce("s1", w.tenantA, "service:x", 1), ce("s2", w.tenantB, "service:x", 1), ce("s3", "", "service:x", 1)}), 1, 0,
			map[int]string{1: "usage_tenant_not_allowed", 2: "usage_event_invalid"})

		for _, c := range []struct {
			name        string
			h           http.Header
			contentType string
			body        string
			status      int
			code        string
		}{
			{"plain JSON", key, "application/json", `{}`, 415, "unsupported_media_type"},
			{"no content type", key, "", `{}`, 415, "unsupported_media_type"},
			{"batch not an array", key, "application/cloudevents-batch+json", `{"id":"x"}`, 400, "usage_batch_invalid"},
			{"empty batch", key, "application/cloudevents-batch+json", `[]`, 400, "usage_batch_invalid"},
			{"broken batch", key, "application/cloudevents-batch+json", `[{"id":`, 400, "usage_batch_invalid"},
			{"too many", key, "application/cloudevents-batch+json", "[" + strings.TrimSuffix(strings.Repeat(`{},`, 1001), ",") + "]", 400, "usage_batch_invalid"},
			{"a session", bearerHeader(w.adminTok), "application/cloudevents+json", `{}`, 403, "usage_writer_required"},
			{"a key without usage:write", keyHeader(reader), "application/cloudevents+json", `{}`, 403, "permission_denied"},
			{"no credential", http.Header{}, "application/cloudevents+json", `{}`, 401, "missing_credential"},
		} {
			t.Run(c.name, func(t *testing.T) {
				h := c.h.Clone()
				if c.contentType != "" {
					h.Set("Content-Type", c.contentType)
				} else {
					h.Set("Content-Type", "")
				}
				expect(t, ts.send("POST", "/v1/usage/events", h, c.body), c.status, c.code)
			})
		}
		// A single event that is no event is a 202 with its rejection.
		wantReport(t, postUsage(ts, key, false, `{"specversion":"1.0"}`), 0, 0, map[int]string{0: "usage_event_invalid"})
	})
}

func TestUsageQuery(t *testing.T) {
	forEachBackend(t, func(t *testing.T, ts *testServer) {
		w := newWorld(t, ts)
		_, writer := createKey(t, ts, w.adminTok, map[string]any{"name": "meter", "scopes": []string{"usage:write"}})
		member, admin := w.member.ActorID(), w.admin.ActorID()
		wantReport(t, postUsage(ts, keyHeader(writer), true, []any{
			ce("1", "", member, 10), ce("2", "", member, 20), ce("3", "", admin, 300),
		}), 3, 0, map[int]string{})
		_, memberKey := createKey(t, ts, w.memberTok, map[string]any{"name": "mine", "scopes": []string{"tenant:read"}})
		_, adminNoUsage := createKey(t, ts, w.adminTok, map[string]any{"name": "no usage", "scopes": []string{"tenant:read"}})
		_, adminUsage := createKey(t, ts, w.adminTok, map[string]any{"name": "usage", "scopes": []string{"usage:read"}})

		// Admins see the tenant's, grouped as asked.
		r := usageQuery(ts, bearerHeader(w.adminTok), "group_by", "subject,model", "window", "hour")
		if got := sumRows(t, r); got != 330 {
			t.Fatalf("admin sees %v, want 330", got)
		}
		rows := r.body["data"].([]any)
		first := rows[0].(map[string]any)
		if len(rows) != 2 || first["group_by"].(map[string]any)["model"] != "gpt" || first["window_end"] != usageTime.Add(time.Hour).Format(time.RFC3339) {
			t.Fatalf("rows %s", r.raw)
		}
		for _, c := range []struct {
			name   string
			h      http.Header
			params []string
			status int
			code   string
			sum    float64
		}{
			{"member, own usage", bearerHeader(w.memberTok), []string{"subject", member}, 200, "", 30},
			{"member, tenant's", bearerHeader(w.memberTok), nil, 403, "usage_view_denied", 0},
			{"member, the admin's", bearerHeader(w.memberTok), []string{"subject", admin}, 403, "usage_view_denied", 0},
			// The policies permit one's own usage; a key without usage:read
			// is bounded by its scope.
			{"member's key without usage:read", keyHeader(memberKey), []string{"subject", member}, 403, "usage_view_denied", 0},
			{"admin's key without usage:read", keyHeader(adminNoUsage), nil, 403, "usage_view_denied", 0},
			{"admin's key with usage:read", keyHeader(adminUsage), nil, 200, "", 330},
			{"admin, one subject", bearerHeader(w.adminTok), []string{"subject", member, "tenant_id", w.tenantA}, 200, "", 30},
			{"another tenant's owner", bearerHeader(w.outBTok), []string{"tenant_id", w.tenantA}, 404, "tenant_not_found", 0},
			{"unknown meter", bearerHeader(w.adminTok), []string{"meter", "nope"}, 400, "usage_meter_unknown", 0},
			{"bad window", bearerHeader(w.adminTok), []string{"window", "week"}, 400, "usage_query_invalid", 0},
			{"from not a time", bearerHeader(w.adminTok), []string{"from", "yesterday"}, 400, "usage_query_invalid", 0},
			{"misaligned hour", bearerHeader(w.adminTok), []string{"window", "hour", "to", usageTime.Add(90 * time.Minute).Format(time.RFC3339)}, 400, "usage_query_invalid", 0},
			{"to before from", bearerHeader(w.adminTok), []string{"to", usageTime.Add(-time.Hour).Format(time.RFC3339)}, 400, "usage_query_invalid", 0},
			{"group by a non-dimension", bearerHeader(w.adminTok), []string{"group_by", "tool"}, 400, "usage_query_invalid", 0},
			{"filter on the model", bearerHeader(w.adminTok), []string{"filter[model]", "gpt"}, 200, "", 330},
			{"filter on another model", bearerHeader(w.adminTok), []string{"filter[model]", "claude"}, 200, "", 0},
			{"hours of Kyiv", bearerHeader(w.adminTok), []string{"window", "hour", "tz", "Europe/Kyiv"}, 200, "", 330},
			{"filter on a non-dimension", bearerHeader(w.adminTok), []string{"filter[tool]", "x"}, 400, "usage_query_invalid", 0},
			{"filter without its bracket", bearerHeader(w.adminTok), []string{"filter[model", "gpt"}, 400, "usage_query_invalid", 0},
			{"unknown zone", bearerHeader(w.adminTok), []string{"tz", "Mars/Olympus_Mons"}, 400, "usage_query_invalid", 0},
			{"a zone that is a path", bearerHeader(w.adminTok), []string{"tz", "../../etc/passwd"}, 400, "usage_query_invalid", 0},
			{"hours not whole in Kolkata", bearerHeader(w.adminTok), []string{"window", "hour", "tz", "Asia/Kolkata"}, 400, "usage_query_invalid", 0},
			{"too many minutes", bearerHeader(w.adminTok), []string{"window", "minute", "from", usageTime.Add(-8 * 24 * time.Hour).Format(time.RFC3339)}, 400, "usage_query_invalid", 0},
		} {
			t.Run(c.name, func(t *testing.T) {
				r := usageQuery(ts, c.h, c.params...)
				expect(t, r, c.status, c.code)
				if c.status == 200 {
					if got := sumRows(t, r); got != c.sum {
						t.Fatalf("sum %v, want %v: %s", got, c.sum, r.raw)
					}
				}
			})
		}
	})
}
