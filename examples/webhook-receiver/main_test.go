package main

import (
	"net/http"
	"testing"
	"time"
)

// TestVerify checks the receiver against the Standard Webhooks
// specification's example, and that it refuses what it must.
func TestVerify(t *testing.T) {
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	body := []byte(`{"test": 2432232314}`)
	h := http.Header{}
	h.Set("webhook-id", "msg_p5jXN8AQM9LWM0D4loKWxJek")
	h.Set("webhook-timestamp", "1614265330")
	h.Set("webhook-signature", "v1,bm9wZQ== v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
	at := time.Unix(1614265330, 0)
	if err := verify(secret, h, body, at); err != nil {
		t.Fatalf("the specification's example: %v", err)
	}
	for name, c := range map[string]struct {
		body []byte
		now  time.Time
	}{
		"changed body":  {[]byte(`{"test": 1}`), at},
		"replayed late": {body, at.Add(6 * time.Minute)},
	} {
		if err := verify(secret, h, c.body, c.now); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
