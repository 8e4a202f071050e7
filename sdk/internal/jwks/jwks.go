// Package jwks keeps the keys that verify Tollgate's access tokens, fetched
// from its JWK Set (/.well-known/jwks.json), for the SDK's verifiers: a
// Keys is a token.KeySource.
package jwks

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/token"
)

// Defaults of Options.
const (
	DefaultRefreshInterval    = 5 * time.Minute
	DefaultMinRefreshInterval = 10 * time.Second
	DefaultMaxKeys            = 64
	DefaultTimeout            = 10 * time.Second
)

// MaxJWKSSize bounds the JWK Set a Keys reads; Tollgate's is a few
// hundred bytes per key.
const MaxJWKSSize = 1 << 20

// Options configure a Keys. Zero values take the defaults.
type Options struct {
	// HTTPClient fetches the JWK Set; default a client with Timeout.
	HTTPClient *http.Client
	// RefreshInterval is the period of Run. Default 5 min.
	RefreshInterval time.Duration
	// MinRefreshInterval is the least time between the start of one
	// refresh and a refresh asked for by a token with an unknown kid, so
	// that a flood of forged kids cannot make this process hammer
	// Tollgate. Run also retries a failed refresh after it, backing off to
	// RefreshInterval. Default 10 s.
	MinRefreshInterval time.Duration
	// MaxKeys bounds the keys taken from one JWK Set; the ones after it
	// are ignored. Tollgate lists the newest keys first. Default 64.
	MaxKeys int
	// Timeout bounds one fetch, whatever the HTTP client's own timeout,
	// and so how long a verification may wait for one. Default 10 s.
	Timeout time.Duration
	// Log receives the failures of Run's refreshes; default none.
	Log *slog.Logger
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Keys holds the verification keys that Tollgate publishes at its JWKS URL,
// for services that verify its access tokens themselves: a
// token.NewVerifierFrom over a Keys makes a token whose kid it does not know
// refresh the keys (at most once per MinRefreshInterval) and wait for that
// refresh once. Reads take no lock: each refresh swaps an immutable
// snapshot. A failed refresh keeps the last good keys.
type Keys struct {
	url  string
	opts Options
	keys atomic.Pointer[map[string]*token.VerificationKey]

	// mu guards the single refresh in flight and when the last one began;
	// it is never held during I/O.
	mu        sync.Mutex
	inflight  *refreshCall
	lastStart time.Time
}

// refreshCall is one fetch, shared by everyone who asked for it.
type refreshCall struct {
	done chan struct{}
	err  error // set before done is closed
}

// New returns a Keys for the JWK Set at url, with no keys: call Refresh or
// Run to load them.
func New(url string, opts Options) *Keys {
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Timeout: opts.Timeout}
	}
	if opts.RefreshInterval <= 0 {
		opts.RefreshInterval = DefaultRefreshInterval
	}
	if opts.MinRefreshInterval <= 0 {
		opts.MinRefreshInterval = DefaultMinRefreshInterval
	}
	if opts.MaxKeys <= 0 {
		opts.MaxKeys = DefaultMaxKeys
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Keys{url: url, opts: opts}
}

// Loaded reports whether a JWK Set has been loaded at least once.
func (rk *Keys) Loaded() bool { return rk.keys.Load() != nil }

