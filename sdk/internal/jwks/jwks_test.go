package jwks

import (
	"context"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/tollgate/tollgate/token"
)

// jwksServer publishes a Keyring's JWK Set over HTTP, as Tollgate does, and
// counts the fetches.
type jwksServer struct {
	*httptest.Server
	kr      *token.Keyring
	fetches atomic.Int32
	// status, when not 0, is answered instead of the set; body, when set,
	// replaces it.
	status atomic.Int32
	body   atomic.Pointer[[]byte]
	// gate, when set, holds every request until it is closed.
	gate atomic.Pointer[chan struct{}]
}

func newJWKSServer(t testing.TB, kr *token.Keyring) *jwksServer {
	s := &jwksServer{kr: kr}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.fetches.Add(1)
		if g := s.gate.Load(); g != nil {
			<-*g
		}
		if st := s.status.Load(); st != 0 {
			w.WriteHeader(int(st))
			return
		}
		body := s.kr.JWKS()
		if b := s.body.Load(); b != nil {
			body = *b
		}
		w.Header().Set("Content-Type", "application/jwk-set+json")
		_, _ = w.Write(body)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *jwksServer) serve(body []byte) { s.body.Store(&body) }

// remote returns loaded Keys over s and a cached and an uncached verifier
// over them, with the fixture's clock and expectations.
func (fx *fixture) remote(t testing.TB, s *jwksServer) (*Keys, *token.Verifier, *token.Verifier) {
	t.Helper()
	rk := New(s.URL+"/.well-known/jwks.json", Options{Now: fx.clock.Now, Timeout: 5 * time.Second})
	if err := rk.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	opts := token.VerifierOptions{Issuer: testIssuer, Audience: testAudience, Leeway: testLeeway, Now: fx.clock.Now}
	v := token.NewVerifierFrom(rk, opts)
	opts.CacheSize = -1
	return rk, v, token.NewVerifierFrom(rk, opts)
}

// The Keys is what the SDK's verifiers read.
var _ token.KeySource = (*Keys)(nil)

// The remote verifier accepts and rejects exactly what the local one does.
func TestRemoteVerifierMatchesLocal(t *testing.T) {
	for _, alg := range []string{token.AlgEdDSA, token.AlgES256} {
		t.Run(alg, func(t *testing.T) {
			fx := newFixture(t, alg)
			_, v, vu := fx.remote(t, newJWKSServer(t, fx.kr))
			raw := fx.sign(t, fx.kr, fx.claims())
			want, err := fx.vu.Verify(raw)
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range []*token.Verifier{vu, v, v} {
				got, err := v.Verify(raw)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(*got, *want) {
					t.Fatalf("got %+v, want %+v", *got, *want)
				}
			}
			for _, rc := range rejectCases {
				t.Run(rc.name, func(t *testing.T) {
					raw := rc.tok(t, fx)
					for _, v := range []*token.Verifier{vu, v, v} {
						c, err := v.Verify(raw)
						wantInvalid(t, c, err)
					}
				})
			}
		})
	}
}

func TestRemoteKeysNotLoaded(t *testing.T) {
	fx := newFixture(t, token.AlgEdDSA)
	s := newJWKSServer(t, fx.kr)
	s.status.Store(http.StatusServiceUnavailable)
	rk := New(s.URL, Options{Now: fx.clock.Now})
	if err := rk.Refresh(ctx); err == nil {
		t.Fatal("Refresh accepted a 503")
	}
	v := token.NewVerifierFrom(rk, token.VerifierOptions{Now: fx.clock.Now})
	raw := fx.sign(t, fx.kr, fx.claims())
	// The first verification may ask for a refresh: the last one began
	// just now, so it does not.
	c, err := v.Verify(raw)
	wantInvalid(t, c, err)
	if rk.Loaded() || s.fetches.Load() != 1 {
		t.Fatalf("loaded %v after %d fetches", rk.Loaded(), s.fetches.Load())
	}
	// Once MinRefreshInterval has passed, a verification fetches the keys
	// and waits for them.
	s.status.Store(0)
	fx.clock.Advance(DefaultMinRefreshInterval)
	if _, err := v.Verify(raw); err != nil {
		t.Fatal(err)
	}
	if !rk.Loaded() || s.fetches.Load() != 2 {
		t.Fatalf("loaded %v after %d fetches", rk.Loaded(), s.fetches.Load())
	}
}

