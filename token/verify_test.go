package token

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/tollgate/tollgate/cache"
	"github.com/tollgate/tollgate/fault"
)

func TestSignVerifyRoundTrip(t *testing.T) {
	for _, alg := range []string{AlgEdDSA, AlgES256} {
		t.Run(alg, func(t *testing.T) {
			fx := newFixture(t, alg)
			in := fx.claims()
			in.Act = &Actor{Subject: "agent:7f3a", Act: &Actor{Subject: "service:runtime"}}
			raw := fx.sign(t, fx.kr, in)

			tok, _, err := jwt.NewParser().ParseUnverified(raw, &Claims{})
			if err != nil {
				t.Fatal(err)
			}
			if tok.Header["alg"] != alg || tok.Header["typ"] != "at+jwt" || tok.Header["kid"] != fx.currentKid(fx.kr) {
				t.Fatalf("header %v", tok.Header)
			}
			want := in
			want.ExpiresAt = in.ExpiresAt.Truncate(time.Second)
			want.IssuedAt = in.IssuedAt.Truncate(time.Second)
			want.NotBefore = in.NotBefore.Truncate(time.Second)
			for name, v := range map[string]*Verifier{"cached": fx.v, "uncached": fx.vu} {
				got, err := v.Verify(raw)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if !reflect.DeepEqual(*got, want) {
					t.Fatalf("%s:\n got %+v\nwant %+v", name, *got, want)
				}
			}
		})
	}
}

func TestSignDefaultsIssuedAt(t *testing.T) {
	fx := newFixture(t, AlgEdDSA)
	c := fx.claims()
	c.IssuedAt = time.Time{}
	got, err := fx.vu.Verify(fx.sign(t, fx.kr, c))
	if err != nil {
		t.Fatal(err)
	}
	if !got.IssuedAt.Equal(fx.clock.Now()) {
		t.Fatalf("iat %v, want %v", got.IssuedAt, fx.clock.Now())
	}
}

func TestSignRejectsClaims(t *testing.T) {
	fx := newFixture(t, AlgEdDSA)
	now := fx.clock.Now()
	tests := []struct {
		name   string
		modify func(*Claims)
	}{
		{"no sub", func(c *Claims) { c.Subject = "" }},
		{"no jti", func(c *Claims) { c.ID = "" }},
		{"no sid", func(c *Claims) { c.SessionID = "" }},
		{"no exp", func(c *Claims) { c.ExpiresAt = time.Time{} }},
		{"exp now", func(c *Claims) { c.ExpiresAt = now }},
		{"exp past", func(c *Claims) { c.ExpiresAt = now.Add(-time.Second) }},
		{"exp beyond ttl and leeway", func(c *Claims) { c.ExpiresAt = now.Add(testTTL + testLeeway + time.Second) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := fx.claims()
			tt.modify(&c)
			raw, err := fx.kr.Sign(c)
			if fault.KindOf(err) != fault.Internal || !errors.Is(err, &fault.Error{Code: "token_claims_invalid"}) || raw != "" {
				t.Fatalf("got %q, %v", raw, err)
			}
		})
	}
}

func TestBeforeLoad(t *testing.T) {
	sealer, _ := NewSealer(testMasterKey(1))
	kr := NewKeyring(newMemStore(), sealer, KeyringOptions{})
	if _, err := kr.Sign(Claims{}); fault.KindOf(err) != fault.Unavailable {
		t.Fatalf("Sign: %v", err)
	}
	c, err := NewVerifier(kr, VerifierOptions{}).Verify("a.b.c")
	wantInvalid(t, c, err)
	if string(kr.JWKS()) != `{"keys":[]}` {
		t.Fatalf("JWKS %s", kr.JWKS())
	}
}

// rejectCase builds one token that must not verify.
type rejectCase struct {
	name string
	tok  func(t *testing.T, fx *fixture) string
}

func reCode(t *testing.T, seg string, edit func([]byte) []byte) string {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(edit(b))
}

