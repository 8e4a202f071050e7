package token

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/tollgate/tollgate/fault"
)

func TestSealerRoundTrip(t *testing.T) {
	s, err := NewSealer(testMasterKey(1))
	if err != nil {
		t.Fatal(err)
	}
	for _, pt := range [][]byte{nil, []byte("x"), bytes.Repeat([]byte("k"), 4096)} {
		a, err := s.Seal("kid-1", pt)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := s.Seal("kid-1", pt)
		if bytes.Equal(a, b) {
			t.Fatal("two seals are identical: nonce not random")
		}
		// Short plaintexts occur in random bytes by chance; only a long one
		// showing up means it was not encrypted.
		if len(pt) >= 16 && bytes.Contains(a, pt) {
			t.Fatal("plaintext visible in the sealed blob")
		}
		got, err := s.Open("kid-1", a)
		if err != nil || !bytes.Equal(got, pt) {
			t.Fatalf("Open: %q, %v", got, err)
		}
	}
}

func TestSealerRejects(t *testing.T) {
	s, _ := NewSealer(testMasterKey(1))
	other, _ := NewSealer(testMasterKey(2))
	sealed, _ := s.Seal("kid-1", []byte("private key"))
	flip := func(i int) []byte {
		b := bytes.Clone(sealed)
		b[i] ^= 0x80
		return b
	}
	tests := []struct {
		name   string
		sealer *Sealer
		kid    string
		blob   []byte
	}{
		{"wrong master key", other, "kid-1", sealed},
		{"swapped key id", s, "kid-2", sealed},
		{"key id prefix", s, "kid-", sealed},
		{"version byte", s, "kid-1", flip(0)},
		{"nonce", s, "kid-1", flip(5)},
		{"ciphertext", s, "kid-1", flip(30)},
		{"tag", s, "kid-1", flip(len(sealed) - 1)},
		{"truncated", s, "kid-1", sealed[:len(sealed)-1]},
		{"too short", s, "kid-1", sealed[:20]},
		{"empty", s, "kid-1", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pt, err := tt.sealer.Open(tt.kid, tt.blob)
			if pt != nil || !errors.Is(err, &fault.Error{Code: "key_unseal_failed"}) {
				t.Fatalf("Open: %q, %v", pt, err)
			}
		})
	}
}

func TestNewSealerKeyLength(t *testing.T) {
	for _, n := range []int{0, 16, 31, 33, 64} {
		if _, err := NewSealer(make([]byte, n)); fault.KindOf(err) != fault.Invalid {
			t.Errorf("%d bytes: %v", n, err)
		}
	}
}

func TestParseMasterKey(t *testing.T) {
	key := make([]byte, 32)
	for i := range key {
		key[i] = byte(0xf0 + i) // high bytes force + / and - _ in base64
	}
	tests := []struct {
		name string
		in   string
		ok   bool
	}{
		{"std padded", base64.StdEncoding.EncodeToString(key), true},
		{"std raw", base64.RawStdEncoding.EncodeToString(key), true},
		{"url padded", base64.URLEncoding.EncodeToString(key), true},
		{"url raw", base64.RawURLEncoding.EncodeToString(key), true},
		{"hex lower", hex.EncodeToString(key), true},
		{"hex upper", strings.ToUpper(hex.EncodeToString(key)), true},
		{"surrounding space", "  " + base64.StdEncoding.EncodeToString(key) + "\n", true},
		{"empty", "", false},
		{"16 bytes base64", base64.StdEncoding.EncodeToString(key[:16]), false},
		{"33 bytes base64", base64.StdEncoding.EncodeToString(append(bytes.Clone(key), 1)), false},
		{"63 hex digits", hex.EncodeToString(key)[:63], false},
		{"64 chars not hex", strings.Repeat("zz", 32), false},
		{"garbage", "not a key!", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseMasterKey(tt.in)
			if tt.ok {
				if err != nil || !bytes.Equal(got, key) {
					t.Fatalf("got %x, %v", got, err)
				}
				return
			}
			if got != nil || fault.KindOf(err) != fault.Invalid {
				t.Fatalf("got %x, %v", got, err)
			}
			if tt.in != "" && strings.Contains(err.Error(), strings.TrimSpace(tt.in)) {
				t.Fatal("the error echoes the secret")
			}
		})
	}
}

func TestGenerateMasterKey(t *testing.T) {
	a, b := GenerateMasterKey(), GenerateMasterKey()
	if a == b {
		t.Fatal("not random")
	}
	k, err := ParseMasterKey(a)
	if err != nil || len(k) != MasterKeySize {
		t.Fatalf("%x, %v", k, err)
	}
	if _, err := NewSealer(k); err != nil {
		t.Fatal(err)
	}
}
