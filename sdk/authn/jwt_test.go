package authn

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/sdk/internal/jwks"
	"github.com/tollgate/tollgate/token"
)

var ctx = context.Background()

func TestJWTAccepted(t *testing.T) {
	tg := newTollgate(t)
	a := tg.authenticator(t, tg.config())
	exp := tg.clock.Now().Add(15 * time.Minute).Truncate(time.Second)
	tests := []struct {
		name string
		edit func(c *token.Claims)
		want identity.ActorContext
	}{
		{"session", func(*token.Claims) {}, identity.ActorContext{
			ActorID: "user:93", ActorType: "human", TenantID: "tenant-1", Roles: []string{"admin"},
			Permissions: []string{"tenant:read", "tenant:write"}, Scopes: []string{"tenant:read", "tenant:write"},
			Credential: "session", SessionID: "sess-1", ExpiresAt: exp,
		}},
		{"session without roles or scope", func(c *token.Claims) { c.Roles, c.Scope = nil, nil }, identity.ActorContext{
			ActorID: "user:93", ActorType: "human", TenantID: "tenant-1", Roles: []string{},
			Permissions: []string{}, Scopes: []string{}, Credential: "session", SessionID: "sess-1", ExpiresAt: exp,
		}},
		{"delegated", func(c *token.Claims) {
			c.ActorType, c.Act, c.CredentialID, c.Scope = "agent", &token.Actor{Subject: "agent:7f3a"}, "key-1", []string{"tenant:read"}
		}, identity.ActorContext{
			ActorID: "agent:7f3a", ActorType: "agent", TenantID: "tenant-1", Roles: []string{"admin"},
			Permissions: []string{"tenant:read"}, Scopes: []string{"tenant:read"}, Credential: "delegation",
			CredentialID: "key-1", SessionID: "sess-1", OnBehalfOf: "user:93", ExpiresAt: exp,
		}},
		{"delegated through a service", func(c *token.Claims) {
			c.Act = &token.Actor{Subject: "service:runtime", Act: &token.Actor{Subject: "agent:7f3a"}}
		}, identity.ActorContext{
			ActorID: "service:runtime", ActorType: "service", TenantID: "tenant-1", Roles: []string{"admin"},
			Permissions: []string{"tenant:read", "tenant:write"}, Scopes: []string{"tenant:read", "tenant:write"},
			Credential: "delegation", SessionID: "sess-1", OnBehalfOf: "user:93", ExpiresAt: exp,
		}},
		{"service", func(c *token.Claims) {
			c.Subject, c.ActorType, c.TenantID, c.Roles, c.CredentialID = "service:messaging", "service", "", nil, "secret-1"
			c.Scope = []string{"auth:introspect"}
		}, identity.ActorContext{
			ActorID: "service:messaging", ActorType: "service", Roles: []string{},
			Permissions: []string{"auth:introspect"}, Scopes: []string{"auth:introspect"},
			Credential: "client_credentials", CredentialID: "secret-1", SessionID: "sess-1", ExpiresAt: exp,
		}},
		{"no act_type: typed by sub", func(c *token.Claims) { c.ActorType = "" }, identity.ActorContext{
			ActorID: "user:93", ActorType: "human", TenantID: "tenant-1", Roles: []string{"admin"},
			Permissions: []string{"tenant:read", "tenant:write"}, Scopes: []string{"tenant:read", "tenant:write"},
			Credential: "session", SessionID: "sess-1", ExpiresAt: exp,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tg.claims()
			tt.edit(&c)
			raw := tg.sign(t, c)
			for range 2 { // verified, then cached
				got, err := a.AuthenticateToken(ctx, raw)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got, tt.want) {
					t.Fatalf("got  %+v\nwant %+v", got, tt.want)
				}
			}
		})
	}
}

func TestJWTRejected(t *testing.T) {
	tg := newTollgate(t)
	a := tg.authenticator(t, tg.config())
	other := newTollgate(t) // another installation: unknown kid
	tests := []struct {
		name string
		raw  func() string
		code string
	}{
		{"empty", func() string { return "" }, CodeMissingCredential},
		{"garbage", func() string { return "not.a.jwt" }, CodeInvalidToken},
		{"too long", func() string { return strings.Repeat("a", maxCredentialLen+1) }, CodeInvalidToken},
		{"expired", func() string {
			c := tg.claims()
			c.IssuedAt, c.NotBefore = c.IssuedAt.Add(-time.Hour), c.NotBefore.Add(-time.Hour)
			c.ExpiresAt = tg.clock.Now().Add(-token.DefaultLeeway - time.Second)
			return forge(t, tg, c)
		}, CodeInvalidToken},
		{"wrong issuer", func() string { c := tg.claims(); c.Issuer = "http://evil.test"; return tg.sign(t, c) }, CodeInvalidToken},
		{"wrong audience", func() string {
			c := tg.claims()
			c.Audience = []string{"billing"}
			return tg.sign(t, c)
		}, CodeInvalidToken},
		{"no audience", func() string { c := tg.claims(); c.Audience = nil; return tg.sign(t, c) }, CodeInvalidToken},
		{"signed by another installation", func() string {
			c := other.claims()
			c.Issuer = tg.URL
			return other.sign(t, c)
		}, CodeInvalidToken},
		{"tampered", func() string {
			raw := tg.sign(t, tg.claims())
			return raw[:len(raw)-4] + "AAAA"
		}, CodeInvalidToken},
		{"delegated to an untyped actor", func() string {
			c := tg.claims()
			c.Act = &token.Actor{Subject: "robot:1"}
			return tg.sign(t, c)
		}, CodeInvalidToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := tt.raw()
			for range 2 {
				ac, err := a.AuthenticateToken(ctx, raw)
				wantError(t, err, http.StatusUnauthorized, tt.code)
				if !errors.Is(err, ErrUnauthenticated) || !reflect.DeepEqual(ac, identity.ActorContext{}) {
					t.Fatalf("%v, %+v", err, ac)
				}
			}
		})
	}
	// Without an audience configured, aud is not checked.
	cfg := tg.config()
	cfg.Audience = ""
	b := tg.authenticator(t, cfg)
	c := tg.claims()
	c.Audience = []string{"billing"}
	if _, err := b.AuthenticateToken(ctx, tg.sign(t, c)); err != nil {
		t.Fatal(err)
	}
}

