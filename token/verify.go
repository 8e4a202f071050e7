package token

import (
	"context"
	"crypto/sha256"
	"errors"
	"math"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/tollgate/tollgate/fault"
)

// MaxTokenLength bounds the input of Verify: nothing is parsed or hashed
// beyond it. Tollgate's tokens are well under 2 KiB.
const MaxTokenLength = 8 << 10

// DefaultCacheSize is the verified-token cache capacity of VerifierOptions.
const DefaultCacheSize = 10000

// VerifierOptions configure a Verifier.
type VerifierOptions struct {
	// Issuer and Audience, when not empty, must match iss and one of aud.
	Issuer   string
	Audience string
	// Leeway tolerates clock skew on exp, nbf and iat. 0 means the
	// Keyring's Leeway; negative means none.
	Leeway time.Duration
	// CacheSize bounds the verified-token cache: 0 means DefaultCacheSize,
	// negative disables the cache.
	CacheSize int
	// Now is the clock; default the Keyring's for NewVerifier, time.Now
	// for NewVerifierFrom.
	Now func() time.Time
}

// Verifier checks access tokens against the keys of a Keyring (in Tollgate)
// or of another KeySource (in a service that trusts Tollgate's JWKS).
type Verifier struct {
	src    KeySource
	parser *jwt.Parser
	now    func() time.Time
	leeway time.Duration
	cache  *tokenCache // nil when disabled
}

// KeySource is where a Verifier finds the published keys. Its methods are
// called concurrently.
type KeySource interface {
	// VerificationKeys returns the published keys by kid, nil before the
	// first load. The map is immutable and a kid keeps its
	// *VerificationKey for as long as its material is unchanged: the
	// cache recognises "still the key that verified this token" by
	// pointer.
	VerificationKeys() map[string]*VerificationKey
	// AwaitKeys is called when there are no keys yet or they lack kid. It
	// returns newer keys that have kid (any keys when kid is ""), possibly
	// after fetching them, or nil when there is nothing new to try. It
	// must give up when ctx ends.
	AwaitKeys(ctx context.Context, kid string) map[string]*VerificationKey
}

// keyringKeys is a Keyring as a KeySource, without adding the methods to
// Keyring's API.
type keyringKeys struct{ kr *Keyring }

func (k keyringKeys) VerificationKeys() map[string]*VerificationKey {
	if s := k.kr.snap.Load(); s != nil {
		return s.keys
	}
	return nil
}

// AwaitKeys never reloads: a Keyring follows the store on its own
// schedule, and a forged kid must not make it read the store.
func (keyringKeys) AwaitKeys(context.Context, string) map[string]*VerificationKey { return nil }

// NewVerifier returns a Verifier over kr's current keys; it follows kr's
// reloads without being told.
func NewVerifier(kr *Keyring, opts VerifierOptions) *Verifier {
	return newVerifier(keyringKeys{kr}, kr.opts.Now, kr.opts.Leeway, opts)
}

// NewVerifierFrom returns a Verifier over the keys of src, such as the
// JWK Set a service fetches from Tollgate. A token whose kid src does not
// hold makes the Verifier call src.AwaitKeys once, within VerifyContext's
// ctx, and verify against what it returns. A zero Leeway means
// DefaultLeeway; a nil Now, time.Now.
func NewVerifierFrom(src KeySource, opts VerifierOptions) *Verifier {
	return newVerifier(src, time.Now, DefaultLeeway, opts)
}

func newVerifier(src KeySource, now func() time.Time, leeway time.Duration, opts VerifierOptions) *Verifier {
	if opts.Now == nil {
		opts.Now = now
	}
	switch {
	case opts.Leeway == 0:
		opts.Leeway = leeway
	case opts.Leeway < 0:
		opts.Leeway = 0
	}
	popts := []jwt.ParserOption{
		jwt.WithValidMethods([]string{AlgEdDSA, AlgES256}),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(opts.Leeway),
		jwt.WithTimeFunc(opts.Now),
		// Canonical base64 only, so one token has exactly one spelling (and
		// one cache entry).
		jwt.WithStrictDecoding(),
	}
	if opts.Issuer != "" {
		popts = append(popts, jwt.WithIssuer(opts.Issuer))
	}
	if opts.Audience != "" {
		popts = append(popts, jwt.WithAudience(opts.Audience))
	}
	v := &Verifier{src: src, parser: jwt.NewParser(popts...), now: opts.Now, leeway: opts.Leeway}
	switch {
	case opts.CacheSize == 0:
		v.cache = newTokenCache(DefaultCacheSize)
	case opts.CacheSize > 0:
		v.cache = newTokenCache(opts.CacheSize)
	}
	return v
}

var (
	errTooLong       = errors.New("token longer than MaxTokenLength")
	errNotLoaded     = errors.New("signing keys not loaded")
	errType          = errors.New(`typ header is not "at+jwt"`)
	errNoKid         = errors.New("no kid header")
	errUnknownKid    = errors.New("kid is not a published key")
	errAlgMismatch   = errors.New("alg does not match the key's algorithm")
	errCachedExpired = errors.New("cached token expired or not yet valid")
	errKeyRetired    = errors.New("the key that verified the cached token is no longer published")
)

func invalidToken(cause error) *fault.Error {
	return &fault.Error{
		Kind: fault.Unauthenticated, Code: CodeInvalidToken,
		Detail: "the access token is invalid or expired", Err: cause,
	}
}

