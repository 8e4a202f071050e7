package token

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"math/big"
	"reflect"
	"sync"
	"testing"
	"time"
)

// staticKeys is a KeySource double: fixed keys, and on AwaitKeys the keys
// of next, recording the kids asked for.
type staticKeys struct {
	mu    sync.Mutex
	keys  map[string]*VerificationKey
	next  map[string]*VerificationKey
	asked []string
}

func (s *staticKeys) VerificationKeys() map[string]*VerificationKey {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.keys
}

func (s *staticKeys) AwaitKeys(_ context.Context, kid string) map[string]*VerificationKey {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.asked = append(s.asked, kid)
	if s.next == nil {
		return nil
	}
	s.keys, s.next = s.next, nil
	if _, ok := s.keys[kid]; kid != "" && !ok {
		return nil
	}
	return s.keys
}

// publicKey is the public half of the fixture's current key, as a
// VerificationKey built the way a KeySource outside this package does.
func (fx *fixture) publicKey(t testing.TB) *VerificationKey {
	t.Helper()
	kid := fx.currentKid(fx.kr)
	vk, err := NewVerificationKey(kid, fx.kr.opts.Algorithm, fx.privateKey(t, kid).Public())
	if err != nil {
		t.Fatal(err)
	}
	return vk
}

func TestNewVerificationKey(t *testing.T) {
	for _, alg := range []string{AlgEdDSA, AlgES256} {
		t.Run(alg, func(t *testing.T) {
			fx := newFixture(t, alg)
			vk := fx.publicKey(t)
			published := keyringKeys{fx.kr}.VerificationKeys()[vk.ID()]
			if vk.Algorithm() != alg || vk.ID() != published.id || !reflect.DeepEqual(vk.der, published.der) {
				t.Fatalf("got %s %s %x, want the published key", vk.ID(), vk.Algorithm(), vk.der)
			}
			if !vk.PublicKey().(interface{ Equal(crypto.PublicKey) bool }).Equal(published.pub) {
				t.Fatal("other public key")
			}
		})
	}

	edPub, _, _ := ed25519.GenerateKey(rand.Reader)
	vk, err := NewVerificationKey("ed", AlgEdDSA, edPub)
	if err != nil {
		t.Fatal(err)
	}
	edPub[0] ^= 1
	if vk.PublicKey().(ed25519.PublicKey).Equal(edPub) {
		t.Fatal("the key shares the caller's bytes")
	}
	edPub[0] ^= 1

	ecPriv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	rsaPriv, _ := rsa.GenerateKey(rand.Reader, 1024)
	//lint:ignore SA1019 the only way to build an invalid key
	offCurve := &ecdsa.PublicKey{Curve: elliptic.P256(), X: new(big.Int).Set(ecPriv.X), Y: new(big.Int).Add(ecPriv.Y, big.NewInt(1))}
	for _, tt := range []struct {
		name, kid, alg string
		pub            crypto.PublicKey
	}{
		{"no kid", "", AlgEdDSA, edPub},
		{"Ed25519 for ES256", "k", AlgES256, edPub},
		{"P-256 for EdDSA", "k", AlgEdDSA, &ecPriv.PublicKey},
		{"unknown alg", "k", "RS256", edPub},
		{"short Ed25519", "k", AlgEdDSA, edPub[:31]},
		{"Ed25519 as bytes", "k", AlgEdDSA, []byte(edPub)},
		{"P-384", "k", AlgES256, &p384.PublicKey},
		{"nil ECDSA", "k", AlgES256, (*ecdsa.PublicKey)(nil)},
		{"no point", "k", AlgES256, &ecdsa.PublicKey{Curve: elliptic.P256()}},
		{"off the curve", "k", AlgES256, offCurve},
		{"RSA", "k", AlgES256, &rsaPriv.PublicKey},
		{"nil", "k", AlgEdDSA, nil},
	} {
		if vk, err := NewVerificationKey(tt.kid, tt.alg, tt.pub); err == nil {
			t.Errorf("%s: accepted %+v", tt.name, vk)
		}
	}
}

// A Verifier over a KeySource asks it for keys when it has none, and for a
// kid it lacks, once per verification; with a zero Leeway it allows
// DefaultLeeway.
func TestNewVerifierFrom(t *testing.T) {
	fx := newFixture(t, AlgES256)
	vk := fx.publicKey(t)
	src := &staticKeys{}
	v := NewVerifierFrom(src, VerifierOptions{Issuer: testIssuer, Audience: testAudience, Now: fx.clock.Now})
	raw := fx.sign(t, fx.kr, fx.claims())

	c, err := v.Verify(raw)
	wantInvalid(t, c, err)
	if !reflect.DeepEqual(src.asked, []string{""}) {
		t.Fatalf("asked for %q", src.asked)
	}

	// Keys without the token's kid, then with it.
	other, err := NewVerificationKey("other", AlgEdDSA, make(ed25519.PublicKey, ed25519.PublicKeySize))
	if err != nil {
		t.Fatal(err)
	}
	src.keys = map[string]*VerificationKey{"other": other}
	src.next = map[string]*VerificationKey{"other": other, vk.ID(): vk}
	src.asked = nil
	got, err := v.Verify(raw)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(src.asked, []string{vk.ID()}) {
		t.Fatalf("asked for %q", src.asked)
	}
	if again, err := v.Verify(raw); err != nil || again != got {
		t.Fatalf("not a cache hit: %v", err)
	}

	// An unknown kid with nothing new to try: one question, then invalid.
	src.asked = nil
	c, err = v.Verify(fx.forgeWith(t, map[string]any{"kid": "gone"}, fx.claims()))
	wantInvalid(t, c, err)
	if !reflect.DeepEqual(src.asked, []string{"gone"}) {
		t.Fatalf("asked for %q", src.asked)
	}

	// DefaultLeeway past exp, less a second: still valid.
	late := fx.claims()
	late.IssuedAt, late.NotBefore = late.IssuedAt.Add(-time.Hour), late.NotBefore.Add(-time.Hour)
	late.ExpiresAt = fx.clock.Now().Add(-DefaultLeeway + time.Second)
	if _, err := v.Verify(fx.forgeWith(t, nil, late)); err != nil {
		t.Fatalf("within DefaultLeeway: %v", err)
	}
	late.ExpiresAt = fx.clock.Now().Add(-DefaultLeeway)
	c, err = v.Verify(fx.forgeWith(t, nil, late))
	wantInvalid(t, c, err)
}
