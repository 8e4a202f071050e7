package webhook

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"
)

// TestSignSpecExample checks the signature against the example of the
// Standard Webhooks specification and its libraries' tests.
func TestSignSpecExample(t *testing.T) {
	key, err := SecretKey("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	if err != nil {
		t.Fatal(err)
	}
	got := Sign([][]byte{key}, "msg_p5jXN8AQM9LWM0D4loKWxJek", time.Unix(1614265330, 0), []byte(`{"test": 2432232314}`))
	if want := "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="; got != want {
		t.Fatalf("Sign = %q, want %q", got, want)
	}
}

func TestSignTwoKeysAndVerify(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	oldKey, _ := SecretKey(NewSecret())
	newKey, _ := SecretKey(NewSecret())
	body := []byte(`{"type":"member.added"}`)
	header := Sign([][]byte{newKey, oldKey}, "msg_1", now, body)
	if n := len(strings.Fields(header)); n != 2 {
		t.Fatalf("header %q holds %d signatures, want 2", header, n)
	}
	ts := "1700000000"
	for _, c := range []struct {
		name string
		key  []byte
		id   string
		ts   string
		body []byte
		now  time.Time
		want bool
	}{
		{"new key", newKey, "msg_1", ts, body, now, true},
		{"old key", oldKey, "msg_1", ts, body, now, true},
		{"other key", []byte("not the key"), "msg_1", ts, body, now, false},
		{"other id", newKey, "msg_2", ts, body, now, false},
		{"other body", newKey, "msg_1", ts, []byte(`{}`), now, false},
		{"other timestamp", newKey, "msg_1", "1700000001", body, now, false},
		{"too old", newKey, "msg_1", ts, body, now.Add(6 * time.Minute), false},
		{"too new", newKey, "msg_1", ts, body, now.Add(-6 * time.Minute), false},
		{"not a number", newKey, "msg_1", "soon", body, now, false},
	} {
		if got := Verify(c.key, c.id, c.ts, header, c.body, c.now, 5*time.Minute); got != c.want {
			t.Errorf("%s: Verify = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestNewSecret(t *testing.T) {
	s := NewSecret()
	if !strings.HasPrefix(s, SecretPrefix) {
		t.Fatalf("%q lacks the whsec_ prefix", s)
	}
	b, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(s, SecretPrefix))
	if err != nil || len(b) != 32 {
		t.Fatalf("%q: %d bytes, %v", s, len(b), err)
	}
	if NewSecret() == s {
		t.Fatal("two secrets are equal")
	}
	for _, bad := range []string{"whsec_", "whsec_***", ""} {
		if _, err := SecretKey(bad); err == nil {
			t.Errorf("SecretKey(%q) succeeded", bad)
		}
	}
}

func TestSchedule(t *testing.T) {
	at := time.Unix(0, 0)
	var total time.Duration
	for n := 1; n < MaxAttempts; n++ {
		next, ok := NextAttempt(n, at)
		if !ok || !next.After(at) {
			t.Fatalf("attempt %d: next %v %v", n, next, ok)
		}
		total += next.Sub(at)
	}
	if _, ok := NextAttempt(MaxAttempts, at); ok {
		t.Fatal("a retry after the last attempt")
	}
	if _, ok := NextAttempt(0, at); ok {
		t.Fatal("a retry before the first attempt")
	}
	// The specification's schedule spans about a day.
	if total < 24*time.Hour || total > 30*time.Hour {
		t.Fatalf("the schedule spans %v", total)
	}
}
