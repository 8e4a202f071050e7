package token

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/tollgate/tollgate/fault"
)

var ctx = context.Background()

func TestLoadGeneratesOnce(t *testing.T) {
	for _, alg := range []string{AlgEdDSA, AlgES256} {
		t.Run(alg, func(t *testing.T) {
			fx := newFixture(t, alg)
			ids := fx.store.ids()
			if len(ids) != 1 {
				t.Fatalf("keys %v", ids)
			}
			k, _ := fx.store.get(ids[0])
			if k.Algorithm != alg || !k.CreatedAt.Equal(testEpoch) || len(k.ID) != 22 {
				t.Fatalf("stored %+v", k)
			}
			if bytes.Contains(k.SealedPrivateKey, mustPKCS8(t, fx, k.ID)) {
				t.Fatal("the private key is stored in the clear")
			}
			// Loading again, here or in another replica, reuses the key.
			if err := fx.kr.Load(ctx); err != nil {
				t.Fatal(err)
			}
			if err := fx.keyring(KeyringOptions{Algorithm: alg}).Load(ctx); err != nil {
				t.Fatal(err)
			}
			if got := fx.store.ids(); !reflect.DeepEqual(got, ids) {
				t.Fatalf("keys %v, want %v", got, ids)
			}
		})
	}
}

func mustPKCS8(t *testing.T, fx *fixture, kid string) []byte {
	der, err := x509.MarshalPKCS8PrivateKey(fx.privateKey(t, kid))
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func TestLoadRejectsUnknownAlgorithm(t *testing.T) {
	sealer, _ := NewSealer(testMasterKey(1))
	kr := NewKeyring(newMemStore(), sealer, KeyringOptions{Algorithm: "HS256"})
	if err := kr.Load(ctx); !errors.Is(err, &fault.Error{Code: "unsupported_algorithm"}) {
		t.Fatalf("Load: %v", err)
	}
}

func TestRefreshNeverGenerates(t *testing.T) {
	sealer, _ := NewSealer(testMasterKey(1))
	st := newMemStore()
	kr := NewKeyring(st, sealer, KeyringOptions{})
	if err := kr.Refresh(ctx); !errors.Is(err, &fault.Error{Code: "no_signing_keys"}) {
		t.Fatalf("Refresh: %v", err)
	}
	if len(st.ids()) != 0 {
		t.Fatal("Refresh generated a key")
	}
}

// Two replicas starting on an empty store: the loser of the insert race
// uses the winner's key.
func TestLoadConflict(t *testing.T) {
	fx := newFixture(t, AlgEdDSA)
	winner := fx.store.ids()[0]
	st := newMemStore()
	w, _ := fx.store.get(winner)
	st.beforeInsert = func(s *memStore, k StoredKey) error {
		_ = s.put(w)
		return fault.Conflictf("key_exists", "raced")
	}
	kr := NewKeyring(st, fx.sealer, KeyringOptions{Now: fx.clock.Now})
	if err := kr.Load(ctx); err != nil {
		t.Fatal(err)
	}
	if got := fx.currentKid(kr); got != winner {
		t.Fatalf("signs with %s, want %s", got, winner)
	}
	// Any other insert failure is reported.
	st = newMemStore()
	st.beforeInsert = func(*memStore, StoredKey) error { return errors.New("disk full") }
	if err := NewKeyring(st, fx.sealer, KeyringOptions{}).Load(ctx); err == nil {
		t.Fatal("Load hid an insert error")
	}
}

func TestLoadWrongMasterKey(t *testing.T) {
	fx := newFixture(t, AlgEdDSA)
	other, _ := NewSealer(testMasterKey(8))
	kr := NewKeyring(fx.store, other, KeyringOptions{})
	if err := kr.Load(ctx); !errors.Is(err, &fault.Error{Code: "key_unseal_failed"}) {
		t.Fatalf("Load: %v", err)
	}
	if kr.snap.Load() != nil {
		t.Fatal("a snapshot was installed")
	}
}

func TestLoadRejectsBadRows(t *testing.T) {
	fx := newFixture(t, AlgEdDSA)
	good, _ := fx.store.get(fx.store.ids()[0])
	es := newFixture(t, AlgES256)
	ec, _ := es.store.get(es.store.ids()[0])
	tests := []struct {
		name string
		edit func(k *StoredKey)
	}{
		{"algorithm mislabelled", func(k *StoredKey) { k.Algorithm = AlgES256 }},
		{"unknown algorithm", func(k *StoredKey) { k.Algorithm = "RS256" }},
		{"public key garbage", func(k *StoredKey) { k.PublicKey = []byte("junk") }},
		{"public key of another key", func(k *StoredKey) {
			pub, _, _ := ed25519.GenerateKey(nil)
			k.PublicKey, _ = x509.MarshalPKIXPublicKey(pub)
		}},
		{"EC public key on another curve", func(k *StoredKey) {
			p, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
			k.Algorithm = AlgES256
			k.PublicKey, _ = x509.MarshalPKIXPublicKey(&p.PublicKey)
		}},
		{"sealed for another id", func(k *StoredKey) { k.SealedPrivateKey = ec.SealedPrivateKey }},
		{"sealed blob truncated", func(k *StoredKey) { k.SealedPrivateKey = k.SealedPrivateKey[:10] }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := cloneKey(good)
			tt.edit(&k)
			st := newMemStore()
			_ = st.put(k)
			if err := NewKeyring(st, fx.sealer, KeyringOptions{Now: fx.clock.Now}).Load(ctx); fault.KindOf(err) != fault.Internal || err == nil {
				t.Fatalf("Load: %v", err)
			}
		})
	}
}