// forgeWith signs claims with the fixture's current private key and header.
func (fx *fixture) forgeWith(t testing.TB, header map[string]any, c Claims) string {
	kid := fx.currentKid(fx.kr)
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

func (fx *fixture) forgeClaims(t testing.TB, edit func(*Claims)) string {
	c := fx.claims()
	edit(&c)
	return fx.forgeWith(t, nil, c)
}

func publicDER(t *testing.T, fx *fixture) []byte {
	k, _ := fx.store.get(fx.currentKid(fx.kr))
	return k.PublicKey
}

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
		return fx.forgeClaims(t, func(c *Claims) { c.Roles = []string{strings.Repeat("r", MaxTokenLength)} })
	}},
	{"alg none", func(t *testing.T, fx *fixture) string {
		c := fx.claims()
		return forge(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType,
			map[string]any{"kid": fx.currentKid(fx.kr), "typ": "at+jwt"}, &c)
	}},
	{"alg none with the real signature", func(t *testing.T, fx *fixture) string {
		p := segments(fx.sign(t, fx.kr, fx.claims()))
		h := reCode(t, p[0], func(b []byte) []byte {
			return []byte(strings.Replace(string(b), `"alg":"`+fx.kr.opts.Algorithm+`"`, `"alg":"none"`, 1))
		})
		return h + "." + p[1] + "." + p[2]
	}},
	{"HS256 keyed with the public key DER", func(t *testing.T, fx *fixture) string {
		c := fx.claims()
		return forge(t, jwt.SigningMethodHS256, publicDER(t, fx), map[string]any{"kid": fx.currentKid(fx.kr), "typ": "at+jwt"}, &c)
	}},
	{"HS256 keyed with the JWKS", func(t *testing.T, fx *fixture) string {
		c := fx.claims()
		return forge(t, jwt.SigningMethodHS256, fx.kr.JWKS(), map[string]any{"kid": fx.currentKid(fx.kr), "typ": "at+jwt"}, &c)
	}},
	{"HS256 keyed with the raw public key", func(t *testing.T, fx *fixture) string {
		c := fx.claims()
		var raw []byte
		switch p := fx.kr.snap.Load().keys[fx.currentKid(fx.kr)].pub.(type) {
		case ed25519.PublicKey:
			raw = p
		case *ecdsa.PublicKey:
			raw, _ = p.Bytes()
		}
		return forge(t, jwt.SigningMethodHS256, raw, map[string]any{"kid": fx.currentKid(fx.kr), "typ": "at+jwt"}, &c)
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
		return forge(t, jwt.SigningMethodEdDSA, priv, map[string]any{"kid": fx.currentKid(fx.kr), "typ": "at+jwt"}, &c)
	}},
	{"ES256 by another key with the same kid", func(t *testing.T, fx *fixture) string {
		priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		c := fx.claims()
		return forge(t, jwt.SigningMethodES256, priv, map[string]any{"kid": fx.currentKid(fx.kr), "typ": "at+jwt"}, &c)
	}},
	{"alg swapped to the other algorithm, real signature", func(t *testing.T, fx *fixture) string {
		other := map[string]string{AlgEdDSA: AlgES256, AlgES256: AlgEdDSA}[fx.kr.opts.Algorithm]
		p := segments(fx.sign(t, fx.kr, fx.claims()))
		h := reCode(t, p[0], func(b []byte) []byte {
			return []byte(strings.Replace(string(b), `"alg":"`+fx.kr.opts.Algorithm+`"`, `"alg":"`+other+`"`, 1))
		})
		return h + "." + p[1] + "." + p[2]
	}},
	{"RS256 header", func(t *testing.T, fx *fixture) string {
		p := segments(fx.sign(t, fx.kr, fx.claims()))
		h := reCode(t, p[0], func(b []byte) []byte {
			return []byte(strings.Replace(string(b), `"alg":"`+fx.kr.opts.Algorithm+`"`, `"alg":"RS256"`, 1))
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
		return fx.forgeClaims(t, func(c *Claims) {
			c.IssuedAt, c.NotBefore = c.IssuedAt.Add(-time.Hour), c.IssuedAt.Add(-time.Hour)
			c.ExpiresAt = fx.clock.Now().Add(-testLeeway)
		})
	}},
	{"no exp", func(t *testing.T, fx *fixture) string {
		return fx.forgeClaims(t, func(c *Claims) { c.ExpiresAt = time.Time{} })
	}},
	{"not yet valid", func(t *testing.T, fx *fixture) string {
		return fx.forgeClaims(t, func(c *Claims) { c.NotBefore = c.NotBefore.Add(testLeeway + time.Second) })
	}},
	{"issued in the future", func(t *testing.T, fx *fixture) string {
		return fx.forgeClaims(t, func(c *Claims) { c.IssuedAt = c.IssuedAt.Add(testLeeway + time.Second) })
	}},
	{"wrong issuer", func(t *testing.T, fx *fixture) string {
		return fx.forgeClaims(t, func(c *Claims) { c.Issuer = "https://evil.test" })
	}},
	{"no issuer", func(t *testing.T, fx *fixture) string { return fx.forgeClaims(t, func(c *Claims) { c.Issuer = "" }) }},
	{"wrong audience", func(t *testing.T, fx *fixture) string {
		return fx.forgeClaims(t, func(c *Claims) { c.Audience = []string{"billing"} })
	}},
	{"no audience", func(t *testing.T, fx *fixture) string { return fx.forgeClaims(t, func(c *Claims) { c.Audience = nil }) }},
	{"no sub", func(t *testing.T, fx *fixture) string { return fx.forgeClaims(t, func(c *Claims) { c.Subject = "" }) }},
	{"no jti", func(t *testing.T, fx *fixture) string { return fx.forgeClaims(t, func(c *Claims) { c.ID = "" }) }},
	{"no sid", func(t *testing.T, fx *fixture) string { return fx.forgeClaims(t, func(c *Claims) { c.SessionID = "" }) }},
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

const b64url = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

func TestVerifyRejects(t *testing.T) {
	for _, alg := range []string{AlgEdDSA, AlgES256} {
		t.Run(alg, func(t *testing.T) {
			fx := newFixture(t, alg)
			for _, rc := range rejectCases {
				t.Run(rc.name, func(t *testing.T) {
					raw := rc.tok(t, fx)
					for _, v := range []*Verifier{fx.vu, fx.v, fx.v} { // twice: never cached
						c, err := v.Verify(raw)
						wantInvalid(t, c, err)
					}
				})
			}
		})
	}
}

func TestVerifyAccepts(t *testing.T) {
	tests := []struct {
		name string
		tok  func(t *testing.T, fx *fixture) string
	}{
		{"typ upper case", func(t *testing.T, fx *fixture) string {
			return fx.forgeWith(t, map[string]any{"typ": "AT+JWT"}, fx.claims())
		}},
		{"typ media type", func(t *testing.T, fx *fixture) string {
			return fx.forgeWith(t, map[string]any{"typ": "application/at+jwt"}, fx.claims())
		}},
		{"aud among several", func(t *testing.T, fx *fixture) string {
			return fx.forgeClaims(t, func(c *Claims) { c.Audience = []string{"billing", testAudience} })
		}},
		{"expired within leeway", func(t *testing.T, fx *fixture) string {
			return fx.forgeClaims(t, func(c *Claims) {
				c.IssuedAt, c.NotBefore = c.IssuedAt.Add(-time.Hour), c.IssuedAt.Add(-time.Hour)
				c.ExpiresAt = fx.clock.Now().Add(-testLeeway + time.Second)
			})
		}},
		{"nbf within leeway", func(t *testing.T, fx *fixture) string {
			return fx.forgeClaims(t, func(c *Claims) { c.NotBefore = c.NotBefore.Add(testLeeway) })
		}},
		{"no nbf, no iat", func(t *testing.T, fx *fixture) string {
			return fx.forgeClaims(t, func(c *Claims) { c.NotBefore, c.IssuedAt = time.Time{}, time.Time{} })
		}},
	}
	for _, alg := range []string{AlgEdDSA, AlgES256} {
		fx := newFixture(t, alg)
		for _, tt := range tests {
			t.Run(alg+"/"+tt.name, func(t *testing.T) {
				raw := tt.tok(t, fx)
				for _, v := range []*Verifier{fx.vu, fx.v, fx.v} {
					if _, err := v.Verify(raw); err != nil {
						t.Fatal(err)
					}
				}
			})
		}
	}
}

func TestAudienceAsString(t *testing.T) {
	fx := newFixture(t, AlgEdDSA)
	c := fx.claims()
	m := jwt.MapClaims{
		"iss": c.Issuer, "sub": c.Subject, "aud": testAudience, "exp": c.ExpiresAt.Unix(),
		"iat": c.IssuedAt.Unix(), "jti": c.ID, "sid": c.SessionID,
	}
	kid := fx.currentKid(fx.kr)
	raw := forge(t, jwt.SigningMethodEdDSA, fx.privateKey(t, kid), map[string]any{"kid": kid, "typ": "at+jwt"}, m)
	got, err := fx.vu.Verify(raw)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Audience, []string{testAudience}) || got.Roles != nil {
		t.Fatalf("%+v", got)
	}
}

func TestVerifierOptionDefaults(t *testing.T) {
	fx := newFixture(t, AlgEdDSA)
	tests := []struct {
		opts      VerifierOptions
		leeway    time.Duration
		cacheSize int // per shard; 0 = disabled
	}{
		{VerifierOptions{}, testLeeway, (DefaultCacheSize + cache.Shards - 1) / cache.Shards},
		{VerifierOptions{Leeway: -1, CacheSize: -1}, 0, 0},
		{VerifierOptions{Leeway: 5 * time.Second, CacheSize: 1}, 5 * time.Second, 1},
	}
	for _, tt := range tests {
		v := NewVerifier(fx.kr, tt.opts)
		got := 0
		if v.cache != nil {
			got = v.cache.Capacity() / cache.Shards
		}
		if v.leeway != tt.leeway || got != tt.cacheSize {
			t.Errorf("%+v: leeway %v cache %d", tt.opts, v.leeway, got)
		}
	}
}

// An empty Issuer or Audience option skips that check; the signature still
// has to be ours.
func TestVerifierWithoutIssuerAudience(t *testing.T) {
	fx := newFixture(t, AlgEdDSA)
	v := NewVerifier(fx.kr, VerifierOptions{CacheSize: -1})
	raw := fx.forgeClaims(t, func(c *Claims) { c.Issuer, c.Audience = "", nil })
	if _, err := v.Verify(raw); err != nil {
		t.Fatal(err)
	}
}

func TestVerifyCache(t *testing.T) {
	fx := newFixture(t, AlgEdDSA)
	raw := fx.sign(t, fx.kr, fx.claims())
	first, err := fx.v.Verify(raw)
	if err != nil {
		t.Fatal(err)
	}
	second, err := fx.v.Verify(raw)
	if err != nil {
		t.Fatal(err)
	}
	if first != second || fx.v.cache.Len() != 1 {
		t.Fatalf("not served from the cache: %p %p, %d entries", first, second, fx.v.cache.Len())
	}
	uncached, _ := fx.vu.Verify(raw)
	if uncached == first || !reflect.DeepEqual(*uncached, *first) {
		t.Fatalf("uncached %+v, cached %+v", uncached, first)
	}

	// Valid up to exp+leeway, then not, even though it is cached.
	fx.clock.Set(first.ExpiresAt.Add(testLeeway - time.Nanosecond))
	if _, err := fx.v.Verify(raw); err != nil {
		t.Fatalf("within leeway: %v", err)
	}
	fx.clock.Set(first.ExpiresAt.Add(testLeeway))
	c, err := fx.v.Verify(raw)
	wantInvalid(t, c, err)
	if !errors.Is(err, errCachedExpired) {
		t.Fatalf("not rejected by the cache: %v", err)
	}
	c, err = fx.vu.Verify(raw)
	wantInvalid(t, c, err)

	// A clock going back before nbf-leeway rejects it too.
	fx.clock.Set(first.NotBefore.Add(-testLeeway - time.Nanosecond))
	c, err = fx.v.Verify(raw)
	wantInvalid(t, c, err)
	fx.clock.Set(first.NotBefore.Add(-testLeeway))
	if _, err := fx.v.Verify(raw); err != nil {
		t.Fatalf("at nbf-leeway: %v", err)
	}
}

func TestCacheDisabled(t *testing.T) {
	fx := newFixture(t, AlgEdDSA)
	raw := fx.sign(t, fx.kr, fx.claims())
	a, err := fx.vu.Verify(raw)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := fx.vu.Verify(raw)
	if a == b || fx.vu.cache != nil {
		t.Fatal("the uncached verifier cached")
	}
}

func TestVerifyConcurrent(t *testing.T) {
	fx := newFixture(t, AlgEdDSA)
	var toks []string
	for range 32 {
		toks = append(toks, fx.sign(t, fx.kr, fx.claims()))
	}
	done := make(chan error)
	for g := range 8 {
		go func() {
			for i := range 200 {
				if _, err := fx.v.Verify(toks[(g+i)%len(toks)]); err != nil {
					done <- err
					return
				}
				if g == 0 && i%50 == 0 {
					if err := fx.kr.Refresh(context.Background()); err != nil {
						done <- err
						return
					}
				}
			}
			done <- nil
		}()
	}
	for range 8 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}

func TestUnixNanoSaturates(t *testing.T) {
	tests := []struct {
		t    time.Time
		want int64
	}{
		{time.Unix(0, 0), 0},
		{time.Unix(0, math.MaxInt64), math.MaxInt64},
		{time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC), math.MaxInt64},
		{time.Date(1000, 1, 1, 0, 0, 0, 0, time.UTC), math.MinInt64},
		{testEpoch, testEpoch.UnixNano()},
	}
	for _, tt := range tests {
		if got := unixNano(tt.t); got != tt.want {
			t.Errorf("unixNano(%v) = %d, want %d", tt.t, got, tt.want)
		}
	}
}
