package audit

import (
	"bytes"
	"crypto/sha256"
	"maps"
	"testing"
	"time"
	"unicode/utf8"
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

// FuzzStringProblem holds the one-pass field check to the rule it
// replaced: valid UTF-8 (utf8.ValidString), no NUL, and for identifiers
// no space or control character, within the length.
func FuzzStringProblem(f *testing.F) {
	for _, s := range []string{"", "user:93", "a b", "\x00", "\x7f", "é", "\xff", "\xed\xa0\x80", "\uFFFD", "ok\xc3", "\u2028",
		// Longer than a word, so that asciiPrefix's eight-byte test meets
		// each kind of byte in each place.
		"0123456789abcdef", "01234567 9abcdef", "0123456789abcde\x7f", "0123456789abcdef\x00", "\x1f1234567",
		"0123456\x80 89abcdef", "0123456é89abcdef", "!!!!!!!!~~~~~~~~", "\x20\x21\x7e\x7f\x00\x01abcdefgh"} {
		f.Add(s, 64, true)
		f.Add(s, 64, false)
	}
	f.Fuzz(func(t *testing.T, s string, max int, ident bool) {
		want := len(s) <= max && utf8.ValidString(s)
		if want {
			for _, r := range s {
				if r == 0 || ident && (r <= ' ' || r == 0x7f) {
					want = false
				}
			}
		}
		if got := stringProblem(s, max, ident) == ""; got != want {
			t.Fatalf("stringProblem(%q, %d, %v) accepts = %v, the rule says %v", s, max, ident, got, want)
		}
	})
}

// FuzzPrefixes: the word-at-a-time scans never pass over a byte their
// byte loops would have to judge, so skipping their prefix changes nothing.
func FuzzPrefixes(f *testing.F) {
	for _, s := range []string{"", "0123456789abcdef", "0123456\"89abcdef", "01234567\\9abcdef", "0123456789abcde\x1f",
		"0123456é89abcdef", "01234567 9abcdef\x7f", "\x00bcdefgh", "abcdefgh\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, ident := range []bool{false, true} {
			n := asciiPrefix(s, ident)
			if n%8 != 0 || n > len(s) {
				t.Fatalf("asciiPrefix(%q, %v) = %d", s, ident, n)
			}
			for i := range n {
				if c := s[i]; c >= 0x80 || c == 0 || ident && (c <= ' ' || c == 0x7f) {
					t.Fatalf("asciiPrefix(%q, %v) = %d passes byte %d (%#x)", s, ident, n, i, c)
				}
			}
		}
		n := plainPrefix(s)
		if n%8 != 0 || n > len(s) {
			t.Fatalf("plainPrefix(%q) = %d", s, n)
		}
		for i := range n {
			if c := s[i]; c >= 0x80 || c < 0x20 || c == '"' || c == '\\' {
				t.Fatalf("plainPrefix(%q) = %d passes byte %d (%#x)", s, n, i, c)
			}
		}
	})
}