// Refresh fetches the JWK Set and, if it is valid, makes its keys the
// current ones. If a refresh is already in flight, Refresh waits for that
// one instead of starting another. ctx bounds the wait; the fetch itself is
// bounded by Timeout and finishes for the others even if ctx ends.
func (rk *Keys) Refresh(ctx context.Context) error {
	c := rk.start(false)
	select {
	case <-c.done:
		return c.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Run refreshes the keys every RefreshInterval (with a little jitter, so a
// fleet does not fetch in step) until ctx ends. It starts at once if no
// refresh was tried yet, after MinRefreshInterval if the keys did not load.
// After a failure it retries from MinRefreshInterval on, doubling up to
// RefreshInterval.
func (rk *Keys) Run(ctx context.Context) {
	rk.mu.Lock()
	tried := !rk.lastStart.IsZero()
	rk.mu.Unlock()
	var wait time.Duration
	switch {
	case rk.Loaded():
		wait = rk.jitter(rk.opts.RefreshInterval)
	case tried:
		wait = rk.opts.MinRefreshInterval
	}
	retry := rk.opts.MinRefreshInterval
	t := time.NewTimer(wait)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := rk.Refresh(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			rk.opts.Log.WarnContext(ctx, "refreshing the token verification keys failed; keeping the last good keys",
				"url", rk.url, "retry_in", retry, "loaded", rk.Loaded(), "err", err)
			wait, retry = retry, min(2*retry, rk.opts.RefreshInterval)
		} else {
			wait, retry = rk.jitter(rk.opts.RefreshInterval), rk.opts.MinRefreshInterval
		}
		t.Reset(wait)
	}
}

// jitter returns d minus up to a tenth of it.
func (rk *Keys) jitter(d time.Duration) time.Duration {
	return d - rand.N(d/10+1)
}

// VerificationKeys returns the keys of the last good JWK Set by kid, nil
// before the first; a token.KeySource method.
func (rk *Keys) VerificationKeys() map[string]*token.VerificationKey {
	if m := rk.keys.Load(); m != nil {
		return *m
	}
	return nil
}

// AwaitKeys asks for a refresh, unless one began less than
// MinRefreshInterval ago, waits for it within ctx, and returns the keys if
// they now hold kid (any keys when kid is ""), nil otherwise; a
// token.KeySource method.
func (rk *Keys) AwaitKeys(ctx context.Context, kid string) map[string]*token.VerificationKey {
	// With no refresh to wait for, a refresh that finished after the
	// caller looked may still have brought the key: look again.
	if c := rk.start(true); c != nil {
		select {
		case <-c.done:
		case <-ctx.Done():
			return nil
		}
	}
	keys := rk.VerificationKeys()
	if kid != "" {
		if _, ok := keys[kid]; !ok {
			return nil
		}
	}
	return keys
}

// start returns the refresh in flight, or starts one. On demand (for an
// unknown kid) it starts none within MinRefreshInterval of the last start,
// and returns nil then.
func (rk *Keys) start(onDemand bool) *refreshCall {
	rk.mu.Lock()
	defer rk.mu.Unlock()
	if rk.inflight != nil {
		return rk.inflight
	}
	now := rk.opts.Now()
	if onDemand && !rk.lastStart.IsZero() && now.Sub(rk.lastStart) < rk.opts.MinRefreshInterval {
		return nil
	}
	rk.lastStart = now
	c := &refreshCall{done: make(chan struct{})}
	rk.inflight = c
	go rk.run(c)
	return c
}

// run performs c without any caller's context, so that a caller giving up
// does not fail the refresh for the others waiting on it.
func (rk *Keys) run(c *refreshCall) {
	ctx, cancel := context.WithTimeout(context.Background(), rk.opts.Timeout)
	err := rk.fetch(ctx)
	cancel()
	rk.mu.Lock()
	c.err = err
	rk.inflight = nil
	rk.mu.Unlock()
	close(c.done)
}

func (rk *Keys) fetch(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rk.url, nil)
	if err != nil {
		return fault.Wrap(fault.Internal, CodeJWKSURLInvalid, err)
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	resp, err := rk.opts.HTTPClient.Do(req)
	if err != nil {
		return fault.Wrap(fault.Unavailable, CodeJWKSUnavailable, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		// Drain a little so the connection can be reused.
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
		return fault.Wrap(fault.Unavailable, CodeJWKSUnavailable, fmt.Errorf("GET %s: %s", rk.url, resp.Status))
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxJWKSSize+1))
	if err != nil {
		return fault.Wrap(fault.Unavailable, CodeJWKSUnavailable, err)
	}
	if len(body) > MaxJWKSSize {
		return fault.Wrap(fault.Unavailable, CodeJWKSInvalid, fmt.Errorf("JWK Set larger than %d bytes", MaxJWKSSize))
	}
	keys, err := parseJWKS(body, rk.opts.MaxKeys, rk.VerificationKeys())
	if err != nil {
		return fault.Wrap(fault.Unavailable, CodeJWKSInvalid, err)
	}
	rk.keys.Store(&keys)
	return nil
}

// Supported JWK parameters (RFC 8037 §2, RFC 7518 §6.2.1).
const (
	ed25519KeySize = ed25519.PublicKeySize
	p256CoordSize  = 32
)

// parseJWKS parses an RFC 7517 JWK Set as Tollgate publishes it and returns
// its usable keys by kid, at most maxKeys of them, in set order. A key of
// another kind (kty, crv, alg, or a use other than "sig") is skipped, as
// RFC 7517 §5 asks. A key of a supported kind that is malformed — wrong
// sizes, a point not on the curve, no kid, a kid seen before — fails the
// whole set, and so does any key carrying private material: a publisher
// that leaks a private key must not be trusted with the others.
//
// Keys whose kid, alg and material equal one in prev are returned as prev's
// pointer, which keeps the verifier's cache entries valid.
func parseJWKS(data []byte, maxKeys int, prev map[string]*token.VerificationKey) (map[string]*token.VerificationKey, error) {
	// Maps rather than structs: encoding/json matches struct fields case-
	// insensitively, and "D" or "KTY" must not pass for "d" or "kty".
	var set map[string]json.RawMessage
	if err := json.Unmarshal(data, &set); err != nil {
		return nil, fmt.Errorf("JWK Set: %w", err)
	}
	var members []map[string]json.RawMessage
	raw, ok := set["keys"]
	if !ok {
		return nil, errors.New(`JWK Set: no "keys" member`)
	}
	if err := json.Unmarshal(raw, &members); err != nil {
		return nil, fmt.Errorf(`JWK Set "keys": %w`, err)
	}
	keys := make(map[string]*token.VerificationKey, min(len(members), maxKeys))
	seen := make(map[string]bool, len(members))
	for i, m := range members {
		if m == nil {
			return nil, fmt.Errorf("JWK Set key %d: not an object", i)
		}
		vk, err := parseJWK(m)
		if err != nil {
			return nil, fmt.Errorf("JWK Set key %d: %w", i, err)
		}
		if vk == nil {
			continue
		}
		kid := vk.ID()
		if seen[kid] {
			return nil, fmt.Errorf("JWK Set key %d: duplicate kid %q", i, kid)
		}
		seen[kid] = true
		if len(keys) >= maxKeys {
			continue
		}
		if old := prev[kid]; old != nil && sameKey(old, vk) {
			vk = old
		}
		keys[kid] = vk
	}
	return keys, nil
}

// sameKey reports whether a and b verify the same tokens: same algorithm,
// same key material.
func sameKey(a, b *token.VerificationKey) bool {
	pub, ok := a.PublicKey().(interface{ Equal(crypto.PublicKey) bool })
	return ok && a.Algorithm() == b.Algorithm() && pub.Equal(b.PublicKey())
}

// parseJWK returns the key m describes, nil for a key of a kind the
// verifier does not use, or an error for a malformed or private key.
func parseJWK(m map[string]json.RawMessage) (*token.VerificationKey, error) {
	// Private (RFC 7518 §6.2.2, §6.3.2, RFC 8037 §2) or symmetric (§6.4)
	// material.
	for _, p := range []string{"d", "p", "q", "dp", "dq", "qi", "oth", "k"} {
		if _, ok := m[p]; ok {
			return nil, fmt.Errorf("has the private member %q", p)
		}
	}
	var f struct{ kty, crv, alg, use, kid, x, y string }
	for name, dst := range map[string]*string{
		"kty": &f.kty, "crv": &f.crv, "alg": &f.alg, "use": &f.use, "kid": &f.kid, "x": &f.x, "y": &f.y,
	} {
		v, ok := m[name]
		if !ok {
			continue
		}
		if err := json.Unmarshal(v, dst); err != nil {
			return nil, fmt.Errorf("%q is not a string", name)
		}
	}
	if _, ok := m["use"]; ok && f.use != "sig" {
		return nil, nil
	}
	var alg string
	switch {
	case f.kty == "OKP" && f.crv == "Ed25519" && f.alg == token.AlgEdDSA:
		alg = token.AlgEdDSA
	case f.kty == "EC" && f.crv == "P-256" && f.alg == token.AlgES256:
		alg = token.AlgES256
	default:
		return nil, nil
	}
	if f.kid == "" {
		return nil, errors.New("no kid")
	}
	x, err := coordinate("x", f.x)
	if err != nil {
		return nil, err
	}
	var pub crypto.PublicKey
	if alg == token.AlgEdDSA {
		if _, ok := m["y"]; ok {
			return nil, errors.New(`an OKP key has "y"`)
		}
		if len(x) != ed25519KeySize {
			return nil, fmt.Errorf("x is %d bytes, want %d", len(x), ed25519KeySize)
		}
		pub = ed25519.PublicKey(x)
	} else {
		y, err := coordinate("y", f.y)
		if err != nil {
			return nil, err
		}
		if len(x) != p256CoordSize || len(y) != p256CoordSize {
			return nil, fmt.Errorf("x and y are %d and %d bytes, want %d", len(x), len(y), p256CoordSize)
		}
		point := append(append([]byte{4}, x...), y...)
		// Rejects points off the curve and the point at infinity.
		p, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), point)
		if err != nil {
			return nil, err
		}
		pub = p
	}
	return token.NewVerificationKey(f.kid, alg, pub)
}

// coordinate decodes a base64url member without padding, in its one
// canonical spelling.
func coordinate(name, s string) ([]byte, error) {
	if s == "" {
		return nil, fmt.Errorf("no %s", name)
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return b, nil
}
