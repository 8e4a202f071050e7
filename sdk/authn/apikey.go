package authn

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/tollgate/tollgate/cache"
	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/sdk/internal/clienttoken"
)

// maxAPIKeyLen bounds what is sent to Tollgate as an API key.
const maxAPIKeyLen = 512

// maxResponseSize bounds what is read of a Tollgate response.
const maxResponseSize = clienttoken.MaxResponseSize

// outboundTimeout bounds a call to Tollgate even when HTTPClient has no
// timeout of its own.
const outboundTimeout = clienttoken.DefaultTimeout

// introResult is Tollgate's answer about one API key.
type introResult struct {
	active bool
	ac     identity.ActorContext
}

func (a *Authenticator) authenticateAPIKey(ctx context.Context, key string) (identity.ActorContext, error) {
	if a.svc == nil {
		return identity.ActorContext{}, errInvalidAPIKey("this service does not accept API keys")
	}
	if !plausibleKey(key) {
		return identity.ActorContext{}, errInvalidAPIKey("")
	}
	h := sha256.Sum256([]byte(key))
	res, ok := a.cache.get(&h, a.now().UnixNano())
	if !ok {
		var err error
		if res, err = a.introspectShared(ctx, &h, key); err != nil {
			return identity.ActorContext{}, err
		}
	}
	if !res.active {
		return identity.ActorContext{}, errInvalidAPIKey("")
	}
	if a.revs.rejectsActor(&res.ac) {
		return identity.ActorContext{}, errRevoked()
	}
	return res.ac, nil
}

// plausibleKey rejects, without asking Tollgate, what cannot be a key:
// too long, or bytes outside printable ASCII.
func plausibleKey(key string) bool {
	if len(key) > maxAPIKeyLen {
		return false
	}
	for i := 0; i < len(key); i++ {
		if key[i] <= ' ' || key[i] > '~' {
			return false
		}
	}
	return true
}

// introspectShared asks Tollgate about key once for all concurrent callers
// with the same key. The call runs in the background, so that a caller
// giving up does not fail it for the others, and its answer is cached.
func (a *Authenticator) introspectShared(ctx context.Context, h *[32]byte, key string) (introResult, error) {
	k := *h
	c, leader := a.flights.join(k)
	if leader {
		gen := a.cache.generation()
		ok := a.spawn(func() {
			c.res, c.err = a.introspect(key)
			if c.err == nil {
				a.cache.put(&k, c.res, gen, a.ttl(c.res), a.now().UnixNano())
			}
			a.flights.done(k, c)
		})
		if !ok {
			c.err = errUnavailable(errClosed)
			a.flights.done(k, c)
		}
	}
	select {
	case <-c.done:
		return c.res, c.err
	case <-ctx.Done():
		return introResult{}, errUnavailable(ctx.Err())
	}
}

// ttl is how long res may be reused: NegativeTTL for an inactive key,
// CacheTTL for an active one but not beyond its expiry.
func (a *Authenticator) ttl(res introResult) time.Duration {
	if !res.active {
		return a.cfg.NegativeTTL
	}
	ttl := a.cfg.CacheTTL
	if exp := res.ac.ExpiresAt; !exp.IsZero() {
		ttl = min(ttl, exp.Sub(a.now()))
	}
	return ttl
}

// introspect asks Tollgate about key, renewing the service's own token
// once if Tollgate refuses it.
func (a *Authenticator) introspect(key string) (introResult, error) {
	ctx, cancel := context.WithTimeout(a.bg, outboundTimeout)
	defer cancel()
	body, err := json.Marshal(struct {
		Token string `json:"token"`
	}{key})
	if err != nil {
		return introResult{}, errUnavailable(err)
	}
	status, data, err := a.svc.Post(ctx, a.introspectURL, body, nil)
	var te *clienttoken.TokenError
	switch {
	case errors.As(err, &te):
		return introResult{}, errUnavailable(te.Err)
	case err != nil:
		if a.quiet.Allow(a.now()) {
			a.log.Warn("authn: Tollgate's introspection endpoint is unreachable", "url", a.introspectURL, "err", err)
		}
		return introResult{}, errUnavailable(err)
	case status != http.StatusOK:
		err := fmt.Errorf("POST %s: %d %s: %.200s", a.introspectURL, status, http.StatusText(status), data)
		if a.quiet.Allow(a.now()) {
			a.log.Error("authn: Tollgate refused to introspect an API key", "status", status, "err", err)
		}
		return introResult{}, errUnavailable(err)
	case len(data) > maxResponseSize:
		return introResult{}, errUnavailable(errors.New("introspection response too large"))
	}
	res, err := parseIntrospection(data)
	if err != nil {
		if a.quiet.Allow(a.now()) {
			a.log.Error("authn: Tollgate's introspection response is malformed", "err", err)
		}
		return introResult{}, errUnavailable(err)
	}
	return res, nil
}