func TestRotationAndPrune(t *testing.T) {
	for _, alg := range []string{AlgEdDSA, AlgES256} {
		t.Run(alg, func(t *testing.T) {
			fx := newFixture(t, alg)
			k1 := fx.currentKid(fx.kr)
			old := fx.sign(t, fx.kr, fx.claims())
			// Outlives its key on purpose, so that only unpublishing stops it.
			longLived := fx.forgeClaims(t, func(c *Claims) { c.ExpiresAt = c.ExpiresAt.Add(3 * time.Hour) })
			verifies(t, fx, old, longLived)

			fx.clock.Advance(2 * time.Minute)
			k2Stored, err := fx.kr.Rotate(ctx)
			if err != nil {
				t.Fatal(err)
			}
			k2 := k2Stored.ID
			if k2 == k1 || fx.currentKid(fx.kr) != k2 || k2Stored.Algorithm != alg {
				t.Fatalf("after Rotate signing with %s (old %s, new %s)", fx.currentKid(fx.kr), k1, k2)
			}
			fresh := fx.sign(t, fx.kr, fx.claims())
			if headerKid(t, fresh) != k2 || headerKid(t, old) != k1 {
				t.Fatal("wrong kid headers")
			}
			if got := jwksKids(t, fx.kr); !reflect.DeepEqual(got, sorted(k1, k2)) {
				t.Fatalf("JWKS %v", got)
			}
			verifies(t, fx, old, longLived, fresh)

			// Until the successor is TTL+leeway old, the old key stays.
			fx.clock.Set(k2Stored.CreatedAt.Add(testTTL + testLeeway - time.Second))
			deleted, err := fx.kr.Prune(ctx)
			if err != nil || len(deleted) != 0 {
				t.Fatalf("Prune: %v, %v", deleted, err)
			}
			if got := jwksKids(t, fx.kr); !reflect.DeepEqual(got, sorted(k1, k2)) {
				t.Fatalf("JWKS %v", got)
			}
			verifies(t, fx, longLived)

			// Then a Refresh alone unpublishes it, cached tokens included.
			fx.clock.Set(k2Stored.CreatedAt.Add(testTTL + testLeeway))
			if err := fx.kr.Refresh(ctx); err != nil {
				t.Fatal(err)
			}
			if got := jwksKids(t, fx.kr); !reflect.DeepEqual(got, []string{k2}) {
				t.Fatalf("JWKS %v", got)
			}
			c, err := fx.v.Verify(longLived)
			wantInvalid(t, c, err)
			if !errors.Is(err, errKeyRetired) {
				t.Fatalf("not rejected on the cached path: %v", err)
			}
			c, err = fx.vu.Verify(longLived)
			wantInvalid(t, c, err)

			// Prune deletes it from the store.
			deleted, err = fx.kr.Prune(ctx)
			if err != nil || !reflect.DeepEqual(deleted, []string{k1}) {
				t.Fatalf("Prune: %v, %v", deleted, err)
			}
			if got := fx.store.ids(); !reflect.DeepEqual(got, []string{k2}) {
				t.Fatalf("store %v", got)
			}
			verifies(t, fx, fx.sign(t, fx.kr, fx.claims()))
			// Pruning again is a no-op, and never deletes the last key.
			fx.clock.Advance(48 * time.Hour)
			if deleted, err := fx.kr.Prune(ctx); err != nil || len(deleted) != 0 {
				t.Fatalf("Prune: %v, %v", deleted, err)
			}
		})
	}
}

