package httpapi_test

import (
	"testing"
	"time"
)

func voidEvent(id, target string) map[string]any {
	return map[string]any{
		"specversion": "1.0", "id": id, "source": "//billing", "type": "usage.void", "subject": "service:billing",
		"time": usageTime.Add(2 * time.Minute).Format(time.RFC3339), "data": map[string]any{"event_id": target, "source": "//agents"},
	}
}

// TestUsageCorrections: a void reported over HTTP takes its event out of
// the query; a void of nothing, or a second void, is rejected with its
// reason; the same void again is a duplicate. Another tenant's event is
// unknown to a tenant's key.
func TestUsageCorrections(t *testing.T) {
	forEachBackend(t, func(t *testing.T, ts *testServer) {
		w := newWorld(t, ts)
		_, writer := createKey(t, ts, w.adminTok, map[string]any{"name": "meter", "scopes": []string{"usage:write"}})
		member := w.member.ActorID()
		wantReport(t, postUsage(ts, keyHeader(writer), true, []any{ce("1", "", member, 10), ce("2", "", member, 20)}), 2, 0, map[int]string{})
		wantReport(t, postUsage(ts, keyHeader(writer), true, []any{
			voidEvent("v1", "1"), voidEvent("v2", "1"), voidEvent("v3", "nope"), map[string]any{"specversion": "1.0", "id": "v4", "source": "//billing",
				"type": "usage.amend", "subject": "service:billing", "time": usageTime.Format(time.RFC3339), "data": map[string]any{"event_id": "2"}},
		}), 1, 0, map[int]string{1: "usage_correction_target_voided", 2: "usage_correction_target_unknown", 3: "usage_event_invalid"})
		wantReport(t, postUsage(ts, keyHeader(writer), false, voidEvent("v1", "1")), 0, 1, map[int]string{})
		if got := sumRows(t, usageQuery(ts, bearerHeader(w.adminTok))); got != 20 {
			t.Fatalf("after the void: %v, want 20", got)
		}
		// Tenant B's key cannot void tenant A's event.
		_, writerB := createKey(t, ts, w.outBTok, map[string]any{"name": "b", "scopes": []string{"usage:write"}})
		wantReport(t, postUsage(ts, keyHeader(writerB), false, voidEvent("vb", "2")), 0, 0, map[int]string{0: "usage_correction_target_unknown"})
		if got := sumRows(t, usageQuery(ts, bearerHeader(w.adminTok))); got != 20 {
			t.Fatalf("after B's void: %v, want 20", got)
		}
	})
}