// Verify checks raw's signature, header and claims and returns its claims.
// Every failure is the same Unauthenticated "invalid_token" error; the cause
// is wrapped for logs. The returned Claims are shared with the cache and
// must not be modified. Verify does not check revocation: callers check
// SessionID.
//
// Over a KeySource that fetches keys, a token with an unknown kid may wait
// for a refresh of the keys, as long as the source's AwaitKeys lets it;
// VerifyContext bounds that wait by a context too.
func (v *Verifier) Verify(raw string) (*Claims, error) {
	return v.VerifyContext(context.Background(), raw)
}

// VerifyContext is Verify, giving up waiting for a refresh of the keys
// when ctx ends. Over a Keyring it never waits.
func (v *Verifier) VerifyContext(ctx context.Context, raw string) (*Claims, error) {
	if len(raw) > MaxTokenLength {
		return nil, invalidToken(errTooLong)
	}
	keys := v.src.VerificationKeys()
	if keys == nil {
		if keys = v.src.AwaitKeys(ctx, ""); keys == nil {
			return nil, invalidToken(errNotLoaded)
		}
	}
	if v.cache == nil {
		c, _, err := v.verifyRetry(ctx, raw, keys)
		return c, err
	}
	h := tokenHash(raw)
	now := v.now().UnixNano()
	if e, _, ok := v.cache.Peek(h); ok {
		if now < e.validFrom || now >= e.deadline {
			return nil, invalidToken(errCachedExpired)
		}
		// keys may predate the refresh that published e.key, made for
		// another verification of this token while this one started: look
		// again before calling the key retired.
		if keys[e.key.id] != e.key && v.src.VerificationKeys()[e.key.id] != e.key {
			return nil, invalidToken(errKeyRetired)
		}
		return e.claims, nil
	}
	c, vk, err := v.verifyRetry(ctx, raw, keys)
	if err != nil {
		return nil, err
	}
	e := v.entry(c, vk)
	v.cache.Put(h, e, e.deadline, now)
	return c, nil
}

// verifyRetry verifies raw and, if its kid is unknown, once more with the
// keys the source fetched for it.
func (v *Verifier) verifyRetry(ctx context.Context, raw string, keys map[string]*VerificationKey) (*Claims, *VerificationKey, error) {
	c, vk, unknown, err := v.verify(raw, keys)
	if unknown == "" {
		return c, vk, err
	}
	if keys = v.src.AwaitKeys(ctx, unknown); keys == nil {
		return nil, nil, err
	}
	c, vk, _, err = v.verify(raw, keys)
	return c, vk, err
}

// entry mirrors the time checks of jwt.Validator, which compares against
// second-precision NumericDates.
func (v *Verifier) entry(c *Claims, vk *VerificationKey) cacheEntry {
	var from time.Time
	for _, t := range []time.Time{c.NotBefore, c.IssuedAt} {
		if !t.IsZero() {
			if t = numericDate(t).Time; t.After(from) {
				from = t
			}
		}
	}
	e := cacheEntry{claims: c, key: vk, deadline: unixNano(numericDate(c.ExpiresAt).Add(v.leeway))}
	if !from.IsZero() {
		e.validFrom = unixNano(from.Add(-v.leeway))
	}
	return e
}

// unixNano is t.UnixNano saturated at the int64 range (years 1678 to 2262)
// instead of wrapping, so an absurd exp can only fail closed or stay valid.
func unixNano(t time.Time) int64 {
	switch {
	case t.Before(time.Unix(0, math.MinInt64)):
		return math.MinInt64
	case t.After(time.Unix(0, math.MaxInt64)):
		return math.MaxInt64
	}
	return t.UnixNano()
}

// verify checks raw against keys. When raw is well-formed up to naming a
// kid that keys lack, unknown is that kid.
func (v *Verifier) verify(raw string, keys map[string]*VerificationKey) (c *Claims, vk *VerificationKey, unknown string, err error) {
	w := new(wireClaims)
	_, err = v.parser.ParseWithClaims(raw, w, func(t *jwt.Token) (any, error) {
		if typ, _ := t.Header["typ"].(string); !strings.EqualFold(typ, AccessTokenType) &&
			!strings.EqualFold(typ, "application/"+AccessTokenType) {
			return nil, errType
		}
		kid, _ := t.Header["kid"].(string)
		if kid == "" {
			return nil, errNoKid
		}
		k, ok := keys[kid]
		if !ok {
			unknown = kid
			return nil, errUnknownKid
		}
		// Without this an attacker could pick the verification routine
		// for a key; WithValidMethods alone only narrows it to two.
		if t.Method.Alg() != k.alg {
			return nil, errAlgMismatch
		}
		vk = k
		return k.pub, nil
	})
	if err != nil {
		return nil, nil, unknown, invalidToken(err)
	}
	c = w.claims()
	if m := c.missing(); m != "" {
		return nil, nil, "", invalidToken(errors.New("no " + m + " claim"))
	}
	return c, vk, "", nil
}

// tokenHash is SHA-256 of raw. Copying into a stack buffer avoids the heap
// copy of []byte(raw), the only allocation of a cache hit, for any token of
// usual size.
func tokenHash(raw string) [sha256.Size]byte {
	var buf [2048]byte
	if len(raw) <= len(buf) {
		return sha256.Sum256(buf[:copy(buf[:], raw)])
	}
	return sha256.Sum256([]byte(raw))
}