func verifies(t *testing.T, fx *fixture, toks ...string) {
	t.Helper()
	for i, raw := range toks {
		for _, v := range []*Verifier{fx.v, fx.vu} {
			if _, err := v.Verify(raw); err != nil {
				t.Fatalf("token %d: %v", i, err)
			}
		}
	}
}

// Several quick rotations: each key stays until its own successor is old.
func TestPublishedChain(t *testing.T) {
	fx := newFixture(t, AlgEdDSA)
	kids := []string{fx.currentKid(fx.kr)}
	var created []time.Time
	for range 3 {
		fx.clock.Advance(5 * time.Minute)
		k, err := fx.kr.Rotate(ctx)
		if err != nil {
			t.Fatal(err)
		}
		kids = append(kids, k.ID)
		created = append(created, k.CreatedAt)
	}
	if got := jwksKids(t, fx.kr); !reflect.DeepEqual(got, sorted(kids...)) {
		t.Fatalf("JWKS %v, want all of %v", got, kids)
	}
	fx.clock.Set(created[0].Add(testTTL + testLeeway))
	if err := fx.kr.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if got := jwksKids(t, fx.kr); !reflect.DeepEqual(got, sorted(kids[1:]...)) {
		t.Fatalf("JWKS %v, want %v", got, kids[1:])
	}
}

func TestActivationDelay(t *testing.T) {
	fx := newFixture(t, AlgEdDSA)
	fx.clock.Advance(2 * time.Minute)
	kr := fx.keyring(KeyringOptions{ActivationDelay: time.Minute})
	if err := kr.Load(ctx); err != nil {
		t.Fatal(err)
	}
	k1 := fx.currentKid(kr)
	k2, err := kr.Rotate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := jwksKids(t, kr); !reflect.DeepEqual(got, sorted(k1, k2.ID)) {
		t.Fatalf("JWKS %v", got)
	}
	if kid := headerKid(t, fx.sign(t, kr, fx.claims())); kid != k1 {
		t.Fatalf("signed with %s before activation", kid)
	}
	fx.clock.Advance(time.Minute) // no reload needed
	if kid := headerKid(t, fx.sign(t, kr, fx.claims())); kid != k2.ID {
		t.Fatalf("signed with %s after activation", kid)
	}
	// The old key is published for TTL+leeway after the new one activated.
	fx.clock.Set(k2.CreatedAt.Add(time.Minute + testTTL + testLeeway - time.Second))
	if err := kr.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if len(jwksKids(t, kr)) != 2 {
		t.Fatal("old key unpublished too early")
	}
	fx.clock.Advance(time.Second)
	if err := kr.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if got := jwksKids(t, kr); !reflect.DeepEqual(got, []string{k2.ID}) {
		t.Fatalf("JWKS %v", got)
	}
}

// A key created "in the future" by a replica whose clock is ahead is
// published at once but does not sign until its time comes.
func TestFutureKey(t *testing.T) {
	fx := newFixture(t, AlgEdDSA)
	k1 := fx.currentKid(fx.kr)
	ahead := newFixture(t, AlgEdDSA)
	ahead.store, ahead.clock = fx.store, newClock(testEpoch.Add(30*time.Second))
	k2, err := ahead.keyring(KeyringOptions{}).Rotate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := fx.kr.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if fx.currentKid(fx.kr) != k1 || !slices.Contains(jwksKids(t, fx.kr), k2.ID) {
		t.Fatal("future key should be published, not used")
	}
	fx.clock.Advance(30 * time.Second)
	if fx.currentKid(fx.kr) != k2.ID {
		t.Fatal("future key not used once its time came")
	}
}

// Another replica (or the admin CLI) rotates; this one follows on Refresh.
func TestReplicaFollowsRotation(t *testing.T) {
	fx := newFixture(t, AlgEdDSA)
	other := fx.keyring(KeyringOptions{})
	if err := other.Load(ctx); err != nil {
		t.Fatal(err)
	}
	otherV := fx.verifier(other, 0)
	before := fx.sign(t, other, fx.claims())
	verifies(t, fx, before)

	fx.clock.Advance(time.Minute)
	k2, err := fx.kr.Rotate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	fresh := fx.sign(t, fx.kr, fx.claims())
	c, err := otherV.Verify(fresh)
	wantInvalid(t, c, err)

	if err := other.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := otherV.Verify(fresh); err != nil {
		t.Fatalf("after Refresh: %v", err)
	}
	if _, err := otherV.Verify(before); err != nil {
		t.Fatalf("old token after Refresh: %v", err)
	}
	if kid := headerKid(t, fx.sign(t, other, fx.claims())); kid != k2.ID {
		t.Fatalf("replica signs with %s, want %s", kid, k2.ID)
	}
	if !bytes.Equal(other.JWKS(), fx.kr.JWKS()) {
		t.Fatal("replicas publish different JWKS")
	}
}

