package jwks

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/store/sqlite/sqlitetest"
	"github.com/tollgate/tollgate/token"
)

// The fixture is a real Keyring over a real (SQLite) key store, whose JWK
// Set the tests serve over HTTP as Tollgate does. Its helpers and the
// rejection cases mirror those of the token package's tests, through the
// token package's exported API.

var ctx = context.Background()

// clock is a settable clock, safe for concurrent use.
type clock struct{ ns atomic.Int64 }

func newClock(t time.Time) *clock {
	c := &clock{}
	c.ns.Store(t.UnixNano())
	return c
}

func (c *clock) Now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *clock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

const (
	testIssuer   = "https://tollgate.test"
	testAudience = "tollgate"
	testTTL      = 15 * time.Minute
	testLeeway   = time.Minute
)

var testEpoch = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

type fixture struct {
	alg    string
	store  token.KeyStore
	sealer *token.Sealer
	clock  *clock
	kr     *token.Keyring
	vu     *token.Verifier // uncached, over kr
}

// newFixture builds a loaded keyring of alg over a fresh store.
func newFixture(t testing.TB, alg string) *fixture {
	t.Helper()
	sealer, err := token.NewSealer(bytes.Repeat([]byte{7}, token.MasterKeySize))
	if err != nil {
		t.Fatal(err)
	}
	fx := &fixture{alg: alg, store: sqlitetest.Open(t), sealer: sealer, clock: newClock(testEpoch)}
	fx.kr = token.NewKeyring(fx.store, fx.sealer, token.KeyringOptions{
		Algorithm: alg, TokenTTL: testTTL, Leeway: testLeeway, Now: fx.clock.Now,
	})
	if err := fx.kr.Load(ctx); err != nil {
		t.Fatal(err)
	}
	fx.vu = token.NewVerifier(fx.kr, token.VerifierOptions{Issuer: testIssuer, Audience: testAudience, CacheSize: -1})
	return fx
}

// newKeyID returns a random kid, as Tollgate's are.
func newKeyID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// claims returns valid claims issued now.
func (fx *fixture) claims() token.Claims {
	now := fx.clock.Now()
	return token.Claims{
		Issuer: testIssuer, Subject: "user:93", Audience: []string{testAudience},
		ExpiresAt: now.Add(testTTL), IssuedAt: now, NotBefore: now,
		ID: "jti-" + newKeyID(), SessionID: "sess-1", TenantID: "tenant-1",
		Roles: []string{"admin", "member"}, ActorType: "human",
	}
}

func (fx *fixture) sign(t testing.TB, kr *token.Keyring, c token.Claims) string {
	t.Helper()
	raw, err := kr.Sign(c)
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	return raw
}

// storedKey reads the key kid from the store.
func (fx *fixture) storedKey(t testing.TB, kid string) token.StoredKey {
	t.Helper()
	keys, err := fx.store.ListSigningKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if k.ID == kid {
			return k
		}
	}
	t.Fatalf("no key %s", kid)
	return token.StoredKey{}
}

