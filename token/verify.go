package token

import (
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
	// Now is the clock; default the Keyring's.
	Now func() time.Time
}

// Verifier checks access tokens against the Keyring's published keys.
type Verifier struct {
	kr     *Keyring
	parser *jwt.Parser
	now    func() time.Time
	leeway time.Duration
	cache  *tokenCache // nil when disabled
}

// NewVerifier returns a Verifier over kr's current keys; it follows kr's
// reloads without being told.
func NewVerifier(kr *Keyring, opts VerifierOptions) *Verifier {
	if opts.Now == nil {
		opts.Now = kr.opts.Now
	}
	switch {
	case opts.Leeway == 0:
		opts.Leeway = kr.opts.Leeway
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
	v := &Verifier{kr: kr, parser: jwt.NewParser(popts...), now: opts.Now, leeway: opts.Leeway}
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
		Kind: fault.Unauthenticated, Code: "invalid_token",
		Detail: "the access token is invalid or expired", Err: cause,
	}
}

// Verify checks raw's signature, header and claims and returns its claims.
// Every failure is the same Unauthenticated "invalid_token" error; the cause
// is wrapped for logs. The returned Claims are shared with the cache and
// must not be modified. Verify does not check revocation: callers check
// SessionID.
func (v *Verifier) Verify(raw string) (*Claims, error) {
	if len(raw) > MaxTokenLength {
		return nil, invalidToken(errTooLong)
	}
	s := v.kr.snap.Load()
	if s == nil {
		return nil, invalidToken(errNotLoaded)
	}
	if v.cache == nil {
		c, _, err := v.verify(raw, s)
		return c, err
	}
	h := tokenHash(raw)
	now := v.now().UnixNano()
	if e, ok := v.cache.get(&h); ok {
		if now < e.validFrom || now >= e.deadline {
			return nil, invalidToken(errCachedExpired)
		}
		if s.keys[e.key.id] != e.key {
			return nil, invalidToken(errKeyRetired)
		}
		return e.claims, nil
	}
	c, vk, err := v.verify(raw, s)
	if err != nil {
		return nil, err
	}
	v.cache.put(&h, v.entry(c, vk), now)
	return c, nil
}

// entry mirrors the time checks of jwt.Validator, which compares against
// second-precision NumericDates.
func (v *Verifier) entry(c *Claims, vk *verificationKey) cacheEntry {
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

func (v *Verifier) verify(raw string, s *snapshot) (*Claims, *verificationKey, error) {
	w := new(wireClaims)
	var vk *verificationKey
	_, err := v.parser.ParseWithClaims(raw, w, func(t *jwt.Token) (any, error) {
		if typ, _ := t.Header["typ"].(string); !strings.EqualFold(typ, AccessTokenType) &&
			!strings.EqualFold(typ, "application/"+AccessTokenType) {
			return nil, errType
		}
		kid, _ := t.Header["kid"].(string)
		if kid == "" {
			return nil, errNoKid
		}
		k, ok := s.keys[kid]
		if !ok {
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
		return nil, nil, invalidToken(err)
	}
	c := w.claims()
	if m := c.missing(); m != "" {
		return nil, nil, invalidToken(errors.New("no " + m + " claim"))
	}
	return c, vk, nil
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
