package audit

import (
	"bytes"
	"crypto/sha256"
	"maps"
	"testing"
	"time"
)

// FuzzCanonical checks the encoder on any strings: it never panics, is
// deterministic (and independent of map order), and for events that
// Validate accepts it is valid JSON that decodes back to the same event,
// so two valid events with the same canonical form are the same event.
func FuzzCanonical(f *testing.F) {
	f.Add("t1", "user:93", "session.login", "success", "Mozilla/5.0", "k", "v", "k2", "v2", int64(1), int64(1741964966535897))
	f.Add("", "", "a.b", "denied", "\"\\\x00\x1f\x7f\u2028", "é", "<&>", "", "", int64(0), int64(0))
	f.Add("t", "a", "x.y", "failure", "\xff\xfe", "a", "\xc3", "b", "", int64(-1), int64(-62135596800000000))
	f.Fuzz(func(t *testing.T, tenant, actor, action, outcome, ua, k1, v1, k2, v2 string, seq, micros int64) {
		e := Event{
			ID: "01jq4w8x3v0000000000000000", Time: time.UnixMicro(micros).UTC(), TenantID: tenant, ActorID: actor,
			Action: action, Outcome: Outcome(outcome), UserAgent: ua, Reason: v2,
			Detail: map[string]string{k1: v1, k2: v2}, Seq: seq,
		}
		a := Canonical(&e)
		copyDetail := map[string]string{k2: v2, k1: v1}
		if k1 == k2 {
			copyDetail[k1] = v2
			e.Detail[k1] = v2
			a = Canonical(&e)
		}
		if n := DetailSize(e.Detail); n != len(CanonicalDetail(e.Detail)) {
			t.Fatalf("DetailSize = %d, CanonicalDetail is %d bytes: %s", n, len(CanonicalDetail(e.Detail)), CanonicalDetail(e.Detail))
		}
		if sum, _ := hashEvent(nil, &e, CanonicalDetail(e.Detail), nil); sum != sha256.Sum256(a) {
			t.Fatal("hashing with the detail encoded beforehand differs from Canonical")
		}
		e2 := e
		e2.Detail = copyDetail
		if b := Canonical(&e2); !bytes.Equal(a, b) {
			t.Fatalf("not deterministic:\n%s\n%s", a, b)
		}
		if e.Validate() != nil {
			return
		}
		d, err := ParseDetail(CanonicalDetail(e.Detail))
		if err != nil || !maps.Equal(d, e.Detail) {
			t.Fatalf("ParseDetail(%q) = %q, %v", CanonicalDetail(e.Detail), d, err)
		}
		got := decodeCanonical(t, a)
		if b := Canonical(&got); !bytes.Equal(a, b) {
			t.Fatalf("round trip:\n got %s\nwant %s", b, a)
		}
	})
}
