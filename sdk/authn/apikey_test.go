package authn

import (
	"context"
	"crypto/sha256"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tollgate/tollgate/identity"
)

const (
	testKey     = "tg_live_0123456789abcdef"
	inactiveKey = "tg_live_revoked000000000"
	keyActor    = "agent:7f3a"
)

// activeAnswer is Tollgate's answer for an active key with an actor.
func activeAnswer(exp time.Time) map[string]any {
	a := map[string]any{
		"active": true, "token_type": "api_key", "sub": keyActor, "scope": "tenant:read usage:read",
		"actor": identity.ActorContext{
			ActorID: keyActor, ActorType: "agent", TenantID: "tenant-1", Roles: []string{"member"},
			Permissions: []string{"tenant:read", "usage:read"}, Scopes: []string{"tenant:read", "usage:read"},
			Credential: "api_key", CredentialID: "key-1", ExpiresAt: exp,
		},
	}
	if !exp.IsZero() {
		a["exp"] = exp.Unix()
	}
	return a
}

func TestAPIKeyActive(t *testing.T) {
	tg := newTollgate(t)
	tg.answer(testKey, activeAnswer(time.Time{}))
	tg.answer("tg_minimal", map[string]any{"active": true, "token_type": "api_key", "sub": "user:5", "scope": "a b", "exp": 1900000000})
	a := tg.authenticator(t, tg.config())
	tests := []struct {
		key  string
		want identity.ActorContext
	}{
		{testKey, identity.ActorContext{
			ActorID: keyActor, ActorType: "agent", TenantID: "tenant-1", Roles: []string{"member"},
			Permissions: []string{"tenant:read", "usage:read"}, Scopes: []string{"tenant:read", "usage:read"},
			Credential: "api_key", CredentialID: "key-1",
		}},
		// Without "actor", the answer's sub, scope and exp make it.
		{"tg_minimal", identity.ActorContext{
			ActorID: "user:5", ActorType: "human", Roles: []string{}, Permissions: []string{"a", "b"},
			Scopes: []string{"a", "b"}, Credential: "api_key", ExpiresAt: time.Unix(1900000000, 0).UTC(),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			got, err := a.AuthenticateToken(ctx, tt.key)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
	if n := tg.tokenHits.Load(); n != 1 {
		t.Fatalf("%d service token requests, want 1 for both", n)
	}
}

func TestAPIKeyRefused(t *testing.T) {
	tg := newTollgate(t)
	a := tg.authenticator(t, tg.config())
	tg.answer("tg_expired", activeAnswer(tg.clock.Now().Add(-time.Second)))
	tests := []struct {
		name, key string
		status    int
		code      string
		asked     bool // whether Tollgate is asked
	}{
		{"inactive", inactiveKey, 401, CodeInvalidAPIKey, true},
		{"bare prefix", "tg_", 401, CodeInvalidAPIKey, true},
		{"too long", "tg_" + strings.Repeat("a", maxAPIKeyLen), 401, CodeInvalidAPIKey, false},
		{"control byte", "tg_a\x00b", 401, CodeInvalidAPIKey, false},
		{"space", "tg_a b", 401, CodeInvalidAPIKey, false},
		{"non-ASCII", "tg_ключ", 401, CodeInvalidAPIKey, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := tg.introHits.Load()
			_, err := a.AuthenticateToken(ctx, tt.key)
			wantError(t, err, tt.status, tt.code)
			if asked := tg.introHits.Load() != before; asked != tt.asked {
				t.Fatalf("asked Tollgate: %v", asked)
			}
		})
	}
	// An answer that is active with an exp already past (Tollgate's clock
	// is behind) is used once, not cached.
	for range 2 {
		if _, err := a.AuthenticateToken(ctx, "tg_expired"); err != nil {
			t.Fatal(err)
		}
	}
	if got := a.cache.len(); got != 2 { // inactive and bare prefix
		t.Fatalf("%d cached answers", got)
	}
}

// Anything unexpected in an answer about an active key is refused as
// unavailable, never trusted.
func TestAPIKeyMalformedAnswer(t *testing.T) {
	tests := []struct {
		name   string
		answer map[string]any
	}{
		{"not an API key", map[string]any{"active": true, "token_type": "access_token", "sub": "user:1"}},
		{"no token type", map[string]any{"active": true, "sub": "user:1"}},
		{"no actor", map[string]any{"active": true, "token_type": "api_key"}},
		{"actor and sub differ", func() map[string]any {
			a := activeAnswer(time.Time{})
			a["sub"] = "user:1"
			return a
		}()},
		{"scope not a string", map[string]any{"active": true, "token_type": "api_key", "sub": "user:1", "scope": []string{"a"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tg := newTollgate(t)
			a := tg.authenticator(t, tg.config())
			tg.answer(testKey, tt.answer)
			_, err := a.AuthenticateToken(ctx, testKey)
			wantError(t, err, http.StatusServiceUnavailable, CodeUnavailable)
		})
	}
}

func TestAPIKeyWithoutClientCredentials(t *testing.T) {
	tg := newTollgate(t)
	tg.answer(testKey, activeAnswer(time.Time{}))
	cfg := tg.config()
	cfg.ClientID, cfg.ClientSecret = "", ""
	a := tg.authenticator(t, cfg)
	_, err := a.AuthenticateToken(ctx, testKey)
	wantError(t, err, http.StatusUnauthorized, CodeInvalidAPIKey)
	if tg.introHits.Load() != 0 || tg.tokenHits.Load() != 0 {
		t.Fatal("asked Tollgate")
	}
}

func TestAPIKeyTollgateDown(t *testing.T) {
	tests := []struct {
		name    string
		breakIt func(tg *tollgate, cfg *Config)
	}{
		{"introspection fails", func(tg *tollgate, _ *Config) { tg.introDown.Store(true) }},
		{"client credentials refused", func(_ *tollgate, cfg *Config) { cfg.ClientSecret = "wrong" }},
		{"Tollgate gone", func(tg *tollgate, _ *Config) { tg.Close() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tg := newTollgate(t)
			tg.answer(testKey, activeAnswer(time.Time{}))
			cfg := tg.config()
			tt.breakIt(tg, &cfg)
			a := tg.authenticator(t, cfg)
			for range 2 { // failures are not cached
				_, err := a.AuthenticateToken(ctx, testKey)
				wantError(t, err, http.StatusServiceUnavailable, CodeUnavailable)
			}
			if a.cache.len() != 0 {
				t.Fatal("a failure was cached")
			}
		})
	}
	// Recovery: the next request after Tollgate is back is served.
	tg := newTollgate(t)
	tg.answer(testKey, activeAnswer(time.Time{}))
	tg.introDown.Store(true)
	a := tg.authenticator(t, tg.config())
	_, err := a.AuthenticateToken(ctx, testKey)
	wantError(t, err, http.StatusServiceUnavailable, CodeUnavailable)
	tg.introDown.Store(false)
	if _, err := a.AuthenticateToken(ctx, testKey); err != nil {
		t.Fatal(err)
	}
}

// A 401 from introspection renews the service token once.
func TestServiceTokenRenewedOn401(t *testing.T) {
	tg := newTollgate(t)
	tg.answer(testKey, activeAnswer(time.Time{}))
	tg.answer("tg_other", activeAnswer(time.Time{}))
	a := tg.authenticator(t, tg.config())
	if _, err := a.AuthenticateToken(ctx, testKey); err != nil {
		t.Fatal(err)
	}
	tg.revokeServiceTokens()
	if _, err := a.AuthenticateToken(ctx, "tg_other"); err != nil {
		t.Fatal(err)
	}
	if got := tg.tokenHits.Load(); got != 2 {
		t.Fatalf("%d service token requests, want 2", got)
	}
	// A token refused even when new is not retried in a loop.
	tg.rejectBearers.Store(true)
	introBefore, tokensBefore := tg.introHits.Load(), tg.tokenHits.Load()
	tg.answer("tg_third", activeAnswer(time.Time{}))
	_, err := a.AuthenticateToken(ctx, "tg_third")
	wantError(t, err, http.StatusServiceUnavailable, CodeUnavailable)
	if got := tg.introHits.Load() - introBefore; got != 2 {
		t.Fatalf("%d introspections, want 2 (one retry)", got)
	}
	if got := tg.tokenHits.Load() - tokensBefore; got != 1 {
		t.Fatalf("%d token requests, want 1", got)
	}
}

// The service token is renewed at 80% of its lifetime.
func TestServiceTokenRenewedBeforeExpiry(t *testing.T) {
	tg := newTollgate(t)
	tg.expiresIn.Store(100)
	for _, k := range []string{"tg_a", "tg_b", "tg_c"} {
		tg.answer(k, activeAnswer(time.Time{}))
	}
	a := tg.authenticator(t, tg.config())
	if _, err := a.AuthenticateToken(ctx, "tg_a"); err != nil {
		t.Fatal(err)
	}
	tg.clock.Advance(79 * time.Second)
	if _, err := a.AuthenticateToken(ctx, "tg_b"); err != nil {
		t.Fatal(err)
	}
	if got := tg.tokenHits.Load(); got != 1 {
		t.Fatalf("%d token requests before 80%%", got)
	}
	tg.clock.Advance(2 * time.Second)
	if _, err := a.AuthenticateToken(ctx, "tg_c"); err != nil {
		t.Fatal(err)
	}
	if got := tg.tokenHits.Load(); got != 2 {
		t.Fatalf("%d token requests after 80%%", got)
	}
}

func TestAPIKeyCache(t *testing.T) {
	tg := newTollgate(t)
	a := tg.authenticator(t, tg.config())
	// Three seconds after the expiring steps begin.
	exp := tg.clock.Now().Add(DefaultCacheTTL + DefaultNegativeTTL + 3*time.Second)
	tg.answer(testKey, activeAnswer(time.Time{}))
	tg.answer("tg_expiring", activeAnswer(exp))

	steps := []struct {
		advance time.Duration
		key     string
		code    string // "" = accepted
		asks    bool   // whether Tollgate is asked
	}{
		{0, testKey, "", true},
		{0, testKey, "", false},
		{DefaultCacheTTL - time.Nanosecond, testKey, "", false},
		{time.Nanosecond, testKey, "", true}, // CacheTTL passed
		{0, inactiveKey, CodeInvalidAPIKey, true},
		{0, inactiveKey, CodeInvalidAPIKey, false}, // negative cache
		{DefaultNegativeTTL, inactiveKey, CodeInvalidAPIKey, true},
		{0, "tg_expiring", "", true},
		{2 * time.Second, "tg_expiring", "", false},
		{time.Second, "tg_expiring", "", true}, // cached only until its exp
	}
	for i, s := range steps {
		tg.clock.Advance(s.advance)
		before := tg.introHits.Load()
		_, err := a.AuthenticateToken(ctx, s.key)
		if s.code == "" && err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if s.code != "" {
			wantError(t, err, http.StatusUnauthorized, s.code)
		}
		if asked := tg.introHits.Load() != before; asked != s.asks {
			t.Fatalf("step %d: asked Tollgate: %v", i, asked)
		}
	}
	// The cache holds hashes, never keys.
	a.cache.b.Range(func(k [32]byte, _ introResult) bool {
		if strings.Contains(string(k[:]), "tg_") {
			t.Error("a key in the cache")
		}
		return true
	})
	if _, _, ok := a.cache.b.Peek(sha256.Sum256([]byte(testKey))); !ok {
		t.Fatal("not keyed by SHA-256")
	}
}

// Concurrent requests with one key share one introspection.
func TestAPIKeyCoalesced(t *testing.T) {
	tg := newTollgate(t)
	tg.answer(testKey, activeAnswer(time.Time{}))
	a := tg.authenticator(t, tg.config())
	gate := make(chan struct{})
	tg.introGate.Store(&gate)
	const n = 16
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Go(func() {
			_, err := a.AuthenticateToken(ctx, testKey)
			errs <- err
		})
	}
	waitFor(t, "the introspection", func() bool { return tg.introHits.Load() == 1 })
	close(gate)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := tg.introHits.Load(); got != 1 {
		t.Fatalf("%d introspections", got)
	}
	tg.mu.Lock()
	defer tg.mu.Unlock()
	if !slices.Equal(tg.seenKeys, []string{testKey}) {
		t.Fatalf("introspected %v", tg.seenKeys)
	}
}

// A caller that gives up does not fail the shared introspection.
func TestAPIKeyCallerGivesUp(t *testing.T) {
	tg := newTollgate(t)
	tg.answer(testKey, activeAnswer(time.Time{}))
	a := tg.authenticator(t, tg.config())
	gate := make(chan struct{})
	tg.introGate.Store(&gate)
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err := a.AuthenticateToken(cctx, testKey)
	wantError(t, err, http.StatusServiceUnavailable, CodeUnavailable)
	close(gate)
	waitFor(t, "the answer to be cached", func() bool { return a.cache.len() == 1 })
	if _, err := a.AuthenticateToken(ctx, testKey); err != nil {
		t.Fatal(err)
	}
	if got := tg.introHits.Load(); got != 1 {
		t.Fatalf("%d introspections", got)
	}
}

func TestAPIKeyAfterClose(t *testing.T) {
	tg := newTollgate(t)
	tg.answer(testKey, activeAnswer(time.Time{}))
	a := tg.authenticator(t, tg.config())
	a.Close()
	_, err := a.AuthenticateToken(ctx, testKey)
	wantError(t, err, http.StatusServiceUnavailable, CodeUnavailable)
	// Access tokens still verify against the last keys.
	if _, err := a.AuthenticateToken(ctx, tg.sign(t, tg.claims())); err != nil {
		t.Fatal(err)
	}
}

func TestIntroCacheBounded(t *testing.T) {
	const size = 64
	c := newIntroCache(size)
	res := introResult{active: true}
	for i := range 10 * size {
		k := sha256.Sum256([]byte{byte(i), byte(i >> 8)})
		c.put(&k, res, 0, time.Minute, 0)
		if n := c.len(); n > size {
			t.Fatalf("after %d puts: %d entries", i+1, n)
		}
	}
	// An answer obtained before a purge is not stored after it.
	gen := c.generation()
	c.purge()
	k := sha256.Sum256([]byte("late"))
	c.put(&k, res, gen, time.Minute, 0)
	if c.len() != 0 {
		t.Fatal("stored a pre-purge answer")
	}
	c.put(&k, res, c.generation(), time.Minute, 0)
	if _, ok := c.get(&k, int64(time.Minute)-1); !ok {
		t.Fatal("fresh answer missing")
	}
	if _, ok := c.get(&k, int64(time.Minute)); ok {
		t.Fatal("expired answer served")
	}
}
