package token

import (
	"crypto/ed25519"
	"encoding/base64"
	"reflect"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"
)

// FuzzVerify checks that Verify never panics and accepts only what an
// independent check accepts: the uncached path, and a plain Ed25519
// signature check over the exact bytes.
func FuzzVerify(f *testing.F) {
	fx := newFixture(f, AlgEdDSA)
	kid := fx.currentKid(fx.kr)
	pub := fx.kr.snap.Load().keys[kid].pub.(ed25519.PublicKey)

	valid := fx.sign(f, fx.kr, fx.claims())
	p := segments(valid)
	c := fx.claims()
	hdr := map[string]any{"kid": kid, "typ": "at+jwt"}
	stored, _ := fx.store.get(kid)
	for _, seed := range []string{
		valid,
		p[0] + "." + p[1] + ".",
		p[0] + "." + p[1] + "." + p[2][:len(p[2])-2],
		p[0] + "." + p[1][1:] + "." + p[2],
		strings.Replace(valid, ".", "..", 1),
		valid + "=",
		forge(f, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, hdr, &c),
		forge(f, jwt.SigningMethodHS256, stored.PublicKey, hdr, &c),
		forge(f, jwt.SigningMethodHS256, []byte(pub), hdr, &c),
		fx.forgeWith(f, map[string]any{"typ": "JWT"}, c),
		"", ".", "..", "a.b.c", "eyJ.eyJ.", strings.Repeat("A", MaxTokenLength+1),
	} {
		f.Add(seed)
	}

	f.Fuzz(func(t *testing.T, raw string) {
		got, err := fx.v.Verify(raw)
		if err != nil {
			wantInvalid(t, got, err)
			return
		}
		again, err := fx.vu.Verify(raw)
		if err != nil || !reflect.DeepEqual(*got, *again) {
			t.Fatalf("cached path accepted %q, uncached: %v", raw, err)
		}
		parts := strings.Split(raw, ".")
		if len(parts) != 3 || len(raw) > MaxTokenLength {
			t.Fatalf("accepted malformed %q", raw)
		}
		sig, err := base64.RawURLEncoding.Strict().DecodeString(parts[2])
		if err != nil || !ed25519.Verify(pub, []byte(parts[0]+"."+parts[1]), sig) {
			t.Fatalf("accepted %q without a valid signature", raw)
		}
		if got.Subject == "" || got.ID == "" || got.SessionID == "" || got.ExpiresAt.IsZero() {
			t.Fatalf("accepted incomplete claims %+v", got)
		}
	})
}