// A failed refresh, of any kind, keeps the last good keys.
func TestRemoteKeysKeepLastGood(t *testing.T) {
	fx := newFixture(t, token.AlgES256)
	s := newJWKSServer(t, fx.kr)
	rk, v, _ := fx.remote(t, s)
	raw := fx.sign(t, fx.kr, fx.claims())
	before := rk.VerificationKeys()
	failures := []func(){
		func() { s.status.Store(http.StatusInternalServerError) },
		func() { s.status.Store(http.StatusNotFound) },
		func() { s.serve([]byte("<html>")) },
		func() {
			s.serve([]byte(`{"keys":[{"kty":"OKP","crv":"Ed25519","alg":"EdDSA","kid":"k","x":"short"}]}`))
		},
		func() { s.serve([]byte(strings.Repeat(" ", MaxJWKSSize) + `{"keys":[]}`)) },
		func() { s.Close() },
	}
	for i, fail := range failures {
		fail()
		if err := rk.Refresh(ctx); err == nil {
			t.Fatalf("failure %d: Refresh succeeded", i)
		}
		if got := rk.VerificationKeys(); fmt.Sprint(got) != fmt.Sprint(before) {
			t.Fatalf("failure %d: keys changed to %v", i, got)
		}
		if _, err := v.Verify(raw); err != nil {
			t.Fatalf("failure %d: %v", i, err)
		}
		s.status.Store(0)
		s.body.Store(nil)
	}
}

// A rotation is picked up by the first token of the new key, with one
// fetch; forged kids fetch at most once per MinRefreshInterval.
func TestRemoteKeysUnknownKid(t *testing.T) {
	fx := newFixture(t, token.AlgEdDSA)
	s := newJWKSServer(t, fx.kr)
	rk, v, _ := fx.remote(t, s)
	oldTok := fx.sign(t, fx.kr, fx.claims())
	oldClaims, err := v.Verify(oldTok)
	if err != nil {
		t.Fatal(err)
	}
	oldKid := fx.currentKid(t, fx.kr)
	oldKey := rk.VerificationKeys()[oldKid]

	// Within MinRefreshInterval of the first load, a new kid fails.
	fx.rotate(t)
	newTok := fx.sign(t, fx.kr, fx.claims())
	c, err := v.Verify(newTok)
	wantInvalid(t, c, err)
	if n := s.fetches.Load(); n != 1 {
		t.Fatalf("%d fetches", n)
	}

	fx.clock.Advance(DefaultMinRefreshInterval)
	newClaims, err := v.Verify(newTok)
	if err != nil {
		t.Fatalf("new key: %v", err)
	}
	if n := s.fetches.Load(); n != 2 {
		t.Fatalf("%d fetches", n)
	}
	// The old key is still published, as the same pointer, so its cached
	// token stays a cache hit.
	if rk.VerificationKeys()[oldKid] != oldKey {
		t.Fatal("the old key got a new pointer")
	}
	// Both tokens are cached: a hit returns the cached *Claims.
	for _, tc := range []struct {
		raw  string
		want *token.Claims
	}{{newTok, newClaims}, {oldTok, oldClaims}} {
		got, err := v.Verify(tc.raw)
		if err != nil {
			t.Fatal(err)
		}
		if got != tc.want {
			t.Fatal("not a cache hit")
		}
	}

	// A flood of forged kids: one fetch, then none until the interval has
	// passed again.
	fx.clock.Advance(DefaultMinRefreshInterval)
	for range 20 {
		c, err := v.Verify(forgedKidToken(t, fx))
		wantInvalid(t, c, err)
	}
	if n := s.fetches.Load(); n != 3 {
		t.Fatalf("%d fetches", n)
	}
}

func forgedKidToken(t testing.TB, fx *fixture) string {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	c := fx.claims()
	return forge(t, jwt.SigningMethodEdDSA, priv, map[string]any{"kid": newKeyID(), "typ": "at+jwt"}, &c)
}

