package secret

import (
	"strings"
	"testing"

	"github.com/tollgate/tollgate/ids"
)

func TestParseRoundTrip(t *testing.T) {
	id := ids.New()
	for _, env := range []string{EnvLive, EnvTest} {
		raw, hash := Generate(KeyPrefix, env, id)
		p, err := Parse(raw, KeyPrefix, "api_key")
		if err != nil {
			t.Fatalf("Parse(%q): %v", raw, err)
		}
		if p.ID != id || p.Env != env || string(p.Hash[:]) != string(hash) {
			t.Fatalf("Parse(%q) = %+v", raw, p)
		}
		if !strings.HasPrefix(raw, "tg_"+env+"_"+id+"_") || len(raw) != 3+len(env)+1+ids.Len+1+secretLen+checksumLen {
			t.Fatalf("unexpected shape %q", raw)
		}
	}
}

func TestParseRejects(t *testing.T) {
	raw, _ := Generate(KeyPrefix, EnvLive, ids.New())
	flip := func(i int) string {
		b := []byte(raw)
		if b[i] == 'a' {
			b[i] = 'b'
		} else {
			b[i] = 'a'
		}
		return string(b)
	}
	upper := func(s string) string {
		// change the case of one letter in the secret part
		b := []byte(s)
		for i := len(b) - checksumLen - 1; i > 0; i-- {
			if c := b[i]; c >= 'a' && c <= 'z' {
				b[i] = c - 32
				return string(b)
			}
			if c := b[i]; c >= 'A' && c <= 'Z' {
				b[i] = c + 32
				return string(b)
			}
		}
		t.Fatal("no letter in key")
		return ""
	}
	clientSecret, _ := Generate(ClientSecretPrefix, EnvLive, ids.New())
	for _, tc := range []struct{ name, raw string }{
		{"empty", ""},
		{"truncated", raw[:len(raw)-1]},
		{"truncated_secret", raw[:len(raw)-10]},
		{"extended", raw + "a"},
		{"typo_in_secret", flip(len(raw) - checksumLen - 3)},
		{"typo_in_checksum", flip(len(raw) - 2)},
		{"changed_case", upper(raw)},
		{"wrong_prefix", "gh" + raw[2:]},
		{"other_kind_of_secret", clientSecret},
		{"unknown_env", strings.Replace(raw, "_live_", "_prod_", 1)},
		{"bad_id", strings.Replace(raw, raw[8:12], "IIII", 1)},
		{"non_base62", raw[:len(raw)-12] + "-" + raw[len(raw)-11:]},
		{"too_long", raw + strings.Repeat("a", MaxSecretLength)},
		{"bearer_jwt", "eyJhbGciOiJFZERTQSJ9.e30.sig"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Parse(tc.raw, KeyPrefix, "api_key"); err == nil {
				t.Fatalf("Parse(%q) accepted", tc.raw)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	raw, _ := Generate(KeyPrefix, EnvLive, ids.New())
	f.Add(raw)
	f.Add("tg_live_")
	f.Add("tg_test_01jdx3v2k8m4n6p8r0t2v4x6z8_x")
	f.Fuzz(func(t *testing.T, s string) {
		p, err := Parse(s, KeyPrefix, "api_key")
		if err != nil {
			return
		}
		// Anything accepted must be a well-formed key of a known env.
		if !ids.Valid(p.ID) || (p.Env != EnvLive && p.Env != EnvTest) {
			t.Fatalf("accepted malformed %q: %+v", s, p)
		}
	})
}

func BenchmarkParse(b *testing.B) {
	raw, _ := Generate(KeyPrefix, EnvLive, ids.New())
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(raw, KeyPrefix, "api_key"); err != nil {
			b.Fatal(err)
		}
	}
}
