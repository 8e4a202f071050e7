package token

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/tollgate/tollgate/fault"
)

// memStore is an in-memory KeyStore double. The real stores are tested
// against the contract in store/storetest.
type memStore struct {
	mu   sync.Mutex
	keys map[string]StoredKey
	// beforeInsert, when set, runs before every insert; a non-nil error is
	// returned instead of inserting.
	beforeInsert func(s *memStore, k StoredKey) error
	listErr      error
}

func newMemStore() *memStore { return &memStore{keys: map[string]StoredKey{}} }

func cloneKey(k StoredKey) StoredKey {
	k.PublicKey = bytes.Clone(k.PublicKey)
	k.SealedPrivateKey = bytes.Clone(k.SealedPrivateKey)
	return k
}

func (s *memStore) InsertSigningKey(_ context.Context, k StoredKey) error {
	if s.beforeInsert != nil {
		if err := s.beforeInsert(s, k); err != nil {
			return err
		}
	}
	return s.put(k)
}

func (s *memStore) put(k StoredKey) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.keys[k.ID]; ok {
		return fault.Conflictf("key_exists", "signing key %s exists", k.ID)
	}
	s.keys[k.ID] = cloneKey(k)
	return nil
}

func (s *memStore) ListSigningKeys(context.Context) ([]StoredKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.listErr != nil {
		return nil, s.listErr
	}
	out := make([]StoredKey, 0, len(s.keys))
	for _, k := range s.keys {
		out = append(out, cloneKey(k))
	}
	slices.SortFunc(out, func(a, b StoredKey) int { return b.CreatedAt.Compare(a.CreatedAt) })
	return out, nil
}

func (s *memStore) DeleteSigningKey(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.keys[id]; !ok {
		return fault.NotFoundf("key_not_found", "no signing key %s", id)
	}
	delete(s.keys, id)
	return nil
}

func (s *memStore) ids() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []string
	for id := range s.keys {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

func (s *memStore) get(id string) (StoredKey, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k, ok := s.keys[id]
	return cloneKey(k), ok
}

// clock is a settable clock, safe for concurrent use.
type clock struct{ ns atomic.Int64 }

func newClock(t time.Time) *clock {
	c := &clock{}
	c.ns.Store(t.UnixNano())
	return c
}

func (c *clock) Now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *clock) Advance(d time.Duration) { c.ns.Add(int64(d)) }
func (c *clock) Set(t time.Time)         { c.ns.Store(t.UnixNano()) }

const (
	testIssuer   = "https://tollgate.test"
	testAudience = "tollgate"
	testTTL      = 15 * time.Minute
	testLeeway   = time.Minute
)

var testEpoch = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

type fixture struct {
	store  *memStore
	sealer *Sealer
	clock  *clock
	kr     *Keyring
	v      *Verifier // cached
	vu     *Verifier // uncached
}

func testMasterKey(b byte) []byte { return bytes.Repeat([]byte{b}, MasterKeySize) }

// newFixture builds a loaded keyring of alg over a fresh store.
func newFixture(t testing.TB, alg string) *fixture {
	t.Helper()
	sealer, err := NewSealer(testMasterKey(7))
	if err != nil {
		t.Fatal(err)
	}
	fx := &fixture{store: newMemStore(), sealer: sealer, clock: newClock(testEpoch)}
	fx.kr = fx.keyring(KeyringOptions{Algorithm: alg})
	if err := fx.kr.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	fx.v = fx.verifier(fx.kr, 0)
	fx.vu = fx.verifier(fx.kr, -1)
	return fx
}

// keyring returns another keyring on the fixture's store and clock, like a
// second replica would have.
func (fx *fixture) keyring(opts KeyringOptions) *Keyring {
	opts.TokenTTL, opts.Leeway, opts.Now = testTTL, testLeeway, fx.clock.Now
	return NewKeyring(fx.store, fx.sealer, opts)
}

func (fx *fixture) verifier(kr *Keyring, cacheSize int) *Verifier {
	return NewVerifier(kr, VerifierOptions{Issuer: testIssuer, Audience: testAudience, CacheSize: cacheSize})
}

// claims returns valid claims issued now.
func (fx *fixture) claims() Claims {
	now := fx.clock.Now()
	return Claims{
		Issuer: testIssuer, Subject: "user:93", Audience: []string{testAudience},
		ExpiresAt: now.Add(testTTL), IssuedAt: now, NotBefore: now,
		ID: "jti-" + newKeyID(), SessionID: "sess-1", TenantID: "tenant-1",
		Roles: []string{"admin", "member"}, ActorType: "human",
	}
}

func (fx *fixture) sign(t testing.TB, kr *Keyring, c Claims) string {
	t.Helper()
	raw, err := kr.Sign(c)
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	return raw
}

// privateKey unseals the private key of kid from the store.
func (fx *fixture) privateKey(t testing.TB, kid string) crypto.Signer {
	t.Helper()
	k, ok := fx.store.get(kid)
	if !ok {
		t.Fatalf("no key %s", kid)
	}
	der, err := fx.sealer.Open(k.ID, k.SealedPrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	p, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		t.Fatal(err)
	}
	return p.(crypto.Signer)
}

// currentKid is the kid the keyring signs with now.
func (fx *fixture) currentKid(kr *Keyring) string {
	return kr.snap.Load().signer(fx.clock.Now()).id
}

// forge signs arbitrary header fields and claims, bypassing Sign's checks.
func forge(t testing.TB, m jwt.SigningMethod, key any, header map[string]any, claims jwt.Claims) string {
	t.Helper()
	tok := jwt.NewWithClaims(m, claims)
	for k, v := range header {
		if v == nil {
			delete(tok.Header, k)
		} else {
			tok.Header[k] = v
		}
	}
	raw, err := tok.SignedString(key)
	if err != nil {
		t.Fatalf("forge: %v", err)
	}
	return raw
}

// headerKid decodes the kid header of raw without verifying it.
func headerKid(t testing.TB, raw string) string {
	t.Helper()
	tok, _, err := jwt.NewParser().ParseUnverified(raw, &Claims{})
	if err != nil {
		t.Fatal(err)
	}
	kid, _ := tok.Header["kid"].(string)
	return kid
}

// wantInvalid asserts err is the one public invalid_token error.
func wantInvalid(t testing.TB, c *Claims, err error) {
	t.Helper()
	var fe *fault.Error
	if !errors.As(err, &fe) {
		t.Fatalf("got claims %+v, err %v; want invalid_token", c, err)
	}
	if fe.Kind != fault.Unauthenticated || fe.Code != "invalid_token" || fe.Detail != "the access token is invalid or expired" {
		t.Fatalf("got %#v, want Unauthenticated invalid_token", fe)
	}
	if c != nil {
		t.Fatalf("got claims %+v alongside an error", c)
	}
}

func jwksKids(t testing.TB, kr *Keyring) []string {
	t.Helper()
	var set struct {
		Keys []struct {
			Kid string `json:"kid"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(kr.JWKS(), &set); err != nil {
		t.Fatalf("JWKS: %v", err)
	}
	var kids []string
	for _, k := range set.Keys {
		kids = append(kids, k.Kid)
	}
	slices.Sort(kids)
	return kids
}

func sorted(s ...string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// segments splits a JWT into its three parts.
func segments(raw string) []string { return strings.Split(raw, ".") }