// Concurrent verifications of a token with a new kid share one fetch.
func TestRemoteKeysOneRefreshInFlight(t *testing.T) {
	fx := newFixture(t, token.AlgEdDSA)
	s := newJWKSServer(t, fx.kr)
	_, v, _ := fx.remote(t, s)
	fx.rotate(t)
	raw := fx.sign(t, fx.kr, fx.claims())
	fx.clock.Advance(DefaultMinRefreshInterval)
	gate := make(chan struct{})
	s.gate.Store(&gate)

	const n = 16
	errs := make(chan error, n)
	var started sync.WaitGroup
	for range n {
		started.Add(1)
		go func() {
			started.Done()
			_, err := v.Verify(raw)
			errs <- err
		}()
	}
	started.Wait()
	// Every verifier either waits on the one fetch or finds its result.
	for s.fetches.Load() != 2 {
		select {
		case err := <-errs:
			t.Fatalf("finished before the fetch: %v (%d fetches)", err, s.fetches.Load())
		default:
		}
		time.Sleep(time.Millisecond)
	}
	close(gate)
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if got := s.fetches.Load(); got != 2 {
		t.Fatalf("%d fetches", got)
	}
}

// A verification stops waiting for a refresh when its context ends.
func TestRemoteVerifyContextCancelled(t *testing.T) {
	fx := newFixture(t, token.AlgEdDSA)
	s := newJWKSServer(t, fx.kr)
	rk, v, _ := fx.remote(t, s)
	fx.rotate(t)
	raw := fx.sign(t, fx.kr, fx.claims())
	fx.clock.Advance(DefaultMinRefreshInterval)
	gate := make(chan struct{})
	s.gate.Store(&gate)
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	c, err := v.VerifyContext(cctx, raw)
	wantInvalid(t, c, err)
	// The refresh goes on for everyone else.
	close(gate)
	if err := rk.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(raw); err != nil {
		t.Fatal(err)
	}
}

func TestRemoteKeysRun(t *testing.T) {
	fx := newFixture(t, token.AlgEdDSA)
	s := newJWKSServer(t, fx.kr)
	rk := New(s.URL, Options{RefreshInterval: time.Millisecond, MinRefreshInterval: time.Millisecond})
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		rk.Run(rctx)
		close(done)
	}()
	for s.fetches.Load() < 3 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	<-done
	if !rk.Loaded() {
		t.Fatal("not loaded")
	}
}

// jwkJSON renders one key for the parser tests.
func jwkJSON(fields map[string]any) string {
	b, _ := json.Marshal(fields)
	return string(b)
}

