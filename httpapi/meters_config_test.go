package httpapi_test

import (
	"strings"
	"testing"
	"time"

	"github.com/tollgate/tollgate/config"
)

func emailEvent(id, campaign string, bytes int) map[string]any {
	return map[string]any{
		"specversion": "1.0", "id": id, "source": "//mailer", "type": "usage.email", "subject": "agent:mailer",
		"time": usageTime.Add(time.Minute).Format(time.RFC3339), "data": map[string]any{"campaign": campaign, "size": map[string]any{"bytes": bytes}},
	}
}

// TestConfiguredMeters: the meters setting gives every tenant its meters,
// counted like the shipped ones and listed with them.
func TestConfiguredMeters(t *testing.T) {
	meters := `[{"name":"emails_sent","event_type":"usage.email","aggregation":"COUNT","group_by":["campaign"]},` +
		`{"name":"email_bytes","event_type":"usage.email","aggregation":"SUM","value_path":"size.bytes"}]`
	forEachBackendWithConfig(t, func(c *config.Config) { c.Meters = meters }, func(t *testing.T, ts *testServer) {
		w := newWorld(t, ts)
		_, writer := createKey(t, ts, w.adminTok, map[string]any{"name": "mailer", "scopes": []string{"usage:write"}})
		wantReport(t, postUsage(ts, keyHeader(writer), true, []any{
			emailEvent("1", "spring", 1000), emailEvent("2", "spring", 500), emailEvent("3", "autumn", 20),
		}), 3, 0, map[int]string{})

		if got := sumRows(t, usageQuery(ts, bearerHeader(w.adminTok), "meter", "emails_sent")); got != 3 {
			t.Errorf("emails_sent = %v, want 3", got)
		}
		if got := sumRows(t, usageQuery(ts, bearerHeader(w.adminTok), "meter", "emails_sent", "filter[campaign]", "spring")); got != 2 {
			t.Errorf("emails_sent of spring = %v, want 2", got)
		}
		if got := sumRows(t, usageQuery(ts, bearerHeader(w.adminTok), "meter", "email_bytes")); got != 1520 {
			t.Errorf("email_bytes = %v, want 1520", got)
		}

		// Listed with the shipped meters, and not a tenant's to redefine.
		path := "/v1/tenants/" + w.tenantA + "/meters"
		r := ts.do("GET", path, w.memberTok, nil)
		expect(t, r, 200, "")
		if n := len(r.body["shipped"].([]any)); n != 7 || !strings.Contains(string(r.raw), `"name":"email_bytes"`) {
			t.Errorf("GET %s: %d shipped meters, want 7 with email_bytes: %s", path, n, r.raw)
		}
		if strings.Contains(string(r.raw), `"group_by":null`) {
			t.Errorf("a configured meter without group_by is listed with null, not []: %s", r.raw)
		}
		expect(t, ts.do("PUT", path, w.adminTok, map[string]any{"meters": []any{
			map[string]any{"name": "emails_sent", "event_type": "usage.mail", "aggregation": "COUNT"},
		}}), 400, "usage_meter_invalid")
	})
}