func TestRefreshKeepsSnapshotOnError(t *testing.T) {
	fx := newFixture(t, AlgEdDSA)
	raw := fx.sign(t, fx.kr, fx.claims())
	fx.store.listErr = errors.New("db down")
	if err := fx.kr.Refresh(ctx); err == nil {
		t.Fatal("Refresh hid the error")
	}
	if _, err := fx.vu.Verify(raw); err != nil {
		t.Fatal(err)
	}
	if _, err := fx.kr.Sign(fx.claims()); err != nil {
		t.Fatal(err)
	}
}

// Snapshots share VerificationKey pointers across reloads, so a Refresh does
// not invalidate the token cache.
func TestRefreshKeepsCache(t *testing.T) {
	fx := newFixture(t, AlgEdDSA)
	raw := fx.sign(t, fx.kr, fx.claims())
	a, _ := fx.v.Verify(raw)
	if err := fx.kr.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	b, err := fx.v.Verify(raw)
	if err != nil || a != b {
		t.Fatalf("cache lost across Refresh: %v", err)
	}
}

func TestJWKS(t *testing.T) {
	for _, alg := range []string{AlgEdDSA, AlgES256} {
		t.Run(alg, func(t *testing.T) {
			fx := newFixture(t, alg)
			fx.clock.Advance(time.Minute)
			if _, err := fx.kr.Rotate(ctx); err != nil {
				t.Fatal(err)
			}
			var set map[string][]map[string]string
			if err := json.Unmarshal(fx.kr.JWKS(), &set); err != nil {
				t.Fatal(err)
			}
			if len(set) != 1 || len(set["keys"]) != 2 {
				t.Fatalf("JWKS %s", fx.kr.JWKS())
			}
			for _, j := range set["keys"] {
				stored, ok := fx.store.get(j["kid"])
				if !ok {
					t.Fatalf("unknown kid %q", j["kid"])
				}
				var fields []string
				for f := range j {
					fields = append(fields, f)
				}
				slices.Sort(fields)
				x := b64(t, j["x"])
				var pub any
				switch alg {
				case AlgEdDSA:
					if !reflect.DeepEqual(fields, []string{"alg", "crv", "kid", "kty", "use", "x"}) ||
						j["kty"] != "OKP" || j["crv"] != "Ed25519" || j["alg"] != "EdDSA" || j["use"] != "sig" {
						t.Fatalf("JWK %v", j)
					}
					pub = ed25519.PublicKey(x)
				case AlgES256:
					if !reflect.DeepEqual(fields, []string{"alg", "crv", "kid", "kty", "use", "x", "y"}) ||
						j["kty"] != "EC" || j["crv"] != "P-256" || j["alg"] != "ES256" || j["use"] != "sig" {
						t.Fatalf("JWK %v", j)
					}
					y := b64(t, j["y"])
					if len(x) != 32 || len(y) != 32 {
						t.Fatalf("coordinates of %d and %d bytes", len(x), len(y))
					}
					p, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, x...), y...))
					if err != nil {
						t.Fatal(err)
					}
					pub = p
				}
				der, err := x509.MarshalPKIXPublicKey(pub)
				if err != nil || !bytes.Equal(der, stored.PublicKey) {
					t.Fatalf("JWK %s does not match the stored key: %v", j["kid"], err)
				}
			}
		})
	}
}

func b64(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A rotation within the clock's resolution still produces the newest key.
func TestRotateSameInstant(t *testing.T) {
	fx := newFixture(t, AlgEdDSA)
	k1, _ := fx.store.get(fx.currentKid(fx.kr))
	k2, err := fx.kr.Rotate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !k2.CreatedAt.After(k1.CreatedAt) {
		t.Fatalf("new key created at %v, old at %v", k2.CreatedAt, k1.CreatedAt)
	}
	fx.clock.Set(k2.CreatedAt)
	if fx.currentKid(fx.kr) != k2.ID {
		t.Fatal("rotation did not take effect")
	}
}