func TestParseJWKS(t *testing.T) {
	edPub, _, _ := ed25519.GenerateKey(rand.Reader)
	ecPriv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	point, _ := ecPriv.PublicKey.Bytes()
	b64 := base64.RawURLEncoding.EncodeToString
	ed := func(edit func(m map[string]any)) string {
		m := map[string]any{"kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "use": "sig", "kid": "ed", "x": b64(edPub)}
		if edit != nil {
			edit(m)
		}
		return jwkJSON(m)
	}
	ec := func(edit func(m map[string]any)) string {
		m := map[string]any{"kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig", "kid": "ec", "x": b64(point[1:33]), "y": b64(point[33:])}
		if edit != nil {
			edit(m)
		}
		return jwkJSON(m)
	}
	set := func(keys ...string) string { return `{"keys":[` + strings.Join(keys, ",") + `]}` }
	// Off the curve: y+1 of a valid point.
	offCurve := append([]byte(nil), point[33:]...)
	offCurve[31]++

	tests := []struct {
		name string
		in   string
		kids []string // accepted kids; nil with wantErr
		err  bool
	}{
		{"both kinds", set(ed(nil), ec(nil)), []string{"ec", "ed"}, false},
		{"empty set", `{"keys":[]}`, []string{}, false},
		{"no use", set(ed(func(m map[string]any) { delete(m, "use") })), []string{"ed"}, false},
		{"unknown members ignored", set(ed(func(m map[string]any) { m["x5t"] = "abc"; m["key_ops"] = []string{"verify"} })), []string{"ed"}, false},

		{"RSA skipped", set(`{"kty":"RSA","n":"AQAB","e":"AQAB","kid":"r","alg":"RS256"}`, ed(nil)), []string{"ed"}, false},
		{"use enc skipped", set(ed(func(m map[string]any) { m["use"] = "enc" })), []string{}, false},
		{"X25519 skipped", set(ed(func(m map[string]any) { m["crv"] = "X25519" })), []string{}, false},
		{"Ed448 skipped", set(ed(func(m map[string]any) { m["crv"] = "Ed448" })), []string{}, false},
		{"P-384 skipped", set(ec(func(m map[string]any) { m["crv"] = "P-384"; m["alg"] = "ES384" })), []string{}, false},
		{"OKP with alg ES256 skipped", set(ed(func(m map[string]any) { m["alg"] = "ES256" })), []string{}, false},
		{"EC with alg EdDSA skipped", set(ec(func(m map[string]any) { m["alg"] = "EdDSA" })), []string{}, false},
		{"no alg skipped", set(ed(func(m map[string]any) { delete(m, "alg") })), []string{}, false},
		{"upper-case member names are not ours", set(`{"KTY":"OKP","CRV":"Ed25519","ALG":"EdDSA","KID":"x","X":"` + b64(edPub) + `"}`), []string{}, false},

		{"not JSON", `{"keys":`, nil, true},
		{"no keys member", `{}`, nil, true},
		{"keys not an array", `{"keys":{}}`, nil, true},
		{"key not an object", `{"keys":[1]}`, nil, true},
		{"key null", `{"keys":[null]}`, nil, true},
		{"top level array", `[]`, nil, true},
		{"private d", set(ed(func(m map[string]any) { m["d"] = b64(edPub) })), nil, true},
		{"private d on a skipped key", set(`{"kty":"RSA","d":"x"}`, ed(nil)), nil, true},
		{"symmetric k", set(`{"kty":"oct","k":"c2VjcmV0"}`), nil, true},
		{"kid not a string", set(ed(func(m map[string]any) { m["kid"] = 5 })), nil, true},
		{"use not a string", set(ed(func(m map[string]any) { m["use"] = true })), nil, true},
		{"no kid", set(ed(func(m map[string]any) { delete(m, "kid") })), nil, true},
		{"duplicate kid", set(ed(nil), ed(nil)), nil, true},
		{"duplicate kid across kinds", set(ed(nil), ec(func(m map[string]any) { m["kid"] = "ed" })), nil, true},
		{"ed x short", set(ed(func(m map[string]any) { m["x"] = b64(edPub[:31]) })), nil, true},
		{"ed x long", set(ed(func(m map[string]any) { m["x"] = b64(append(edPub, 0)) })), nil, true},
		{"ed with y", set(ed(func(m map[string]any) { m["y"] = b64(edPub) })), nil, true},
		{"ed x padded", set(ed(func(m map[string]any) { m["x"] = base64.URLEncoding.EncodeToString(edPub) })), nil, true},
		{"ed x std alphabet", set(ed(func(m map[string]any) { m["x"] = strings.Repeat("+", 43) })), nil, true},
		{"ed x missing", set(ed(func(m map[string]any) { delete(m, "x") })), nil, true},
		{"ec y missing", set(ec(func(m map[string]any) { delete(m, "y") })), nil, true},
		{"ec x short", set(ec(func(m map[string]any) { m["x"] = b64(point[2:33]) })), nil, true},
		{"ec x with a leading zero", set(ec(func(m map[string]any) { m["x"] = b64(append([]byte{0}, point[1:33]...)) })), nil, true},
		{"ec off the curve", set(ec(func(m map[string]any) { m["y"] = b64(offCurve) })), nil, true},
		{"ec zero point", set(ec(func(m map[string]any) { m["x"], m["y"] = b64(make([]byte, 32)), b64(make([]byte, 32)) })), nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keys, err := parseJWKS([]byte(tt.in), DefaultMaxKeys, nil)
			if tt.err {
				if err == nil {
					t.Fatalf("accepted: %v", keys)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := sorted(mapKeys(keys)...); fmt.Sprint(got) != fmt.Sprint(tt.kids) {
				t.Fatalf("kids %v, want %v", got, tt.kids)
			}
		})
	}
}

func mapKeys(m map[string]*token.VerificationKey) []string {
	out := []string{}
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestParseJWKSMaxKeysAndReuse(t *testing.T) {
	var keys []string
	for i := range 5 {
		pub, _, _ := ed25519.GenerateKey(rand.Reader)
		keys = append(keys, jwkJSON(map[string]any{
			"kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "kid": fmt.Sprint("k", i),
			"x": base64.RawURLEncoding.EncodeToString(pub),
		}))
	}
	body := []byte(`{"keys":[` + strings.Join(keys, ",") + `]}`)
	first, err := parseJWKS(body, 3, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := sorted(mapKeys(first)...); fmt.Sprint(got) != "[k0 k1 k2]" {
		t.Fatalf("kept %v, want the first three", got)
	}
	again, err := parseJWKS(body, 3, first)
	if err != nil {
		t.Fatal(err)
	}
	for kid, k := range first {
		if again[kid] != k {
			t.Fatalf("%s: new pointer for the same key", kid)
		}
	}
	// Same kid, other material: a new key, never the old pointer.
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	other := []byte(`{"keys":[` + jwkJSON(map[string]any{
		"kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "kid": "k0", "x": base64.RawURLEncoding.EncodeToString(pub),
	}) + `]}`)
	swapped, err := parseJWKS(other, 3, first)
	if err != nil {
		t.Fatal(err)
	}
	if swapped["k0"] == first["k0"] {
		t.Fatal("reused the pointer of other key material")
	}
}

// A token cached under a key stops being a hit once the key is replaced,
// even under the same kid.
func TestRemoteCacheFollowsKeyMaterial(t *testing.T) {
	fx := newFixture(t, token.AlgEdDSA)
	s := newJWKSServer(t, fx.kr)
	rk, v, _ := fx.remote(t, s)
	raw := fx.sign(t, fx.kr, fx.claims())
	if _, err := v.Verify(raw); err != nil {
		t.Fatal(err)
	}
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	s.serve([]byte(`{"keys":[` + jwkJSON(map[string]any{
		"kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "kid": fx.currentKid(t, fx.kr), "x": base64.RawURLEncoding.EncodeToString(pub),
	}) + `]}`))
	if err := rk.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	c, err := v.Verify(raw)
	wantInvalid(t, c, err)
	// The token package's error for a cache entry whose key is gone.
	if cause := errors.Unwrap(err); cause == nil || cause.Error() != "the key that verified the cached token is no longer published" {
		t.Fatalf("not rejected by the cache: %v", err)
	}
}

// encodeJWKS renders keys as Tollgate's Keyring.JWKS does (the token
// package's encoder is not exported); TestEncodeJWKSMatchesKeyring holds the
// two to the same bytes.
func encodeJWKS(keys []*token.VerificationKey) ([]byte, error) {
	type jwk struct {
		Kty string `json:"kty"`
		Crv string `json:"crv"`
		X   string `json:"x"`
		Y   string `json:"y,omitempty"`
		Kid string `json:"kid"`
		Alg string `json:"alg"`
		Use string `json:"use"`
	}
	set := struct {
		Keys []jwk `json:"keys"`
	}{Keys: make([]jwk, 0, len(keys))}
	for _, k := range keys {
		j := jwk{Kid: k.ID(), Alg: k.Algorithm(), Use: "sig"}
		switch p := k.PublicKey().(type) {
		case ed25519.PublicKey:
			j.Kty, j.Crv, j.X = "OKP", "Ed25519", base64.RawURLEncoding.EncodeToString(p)
		case *ecdsa.PublicKey:
			b, err := p.Bytes()
			if err != nil || len(b) != 65 {
				return nil, fmt.Errorf("encoding the EC public key: %v", err)
			}
			j.Kty, j.Crv = "EC", "P-256"
			j.X = base64.RawURLEncoding.EncodeToString(b[1:33])
			j.Y = base64.RawURLEncoding.EncodeToString(b[33:])
		default:
			return nil, fmt.Errorf("unsupported public key type %T", k.PublicKey())
		}
		set.Keys = append(set.Keys, j)
	}
	return json.Marshal(set)
}

// What the parser reads from Tollgate's JWK Set, encodeJWKS writes back
// byte for byte, so FuzzParseJWKS's round trip is one through Tollgate's
// encoding.
func TestEncodeJWKSMatchesKeyring(t *testing.T) {
	fx := newFixture(t, token.AlgEdDSA)
	fx.rotate(t)
	other := newFixture(t, token.AlgES256)
	other.rotate(t)
	for _, kr := range []*token.Keyring{fx.kr, other.kr} {
		body := kr.JWKS()
		keys, err := parseJWKS(body, DefaultMaxKeys, nil)
		if err != nil {
			t.Fatal(err)
		}
		var set struct {
			Keys []struct {
				Kid string `json:"kid"`
			} `json:"keys"`
		}
		if err := json.Unmarshal(body, &set); err != nil {
			t.Fatal(err)
		}
		var vks []*token.VerificationKey
		for _, k := range set.Keys {
			vks = append(vks, keys[k.Kid])
		}
		if len(vks) != 2 || len(keys) != 2 {
			t.Fatalf("%d keys published, %d parsed", len(vks), len(keys))
		}
		out, err := encodeJWKS(vks)
		if err != nil {
			t.Fatal(err)
		}
		if string(out) != string(body) {
			t.Fatalf("encoded\n%s\nTollgate publishes\n%s", out, body)
		}
	}
}

// FuzzParseJWKS checks that the parser of untrusted JWK Sets never panics,
// returns only well-formed public keys of the two algorithms, and that what
// it accepts survives a round trip through Tollgate's encoding (encodeJWKS).
func FuzzParseJWKS(f *testing.F) {
	for _, alg := range []string{token.AlgEdDSA, token.AlgES256} {
		fx := newFixture(f, alg)
		f.Add(fx.kr.JWKS())
		fx.rotate(f)
		f.Add(fx.kr.JWKS())
	}
	for _, seed := range []string{
		`{"keys":[]}`, `{}`, `[]`, `null`, `{"keys":null}`, `{"keys":[{}]}`, `{"keys":[{"kty":"OKP","d":""}]}`,
		`{"keys":[{"kty":"EC","crv":"P-256","alg":"ES256","kid":"a","x":"AA","y":"AA"}]}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		keys, err := parseJWKS(data, 4, nil)
		if err != nil {
			if keys != nil {
				t.Fatal("keys alongside an error")
			}
			return
		}
		if len(keys) > 4 {
			t.Fatalf("%d keys, more than MaxKeys", len(keys))
		}
		var vks []*token.VerificationKey
		for kid, k := range keys {
			if kid == "" || k.ID() != kid {
				t.Fatalf("key %q under kid %q", k.ID(), kid)
			}
			switch p := k.PublicKey().(type) {
			case ed25519.PublicKey:
				if k.Algorithm() != token.AlgEdDSA || len(p) != ed25519.PublicKeySize {
					t.Fatalf("%s key of %d bytes", k.Algorithm(), len(p))
				}
			case *ecdsa.PublicKey:
				b, err := p.Bytes()
				if err != nil || k.Algorithm() != token.AlgES256 || p.Curve != elliptic.P256() {
					t.Fatalf("%s key on %v: %v", k.Algorithm(), p.Curve, err)
				}
				if _, err := ecdh.P256().NewPublicKey(b); err != nil {
					t.Fatalf("accepted an invalid P-256 point: %v", err)
				}
			default:
				t.Fatalf("key of type %T", k.PublicKey())
			}
			vks = append(vks, k)
		}
		out, err := encodeJWKS(vks)
		if err != nil {
			t.Fatal(err)
		}
		back, err := parseJWKS(out, 4, keys)
		if err != nil {
			t.Fatalf("re-parsing our own encoding: %v", err)
		}
		if len(back) != len(keys) {
			t.Fatalf("round trip kept %d of %d keys", len(back), len(keys))
		}
		for kid, k := range keys {
			if back[kid] != k {
				t.Fatalf("round trip changed key %q", kid)
			}
		}
	})
}