// privateKey unseals the private key of kid from the store.
func (fx *fixture) privateKey(t testing.TB, kid string) crypto.Signer {
	t.Helper()
	k := fx.storedKey(t, kid)
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

// currentKid is the kid the keyring signs with now: that of a token it
// signs.
func (fx *fixture) currentKid(t testing.TB, kr *token.Keyring) string {
	t.Helper()
	tok, _, err := jwt.NewParser().ParseUnverified(fx.sign(t, kr, fx.claims()), &token.Claims{})
	if err != nil {
		t.Fatal(err)
	}
	kid, _ := tok.Header["kid"].(string)
	return kid
}

// rotate makes a new key that signs from now on.
func (fx *fixture) rotate(t testing.TB) {
	t.Helper()
	old := fx.currentKid(t, fx.kr)
	fx.clock.Advance(time.Second)
	if _, err := fx.kr.Rotate(ctx); err != nil {
		t.Fatal(err)
	}
	if fx.currentKid(t, fx.kr) == old {
		t.Fatal("the rotated key does not sign")
	}
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

// forgeWith signs claims with the fixture's current private key and header.
func (fx *fixture) forgeWith(t testing.TB, header map[string]any, c token.Claims) string {
	kid := fx.currentKid(t, fx.kr)
	h := map[string]any{"kid": kid, "typ": "at+jwt"}
	for k, v := range header {
		h[k] = v
	}
	key := fx.privateKey(t, kid)
	m := jwt.SigningMethod(jwt.SigningMethodEdDSA)
	if _, ok := key.(*ecdsa.PrivateKey); ok {
		m = jwt.SigningMethodES256
	}
	return forge(t, m, key, h, &c)
}

func (fx *fixture) forgeClaims(t testing.TB, edit func(*token.Claims)) string {
	c := fx.claims()
	edit(&c)
	return fx.forgeWith(t, nil, c)
}

func publicDER(t *testing.T, fx *fixture) []byte {
	return fx.storedKey(t, fx.currentKid(t, fx.kr)).PublicKey
}

func reCode(t *testing.T, seg string, edit func([]byte) []byte) string {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(edit(b))
}

// segments splits a JWT into its three parts.
func segments(raw string) []string { return strings.Split(raw, ".") }

const b64url = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// wantInvalid asserts err is the one public invalid_token error.
func wantInvalid(t testing.TB, c *token.Claims, err error) {
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

func sorted(s ...string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// rejectCase builds one token that must not verify.
type rejectCase struct {
	name string
	tok  func(t *testing.T, fx *fixture) string
}

// rejectCases are the token package's: what a Verifier over a Keyring
// rejects, a Verifier over the Keyring's JWK Set must reject too.
var rejectCases = []rejectCase{
	{"empty", func(*testing.T, *fixture) string { return "" }},
	{"garbage", func(*testing.T, *fixture) string { return "not a token" }},
	{"three empty segments", func(*testing.T, *fixture) string { return ".." }},
	{"junk segments", func(*testing.T, *fixture) string { return "a.b.c" }},
	{"header not json", func(t *testing.T, fx *fixture) string {
		p := segments(fx.sign(t, fx.kr, fx.claims()))
		return base64.RawURLEncoding.EncodeToString([]byte("{nope")) + "." + p[1] + "." + p[2]
	}},
	{"four segments", func(t *testing.T, fx *fixture) string { return fx.sign(t, fx.kr, fx.claims()) + ".x" }},
	{"too long", func(t *testing.T, fx *fixture) string {
		return fx.forgeClaims(t, func(c *token.Claims) { c.Roles = []string{strings.Repeat("r", token.MaxTokenLength)} })
	}},
	{"alg none", func(t *testing.T, fx *fixture) string {
		c := fx.claims()
		return forge(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType,
			map[string]any{"kid": fx.currentKid(t, fx.kr), "typ": "at+jwt"}, &c)
	}},
	{"alg none with the real signature", func(t *testing.T, fx *fixture) string {
		p := segments(fx.sign(t, fx.kr, fx.claims()))
		h := reCode(t, p[0], func(b []byte) []byte {
			return []byte(strings.Replace(string(b), `"alg":"`+fx.alg+`"`, `"alg":"none"`, 1))
		})
		return h + "." + p[1] + "." + p[2]
	}},
	{"HS256 keyed with the public key DER", func(t *testing.T, fx *fixture) string {
		c := fx.claims()
		return forge(t, jwt.SigningMethodHS256, publicDER(t, fx), map[string]any{"kid": fx.currentKid(t, fx.kr), "typ": "at+jwt"}, &c)
	}},
	{"HS256 keyed with the JWKS", func(t *testing.T, fx *fixture) string {
		c := fx.claims()
		return forge(t, jwt.SigningMethodHS256, fx.kr.JWKS(), map[string]any{"kid": fx.currentKid(t, fx.kr), "typ": "at+jwt"}, &c)
	}},
	{"HS256 keyed with the raw public key", func(t *testing.T, fx *fixture) string {
		c := fx.claims()
		kid := fx.currentKid(t, fx.kr)
		var raw []byte
		switch p := fx.privateKey(t, kid).Public().(type) {
		case ed25519.PublicKey:
			raw = p
		case *ecdsa.PublicKey:
			raw, _ = p.Bytes()
		}
		return forge(t, jwt.SigningMethodHS256, raw, map[string]any{"kid": kid, "typ": "at+jwt"}, &c)
	}},
	{"unknown kid", func(t *testing.T, fx *fixture) string {
		_, priv, _ := ed25519.GenerateKey(rand.Reader)
		c := fx.claims()
		return forge(t, jwt.SigningMethodEdDSA, priv, map[string]any{"kid": newKeyID(), "typ": "at+jwt"}, &c)
	}},
	{"missing kid", func(t *testing.T, fx *fixture) string {
		return fx.forgeWith(t, map[string]any{"kid": nil}, fx.claims())
	}},
	{"empty kid", func(t *testing.T, fx *fixture) string {
		return fx.forgeWith(t, map[string]any{"kid": ""}, fx.claims())
	}},
	{"kid not a string", func(t *testing.T, fx *fixture) string {
		return fx.forgeWith(t, map[string]any{"kid": 42}, fx.claims())
	}},
	{"EdDSA by another key with the same kid", func(t *testing.T, fx *fixture) string {
		_, priv, _ := ed25519.GenerateKey(rand.Reader)
		c := fx.claims()
		return forge(t, jwt.SigningMethodEdDSA, priv, map[string]any{"kid": fx.currentKid(t, fx.kr), "typ": "at+jwt"}, &c)
	}},
	{"ES256 by another key with the same kid", func(t *testing.T, fx *fixture) string {
		priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		c := fx.claims()
		return forge(t, jwt.SigningMethodES256, priv, map[string]any{"kid": fx.currentKid(t, fx.kr), "typ": "at+jwt"}, &c)
	}},
	{"alg swapped to the other algorithm, real signature", func(t *testing.T, fx *fixture) string {
		other := map[string]string{token.AlgEdDSA: token.AlgES256, token.AlgES256: token.AlgEdDSA}[fx.alg]
		p := segments(fx.sign(t, fx.kr, fx.claims()))
		h := reCode(t, p[0], func(b []byte) []byte {
			return []byte(strings.Replace(string(b), `"alg":"`+fx.alg+`"`, `"alg":"`+other+`"`, 1))
		})
		return h + "." + p[1] + "." + p[2]
	}},
	{"RS256 header", func(t *testing.T, fx *fixture) string {
		p := segments(fx.sign(t, fx.kr, fx.claims()))
		h := reCode(t, p[0], func(b []byte) []byte {
			return []byte(strings.Replace(string(b), `"alg":"`+fx.alg+`"`, `"alg":"RS256"`, 1))
		})
		return h + "." + p[1] + "." + p[2]
	}},
	{"no typ", func(t *testing.T, fx *fixture) string {
		return fx.forgeWith(t, map[string]any{"typ": nil}, fx.claims())
	}},
	{"typ JWT", func(t *testing.T, fx *fixture) string {
		return fx.forgeWith(t, map[string]any{"typ": "JWT"}, fx.claims())
	}},
	{"typ id_token+jwt", func(t *testing.T, fx *fixture) string {
		return fx.forgeWith(t, map[string]any{"typ": "id_token+jwt"}, fx.claims())
	}},
	{"expired", func(t *testing.T, fx *fixture) string {
		return fx.forgeClaims(t, func(c *token.Claims) {
			c.IssuedAt, c.NotBefore = c.IssuedAt.Add(-time.Hour), c.IssuedAt.Add(-time.Hour)
			c.ExpiresAt = fx.clock.Now().Add(-testLeeway)
		})
	}},
	{"no exp", func(t *testing.T, fx *fixture) string {
		return fx.forgeClaims(t, func(c *token.Claims) { c.ExpiresAt = time.Time{} })
	}},
	{"not yet valid", func(t *testing.T, fx *fixture) string {
		return fx.forgeClaims(t, func(c *token.Claims) { c.NotBefore = c.NotBefore.Add(testLeeway + time.Second) })
	}},
	{"issued in the future", func(t *testing.T, fx *fixture) string {
		return fx.forgeClaims(t, func(c *token.Claims) { c.IssuedAt = c.IssuedAt.Add(testLeeway + time.Second) })
	}},
	{"wrong issuer", func(t *testing.T, fx *fixture) string {
		return fx.forgeClaims(t, func(c *token.Claims) { c.Issuer = "https://evil.test" })
	}},
	{"no issuer", func(t *testing.T, fx *fixture) string {
		return fx.forgeClaims(t, func(c *token.Claims) { c.Issuer = "" })
	}},
	{"wrong audience", func(t *testing.T, fx *fixture) string {
		return fx.forgeClaims(t, func(c *token.Claims) { c.Audience = []string{"billing"} })
	}},
	{"no audience", func(t *testing.T, fx *fixture) string {
		return fx.forgeClaims(t, func(c *token.Claims) { c.Audience = nil })
	}},
	{"no sub", func(t *testing.T, fx *fixture) string {
		return fx.forgeClaims(t, func(c *token.Claims) { c.Subject = "" })
	}},
	{"no jti", func(t *testing.T, fx *fixture) string { return fx.forgeClaims(t, func(c *token.Claims) { c.ID = "" }) }},
	{"no sid", func(t *testing.T, fx *fixture) string {
		return fx.forgeClaims(t, func(c *token.Claims) { c.SessionID = "" })
	}},
	{"tampered payload", func(t *testing.T, fx *fixture) string {
		p := segments(fx.sign(t, fx.kr, fx.claims()))
		body := reCode(t, p[1], func(b []byte) []byte { return []byte(strings.Replace(string(b), "user:93", "user:94", 1)) })
		return p[0] + "." + body + "." + p[2]
	}},
	{"tampered roles", func(t *testing.T, fx *fixture) string {
		p := segments(fx.sign(t, fx.kr, fx.claims()))
		body := reCode(t, p[1], func(b []byte) []byte { return []byte(strings.Replace(string(b), `"admin"`, `"owner"`, 1)) })
		return p[0] + "." + body + "." + p[2]
	}},
	{"tampered signature", func(t *testing.T, fx *fixture) string {
		p := segments(fx.sign(t, fx.kr, fx.claims()))
		return p[0] + "." + p[1] + "." + reCode(t, p[2], func(b []byte) []byte { b[len(b)/2] ^= 1; return b })
	}},
	{"truncated signature", func(t *testing.T, fx *fixture) string {
		p := segments(fx.sign(t, fx.kr, fx.claims()))
		return p[0] + "." + p[1] + "." + reCode(t, p[2], func(b []byte) []byte { return b[:len(b)-1] })
	}},
	{"no signature", func(t *testing.T, fx *fixture) string {
		p := segments(fx.sign(t, fx.kr, fx.claims()))
		return p[0] + "." + p[1] + "."
	}},
	{"non-canonical base64 signature", func(t *testing.T, fx *fixture) string {
		// 64-byte signatures end in a character carrying 2 unused bits.
		raw := fx.sign(t, fx.kr, fx.claims())
		last := raw[len(raw)-1]
		i := strings.IndexByte(b64url, last)
		return raw[:len(raw)-1] + string(b64url[i^1])
	}},
	{"padded base64 signature", func(t *testing.T, fx *fixture) string {
		return fx.sign(t, fx.kr, fx.claims()) + "=="
	}},
}