// forge signs claims that Keyring.Sign would refuse (an exp in the past) by
// moving the keyring's clock back.
func forge(t testing.TB, tg *tollgate, c token.Claims) string {
	t.Helper()
	saved := tg.clock.Now()
	tg.clock.Advance(c.IssuedAt.Sub(saved))
	defer tg.clock.Advance(saved.Sub(tg.clock.Now()))
	return tg.sign(t, c)
}

// A token of a newly rotated key is accepted once the keys are refreshed
// for it, which its unknown kid triggers (at most once per
// MinRefreshInterval).
func TestJWTKeyRotation(t *testing.T) {
	tg := newTollgate(t)
	a := tg.authenticator(t, tg.config())
	before := tg.sign(t, tg.claims())
	if _, err := a.AuthenticateToken(ctx, before); err != nil {
		t.Fatal(err)
	}
	tg.clock.Advance(time.Second)
	if _, err := tg.kr.Rotate(ctx); err != nil {
		t.Fatal(err)
	}
	after := tg.sign(t, tg.claims())
	hits := tg.jwksHits.Load()
	// One second after the first fetch: too soon to fetch again.
	_, err := a.AuthenticateToken(ctx, after)
	wantError(t, err, http.StatusUnauthorized, CodeInvalidToken)
	if tg.jwksHits.Load() != hits {
		t.Fatal("fetched the keys within MinRefreshInterval")
	}
	tg.clock.Advance(jwks.DefaultMinRefreshInterval)
	if _, err := a.AuthenticateToken(ctx, after); err != nil {
		t.Fatal(err)
	}
	if got := tg.jwksHits.Load(); got != hits+1 {
		t.Fatalf("%d fetches, want %d", got, hits+1)
	}
	// The old key is still published: its token still works.
	if _, err := a.AuthenticateToken(ctx, before); err != nil {
		t.Fatal(err)
	}
}

// Until the keys have loaded once, tokens are refused as unavailable, not
// invalid; a request after MinRefreshInterval loads them.
func TestJWKSUnreachable(t *testing.T) {
	tg := newTollgate(t)
	tg.jwksDown.Store(true)
	a := tg.authenticator(t, tg.config())
	raw := tg.sign(t, tg.claims())
	for range 2 {
		ac, err := a.AuthenticateToken(ctx, raw)
		wantError(t, err, http.StatusServiceUnavailable, CodeUnavailable)
		if !errors.Is(err, ErrUnavailable) || ac.ActorID != "" {
			t.Fatalf("%v %+v", err, ac)
		}
	}
	tg.jwksDown.Store(false)
	tg.clock.Advance(jwks.DefaultMinRefreshInterval)
	if _, err := a.AuthenticateToken(ctx, raw); err != nil {
		t.Fatal(err)
	}
	// Once loaded, an outage keeps the last good keys.
	tg.jwksDown.Store(true)
	tg.clock.Advance(jwks.DefaultMinRefreshInterval)
	if _, err := a.AuthenticateToken(ctx, tg.sign(t, tg.claims())); err != nil {
		t.Fatal(err)
	}
	// The whole of Tollgate gone: still verified locally.
	tg.Close()
	if _, err := a.AuthenticateToken(ctx, tg.sign(t, tg.claims())); err != nil {
		t.Fatal(err)
	}
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
	}{
		{"no URL", Config{}},
		{"relative URL", Config{URL: "/tollgate"}},
		{"other scheme", Config{URL: "ftp://tollgate"}},
		{"query", Config{URL: "http://tollgate?x=1"}},
		{"user info", Config{URL: "http://u:p@tollgate"}},
		{"client id alone", Config{URL: "http://tollgate", ClientID: "x"}},
		{"client secret alone", Config{URL: "http://tollgate", ClientSecret: "x"}},
		{"negative ttl", Config{URL: "http://tollgate", CacheTTL: -1}},
		{"negative size", Config{URL: "http://tollgate", CacheSize: -1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if a, err := New(ctx, tt.cfg); err == nil {
				a.Close()
				t.Fatal("accepted")
			}
		})
	}
}

func TestConfigDefaults(t *testing.T) {
	tg := newTollgate(t)
	a := tg.authenticator(t, Config{URL: tg.URL + "/", HTTPClient: tg.Client(), Log: discard})
	c := a.cfg
	if c.URL != tg.URL || c.Issuer != tg.URL || c.CacheTTL != DefaultCacheTTL || c.NegativeTTL != DefaultNegativeTTL ||
		c.CacheSize != DefaultCacheSize {
		t.Fatalf("%+v", c)
	}
	if d := defaultHTTPClient(); d.Timeout != DefaultHTTPTimeout {
		t.Fatalf("default client timeout %v", d.Timeout)
	}
	// The issuer defaults to URL, which is what tokens carry here.
	if _, err := a.AuthenticateToken(ctx, tg.sign(t, tg.claims())); err != nil {
		t.Fatal(err)
	}
	a.Close()
	a.Close()
}
