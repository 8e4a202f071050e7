package authn

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/tollgate/tollgate/bus"
	"github.com/tollgate/tollgate/event"
	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/sdk/internal/clienttoken"
	"github.com/tollgate/tollgate/sdk/internal/jwks"
	"github.com/tollgate/tollgate/token"
)

// Defaults of Config.
const (
	DefaultHTTPTimeout = 5 * time.Second
	DefaultCacheTTL    = 10 * time.Second
	DefaultNegativeTTL = 5 * time.Second
	DefaultCacheSize   = 10000
)

// APIKeyPrefix starts every Tollgate API key; any other credential is taken
// for an access token (a JWT).
const APIKeyPrefix = "tg_"

// maxCredentialLen bounds a credential before any parsing or hashing, as
// Tollgate bounds its Authorization header.
const maxCredentialLen = 8 << 10

// Config configures an Authenticator.
type Config struct {
	// URL is Tollgate's base URL, e.g. http://127.0.0.1:9200. Required.
	URL string
	// Issuer is the expected iss of access tokens; default URL. It must
	// equal Tollgate's issuer setting.
	Issuer string
	// Audience, when not empty, must be one of an access token's aud.
	Audience string
	// ClientID and ClientSecret are this service's client credentials
	// (registered in Tollgate's service registry). They are needed only to
	// accept API keys, which Tollgate introspects for registered services.
	ClientID     string
	ClientSecret string
	// HTTPClient calls Tollgate; default a client with a 5 s timeout and a
	// pool of keep-alive connections.
	HTTPClient *http.Client
	// Events, when set, is subscribed to event.Subject so that
	// revocations, disabled actors and suspended tenants take effect at
	// once. Without it, an access token of a revoked session stays valid
	// until it expires (access tokens are short-lived, 15 minutes by
	// default) and an API key's last answer until CacheTTL.
	Events bus.Bus
	// CacheTTL bounds how long an active API key's introspection is
	// reused; default 10 s.
	CacheTTL time.Duration
	// NegativeTTL is how long an inactive API key's answer is reused;
	// default 5 s.
	NegativeTTL time.Duration
	// CacheSize bounds the introspection cache; default 10000 entries.
	CacheSize int
	// Log receives what an operator must see (Tollgate unreachable, client
	// credentials refused); default slog.Default().
	Log *slog.Logger
}

// Authenticator resolves the access tokens and API keys of incoming
// requests to ActorContexts, failing closed: anything it cannot check is
// refused. It is safe for concurrent use.
type Authenticator struct {
	cfg      Config
	log      *slog.Logger
	now      func() time.Time
	keys     *jwks.Keys
	verifier *token.Verifier

	// API keys; nil svc when no client credentials are configured.
	svc           *clienttoken.Source
	introspectURL string
	cache         *introCache
	flights       flightGroup

	revs    *revocations
	stopSub func()
	// quiet limits the logging of Tollgate's failures, which during an
	// outage every request would repeat.
	quiet *clienttoken.Throttle

	// bg is the context of background work, ended by Close. closed, under
	// goMu, keeps spawn from adding to wg once Close waits for it.
	bg        context.Context
	cancel    context.CancelFunc
	goMu      sync.Mutex
	closed    bool
	wg        sync.WaitGroup
	closeOnce sync.Once
}

var errClosed = errors.New("authn: Authenticator closed")

// spawn runs f in a goroutine that Close waits for, unless Close has begun.
func (a *Authenticator) spawn(f func()) bool {
	a.goMu.Lock()
	defer a.goMu.Unlock()
	if a.closed {
		return false
	}
	a.wg.Go(f)
	return true
}

// New returns an Authenticator for the Tollgate at cfg.URL. It fails only
// on a bad Config (or an Events bus that refuses the subscription). It
// fetches the signing keys at once, within ctx, but a failure is not fatal:
// tokens are refused with ErrUnavailable until a background refresh loads
// them. Background work (key refresh, the event subscription) runs until
// Close.
func New(ctx context.Context, cfg Config) (*Authenticator, error) {
	return newAuthenticator(ctx, cfg, time.Now)
}

func newAuthenticator(ctx context.Context, cfg Config, now func() time.Time) (*Authenticator, error) {
	if err := cfg.normalize(); err != nil {
		return nil, err
	}
	a := &Authenticator{
		cfg: cfg, log: cfg.Log, now: now,
		introspectURL: cfg.URL + "/v1/auth/introspect",
		cache:         newIntroCache(cfg.CacheSize),
		revs:          newRevocations(),
		quiet:         clienttoken.NewThrottle(clienttoken.LogEvery),
	}
	a.bg, a.cancel = context.WithCancel(context.WithoutCancel(ctx))
	a.keys = jwks.New(cfg.URL+"/.well-known/jwks.json", jwks.Options{
		HTTPClient: cfg.HTTPClient, Log: cfg.Log, Now: now,
	})
	a.verifier = token.NewVerifierFrom(a.keys, token.VerifierOptions{
		Issuer: cfg.Issuer, Audience: cfg.Audience, Now: now,
	})
	if cfg.ClientID != "" {
		a.svc = clienttoken.New(clienttoken.Options{
			TokenURL: cfg.URL + "/oauth/token", ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret,
			HTTPClient: cfg.HTTPClient, Log: cfg.Log, LogPrefix: "authn", Quiet: a.quiet, Now: now,
			Timeout: outboundTimeout,
		})
	}
	if cfg.Events != nil {
		stop, err := cfg.Events.Subscribe(a.bg, event.Subject, a.onEvent)
		if err != nil {
			a.cancel()
			return nil, fmt.Errorf("authn: subscribing to %s: %w", event.Subject, err)
		}
		a.stopSub = stop
	}
	if err := a.keys.Refresh(ctx); err != nil {
		a.log.WarnContext(ctx, "authn: fetching Tollgate's signing keys failed; access tokens are refused until they load",
			"url", cfg.URL, "err", err)
	}
	a.spawn(func() { a.keys.Run(a.bg) })
	return a, nil
}

