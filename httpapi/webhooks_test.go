package httpapi_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tollgate/tollgate/webhook"
)

// hookReceiver is a webhook endpoint on 127.0.0.1 recording what it gets.
type hookReceiver struct {
	*httptest.Server
	mu  sync.Mutex
	got []signedSample
}

func newHookReceiver(t *testing.T) *hookReceiver {
	t.Helper()
	rc := &hookReceiver{}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.got = append(rc.got, signedSample{
			ID: r.Header.Get("webhook-id"), Timestamp: r.Header.Get("webhook-timestamp"),
			Signature: r.Header.Get("webhook-signature"), Body: string(body),
		})
		rc.mu.Unlock()
		_, _ = io.WriteString(w, "thanks")
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *hookReceiver) received() []signedSample {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]signedSample(nil), rc.got...)
}

// deliver runs the replica's webhook worker until it is idle.
func (ts *testServer) deliver(t *testing.T) {
	t.Helper()
	for range 100 {
		busy, err := ts.app.DeliverWebhooks(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if !busy {
			return
		}
	}
	t.Fatal("the webhook worker is still busy after 100 rounds")
}

func verifies(t *testing.T, secret string, s signedSample) bool {
	t.Helper()
	key, err := webhook.SecretKey(secret)
	if err != nil {
		t.Fatal(err)
	}
	return webhook.Verify(key, s.ID, s.Timestamp, s.Signature, []byte(s.Body), time.Now(), 5*time.Minute)
}

// TestWebhooksDeliverTenantEvents walks an endpoint's life through the
// API: created with its secret shown once, it receives a member.added
// event signed so that Tollgate's verifier and the official Standard
// Webhooks library accept it; the deliveries list shows the attempt; a
// redelivery repeats the webhook-id; a test message arrives; after a
// rotation with an overlap, both secrets' signatures are sent.
func TestWebhooksDeliverTenantEvents(t *testing.T) {
	forEachBackend(t, func(t *testing.T, ts *testServer) {
		w := newWorld(t, ts)
		rc := newHookReceiver(t)
		base := "/v1/tenants/" + w.tenantA + "/webhooks"
		r := ts.do("POST", base, w.ownerTok, map[string]any{"url": rc.URL + "/tollgate", "description": "ops",
			"event_types": []string{"member.added", "member.removed"}})
		expect(t, r, http.StatusCreated, "")
		hook, secret := r.str("id"), r.str("secret")
		if !strings.HasPrefix(secret, "whsec_") || r.header.Get("Location") != base+"/"+hook || r.header.Get("Cache-Control") != "no-store" {
			t.Fatalf("created %s, headers %v", r.raw, r.header)
		}
		r = ts.do("GET", base+"/"+hook, w.adminTok, nil)
		expect(t, r, http.StatusOK, "")
		if strings.Contains(string(r.raw), secret) || r.str("status") != "enabled" {
			t.Fatalf("read back %s", r.raw)
		}

		newcomer := ts.user("newcomer@a.example", false)
		expect(t, ts.do("POST", "/v1/tenants/"+w.tenantA+"/members", w.ownerTok,
			map[string]any{"actor_id": newcomer.ActorID(), "roles": []string{"member"}}), http.StatusCreated, "")
		ts.deliver(t)
		got := rc.received()
		if len(got) != 1 || !verifies(t, secret, got[0]) {
			t.Fatalf("received %+v", got)
		}
		var msg webhook.Message
		if err := json.Unmarshal([]byte(got[0].Body), &msg); err != nil || msg.Type != "member.added" ||
			msg.Data["member_id"] != newcomer.ActorID() || msg.Data["actor_id"] != w.owner.ActorID() {
			t.Fatalf("message %s, %v", got[0].Body, err)
		}

		r = ts.do("GET", base+"/"+hook+"/deliveries", w.ownerTok, nil)
		expect(t, r, http.StatusOK, "")
		items := r.body["items"].([]any)
		d := items[0].(map[string]any)
		if len(items) != 1 || d["status"] != "succeeded" || d["response_status"] != float64(200) || d["response"] != "thanks" ||
			d["message_id"] != got[0].ID || d["event_type"] != "member.added" || d["attempts"] != float64(1) {
			t.Fatalf("deliveries %s", r.raw)
		}

		// One at a time: a batch sends its deliveries in no set order.
		expect(t, ts.do("POST", base+"/"+hook+"/deliveries/"+d["id"].(string)+"/redeliver", w.ownerTok, nil), http.StatusAccepted, "")
		ts.deliver(t)
		expect(t, ts.do("POST", base+"/"+hook+"/test", w.ownerTok, nil), http.StatusAccepted, "")
		ts.deliver(t)
		r = ts.do("POST", base+"/"+hook+"/rotate-secret", w.ownerTok, map[string]any{"overlap_seconds": 3600})
		expect(t, r, http.StatusOK, "")
		newSecret := r.str("secret")
		if newSecret == secret || !strings.HasPrefix(newSecret, "whsec_") || r.str("previous_secret_expires_at") == "" {
			t.Fatalf("rotated %s", r.raw)
		}
		expect(t, ts.do("POST", base+"/"+hook+"/test", w.ownerTok, nil), http.StatusAccepted, "")
		ts.deliver(t)

		got = rc.received()
		if len(got) != 4 || got[1].ID != got[0].ID || !strings.Contains(got[2].Body, `"type":"webhook.test"`) {
			t.Fatalf("received %+v", got)
		}
		rotated := got[3]
		if len(strings.Fields(rotated.Signature)) != 2 || !verifies(t, secret, rotated) || !verifies(t, newSecret, rotated) {
			t.Fatalf("during the overlap both secrets must verify: %+v", rotated)
		}
		for i := range got[:3] {
			got[i].Secret = secret
		}
		old := rotated
		old.Secret = secret
		rotated.Secret = newSecret
		forged := rotated
		forged.Body, forged.Forged = strings.Replace(forged.Body, "webhook.test", "member.added", 1), true
		verifyWithStandardWebhooks(t, append(got[:3], old, rotated, forged))
	})
}

// TestWebhooksBadInputAndIsolation: every route refuses bad input with a
// stable code; a member without webhooks:read is refused; another
// tenant's owner finds neither the tenant's endpoints nor their
// deliveries, by either tenant's path.
func TestWebhooksBadInputAndIsolation(t *testing.T) {
	forEachBackend(t, func(t *testing.T, ts *testServer) {
		w := newWorld(t, ts)
		base := "/v1/tenants/" + w.tenantA + "/webhooks"
		r := ts.do("POST", base, w.ownerTok, map[string]any{"url": "https://hooks.example.com/a"})
		expect(t, r, http.StatusCreated, "")
		hook := r.str("id")
		r = ts.do("POST", base+"/"+hook+"/test", w.ownerTok, nil)
		expect(t, r, http.StatusAccepted, "")
		delivery := r.str("id")
		baseB := "/v1/tenants/" + w.tenantB + "/webhooks"
		for _, c := range []struct {
			name, method, path, token string
			body                      any
			status                    int
			code                      string
		}{
			{"no url", "POST", base, w.ownerTok, map[string]any{}, 400, "invalid_webhook_url"},
			{"not http", "POST", base, w.ownerTok, map[string]any{"url": "file:///etc/passwd"}, 400, "invalid_webhook_url"},
			{"credentials", "POST", base, w.ownerTok, map[string]any{"url": "https://u:p@hooks.example.com/"}, 400, "invalid_webhook_url"},
			{"private address", "POST", base, w.ownerTok, map[string]any{"url": "http://10.0.0.7/hook"}, 400, "webhook_url_forbidden"},
			{"metadata address", "POST", base, w.ownerTok, map[string]any{"url": "http://169.254.169.254/latest"}, 400, "webhook_url_forbidden"},
			{"loopback not allowed", "POST", base, w.ownerTok, map[string]any{"url": "http://127.0.0.2/hook"}, 400, "webhook_url_forbidden"},
			{"unknown event type", "POST", base, w.ownerTok, map[string]any{"url": "https://h.example/", "event_types": []string{"member.eaten"}}, 400, "unknown_event_type"},
			{"control in description", "POST", base, w.ownerTok, map[string]any{"url": "https://h.example/", "description": "a\u0007b"}, 400, "invalid_webhook_description"},
			{"unknown field", "POST", base, w.ownerTok, map[string]any{"url": "https://h.example/", "secret": "whsec_mine"}, 400, "unknown_field"},
			{"bad status", "PATCH", base + "/" + hook, w.ownerTok, map[string]any{"status": "paused"}, 400, "invalid_webhook_status"},
			{"bad patch url", "PATCH", base + "/" + hook, w.ownerTok, map[string]any{"url": "http://[::1]/"}, 400, "webhook_url_forbidden"},
			{"negative overlap", "POST", base + "/" + hook + "/rotate-secret", w.ownerTok, map[string]any{"overlap_seconds": -1}, 400, "invalid_rotation_overlap"},
			{"huge overlap", "POST", base + "/" + hook + "/rotate-secret", w.ownerTok, map[string]any{"overlap_seconds": int64(1) << 62}, 400, "invalid_rotation_overlap"},
			{"bad limit", "GET", base + "?limit=0", w.ownerTok, nil, 400, "invalid_limit"},
			{"malformed id", "GET", base + "/not-an-id", w.ownerTok, nil, 404, "webhook_not_found"},
			{"unknown delivery", "POST", base + "/" + hook + "/deliveries/" + hook + "/redeliver", w.ownerTok, nil, 404, "webhook_delivery_not_found"},
			{"member lists", "GET", base, w.memberTok, nil, 403, "permission_denied"},
			{"member creates", "POST", base, w.memberTok, map[string]any{"url": "https://h.example/"}, 403, "permission_denied"},
			{"other tenant lists", "GET", base, w.outBTok, nil, 404, "tenant_not_found"},
			{"other tenant creates", "POST", base, w.outBTok, map[string]any{"url": "https://h.example/"}, 404, "tenant_not_found"},
			{"other tenant reads", "GET", base + "/" + hook, w.outBTok, nil, 404, "tenant_not_found"},
			{"other tenant patches", "PATCH", base + "/" + hook, w.outBTok, map[string]any{"description": "x"}, 404, "tenant_not_found"},
			{"other tenant deletes", "DELETE", base + "/" + hook, w.outBTok, nil, 404, "tenant_not_found"},
			{"other tenant rotates", "POST", base + "/" + hook + "/rotate-secret", w.outBTok, nil, 404, "tenant_not_found"},
			{"other tenant tests", "POST", base + "/" + hook + "/test", w.outBTok, nil, 404, "tenant_not_found"},
			{"other tenant lists deliveries", "GET", base + "/" + hook + "/deliveries", w.outBTok, nil, 404, "tenant_not_found"},
			{"other tenant redelivers", "POST", base + "/" + hook + "/deliveries/" + delivery + "/redeliver", w.outBTok, nil, 404, "tenant_not_found"},
			{"own tenant's path, other's endpoint", "GET", baseB + "/" + hook, w.outBTok, nil, 404, "webhook_not_found"},
			{"own path, other's endpoint, patch", "PATCH", baseB + "/" + hook, w.outBTok, map[string]any{"description": "x"}, 404, "webhook_not_found"},
			{"own path, other's endpoint, delete", "DELETE", baseB + "/" + hook, w.outBTok, nil, 404, "webhook_not_found"},
			{"own path, other's endpoint, rotate", "POST", baseB + "/" + hook + "/rotate-secret", w.outBTok, nil, 404, "webhook_not_found"},
			{"own path, other's deliveries", "GET", baseB + "/" + hook + "/deliveries", w.outBTok, nil, 404, "webhook_not_found"},
			{"own path, other's redelivery", "POST", baseB + "/" + hook + "/deliveries/" + delivery + "/redeliver", w.outBTok, nil, 404, "webhook_not_found"},
		} {
			t.Run(c.name, func(t *testing.T) {
				expect(t, ts.do(c.method, c.path, c.token, c.body), c.status, c.code)
			})
		}
		// A disabled endpoint takes no test and no redelivery.
		expect(t, ts.do("PATCH", base+"/"+hook, w.ownerTok, map[string]any{"status": "disabled"}), http.StatusOK, "")
		expect(t, ts.do("POST", base+"/"+hook+"/test", w.ownerTok, nil), http.StatusConflict, "webhook_disabled")
		expect(t, ts.do("POST", base+"/"+hook+"/deliveries/"+delivery+"/redeliver", w.ownerTok, nil), http.StatusConflict, "webhook_disabled")
		// The endpoint is untouched by all of the above.
		r = ts.do("GET", base+"/"+hook, w.ownerTok, nil)
		expect(t, r, http.StatusOK, "")
		if r.str("url") != "https://hooks.example.com/a" || r.str("description") != "" {
			t.Fatalf("endpoint %s", r.raw)
		}
	})
}