// introspection is the body of a 200 from /v1/auth/introspect.
type introspection struct {
	Active    bool                   `json:"active"`
	TokenType string                 `json:"token_type"`
	Sub       string                 `json:"sub"`
	Scope     string                 `json:"scope"`
	Exp       float64                `json:"exp"` // NumericDate; fractions are dropped
	Actor     *identity.ActorContext `json:"actor"`
}

// parseIntrospection checks an answer strictly: anything unexpected about
// an active key is an error, so that it is refused rather than trusted.
func parseIntrospection(data []byte) (introResult, error) {
	var in introspection
	if err := json.Unmarshal(data, &in); err != nil {
		return introResult{}, fmt.Errorf("decoding the introspection response: %w", err)
	}
	if !in.Active {
		return introResult{}, nil
	}
	if in.TokenType != "api_key" {
		return introResult{}, fmt.Errorf("active credential of token_type %q, want api_key", in.TokenType)
	}
	var ac identity.ActorContext
	if in.Actor != nil {
		ac = *in.Actor
	} else {
		ac = identity.ActorContext{ActorID: in.Sub, ActorType: actorTypeOf(in.Sub)}
		ac.Permissions = splitScope(in.Scope)
		ac.Scopes = ac.Permissions
	}
	if ac.ActorID == "" || (in.Sub != "" && in.Sub != ac.ActorID) {
		return introResult{}, fmt.Errorf("introspection names actor %q and sub %q", ac.ActorID, in.Sub)
	}
	if ac.ActorType == "" {
		ac.ActorType = actorTypeOf(ac.ActorID)
	}
	ac.Credential = identity.CredentialAPIKey
	if ac.ExpiresAt.IsZero() && in.Exp > 0 {
		ac.ExpiresAt = time.Unix(int64(in.Exp), 0).UTC()
	}
	if ac.Roles == nil {
		ac.Roles = none
	}
	if ac.Permissions == nil {
		ac.Permissions = none
	}
	return introResult{active: true, ac: ac}, nil
}

func splitScope(s string) []string {
	var out []string
	for _, f := range bytes.Fields([]byte(s)) {
		out = append(out, string(f))
	}
	return out
}

// introCache maps SHA-256(API key) to Tollgate's answer, never the key.
// Every credential event empties it, and its generation keeps an answer
// obtained before that from being stored after it.
type introCache struct {
	b *cache.Bounded[[32]byte, introResult]
}

// Key hashes are uniform: their first byte picks the shard.
func newIntroCache(size int) *introCache {
	return &introCache{b: cache.New[[32]byte, introResult](size, func(k [32]byte) uint64 { return uint64(k[0]) })}
}

func (c *introCache) get(k *[32]byte, now int64) (introResult, bool) { return c.b.Get(*k, now) }

func (c *introCache) generation() uint64 { return c.b.Generation() }

func (c *introCache) put(k *[32]byte, res introResult, gen uint64, ttl time.Duration, now int64) {
	if ttl > 0 {
		c.b.PutIfGeneration(*k, res, now+int64(ttl), now, gen)
	}
}

func (c *introCache) purge() { c.b.Purge() }

func (c *introCache) len() int { return c.b.Len() }

// flightGroup lets concurrent introspections of one key share a call.
type flightGroup struct {
	mu    sync.Mutex
	calls map[[32]byte]*flight
}

type flight struct {
	done chan struct{}
	res  introResult // set before done is closed
	err  error
}

// join returns the call in flight for k, or a new one that the caller
// (the leader) must run and finish with done.
func (g *flightGroup) join(k [32]byte) (c *flight, leader bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if c, ok := g.calls[k]; ok {
		return c, false
	}
	if g.calls == nil {
		g.calls = make(map[[32]byte]*flight)
	}
	c = &flight{done: make(chan struct{})}
	g.calls[k] = c
	return c, true
}

func (g *flightGroup) done(k [32]byte, c *flight) {
	g.mu.Lock()
	delete(g.calls, k)
	g.mu.Unlock()
	close(c.done)
}