func (c *Config) normalize() error {
	base, err := clienttoken.BaseURL(c.URL)
	if err != nil {
		return fmt.Errorf("authn: %w", err)
	}
	c.URL = base
	if c.Issuer == "" {
		c.Issuer = c.URL
	}
	if (c.ClientID == "") != (c.ClientSecret == "") {
		return errors.New("authn: set both Config.ClientID and Config.ClientSecret, or neither")
	}
	if c.CacheTTL < 0 || c.NegativeTTL < 0 || c.CacheSize < 0 {
		return errors.New("authn: Config.CacheTTL, NegativeTTL and CacheSize must not be negative")
	}
	if c.CacheTTL == 0 {
		c.CacheTTL = DefaultCacheTTL
	}
	if c.NegativeTTL == 0 {
		c.NegativeTTL = DefaultNegativeTTL
	}
	if c.CacheSize == 0 {
		c.CacheSize = DefaultCacheSize
	}
	if c.HTTPClient == nil {
		c.HTTPClient = defaultHTTPClient()
	}
	if c.Log == nil {
		c.Log = slog.Default()
	}
	return nil
}

// defaultHTTPClient keeps more idle connections per host than
// http.DefaultTransport's 2, since every request of a busy service may
// introspect an API key.
func defaultHTTPClient() *http.Client { return clienttoken.NewHTTPClient(DefaultHTTPTimeout) }

// Close stops the background work and waits for it. Access tokens still
// verify against the last keys afterwards, but API keys are refused with
// ErrUnavailable. Close may be called more than once.
func (a *Authenticator) Close() {
	a.closeOnce.Do(func() {
		a.goMu.Lock()
		a.closed = true
		a.goMu.Unlock()
		a.cancel()
		if a.stopSub != nil {
			a.stopSub()
		}
		a.wg.Wait()
	})
}

// AuthenticateToken resolves a credential — an API key if it starts with
// "tg_", an access token otherwise — to the ActorContext of its holder. The
// errors are *Error values: 401 (ErrUnauthenticated) for a missing,
// invalid, expired or revoked credential, 503 (ErrUnavailable) when it
// cannot be checked now. The slices of the ActorContext are shared with
// caches and must not be modified.
func (a *Authenticator) AuthenticateToken(ctx context.Context, raw string) (identity.ActorContext, error) {
	switch {
	case raw == "":
		return identity.ActorContext{}, errMissing()
	case len(raw) > maxCredentialLen:
		return identity.ActorContext{}, errInvalidToken(errors.New("credential longer than 8 KiB"))
	case strings.HasPrefix(raw, APIKeyPrefix):
		return a.authenticateAPIKey(ctx, raw)
	}
	return a.authenticateJWT(ctx, raw)
}

// AuthenticateRequest authenticates the credential of r: "Authorization:
// Bearer <access token or API key>" or "X-API-Key: <API key>". A request
// with both is refused.
func (a *Authenticator) AuthenticateRequest(r *http.Request) (identity.ActorContext, error) {
	raw, err := credentialOf(r)
	if err != nil {
		return identity.ActorContext{}, err
	}
	return a.AuthenticateToken(r.Context(), raw)
}

func credentialOf(r *http.Request) (string, error) {
	authz, key := r.Header.Get("Authorization"), r.Header.Get("X-API-Key")
	switch {
	case authz != "" && key != "":
		return "", errAmbiguous()
	case key != "":
		key = strings.TrimSpace(key)
		if !strings.HasPrefix(key, APIKeyPrefix) {
			// X-API-Key carries API keys only; never read it as a JWT.
			return "", errInvalidAPIKey("")
		}
		return key, nil
	case authz == "":
		return "", errMissing()
	}
	scheme, cred, ok := strings.Cut(authz, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", errMissing()
	}
	cred = strings.TrimSpace(cred)
	if cred == "" {
		return "", errMissing()
	}
	return cred, nil
}

// onEvent applies one credential event. Any message, even one that does
// not decode, empties the introspection cache: an unknown change might
// concern any key.
func (a *Authenticator) onEvent(ctx context.Context, m bus.Message) {
	e, err := event.Decode(m.Data)
	if err != nil {
		a.log.WarnContext(ctx, "authn: ignoring a credential event", "err", err)
	} else {
		a.revs.apply(e, a.now())
	}
	a.cache.purge()
}
