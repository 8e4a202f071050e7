package token

import (
	"crypto/ed25519"
	"fmt"

	"github.com/golang-jwt/jwt/v5"

	"github.com/tollgate/tollgate/fault"
)

// AccessTokenType is the typ header of access tokens (RFC 9068), which keeps
// other JWTs signed by the same keys from passing as access tokens.
const AccessTokenType = "at+jwt"

// Sign issues an access token for c with the current signing key. IssuedAt
// defaults to now. sub, jti, sid and exp are required, and exp may not be
// more than TokenTTL (plus Leeway for the caller's clock) ahead: key pruning
// relies on no token outliving that.
func (kr *Keyring) Sign(c Claims) (string, error) {
	s := kr.snap.Load()
	if s == nil {
		return "", fault.New(fault.Unavailable, CodeSigningKeysNotLoaded, "the signing keys are not loaded")
	}
	now := kr.opts.Now()
	if c.IssuedAt.IsZero() {
		c.IssuedAt = now
	}
	if m := c.missing(); m != "" {
		return "", claimsError("the %s claim is required", m)
	}
	if !c.ExpiresAt.After(now) {
		return "", claimsError("exp %s is not in the future", c.ExpiresAt)
	}
	if limit := now.Add(kr.opts.TokenTTL + kr.opts.Leeway); c.ExpiresAt.After(limit) {
		return "", claimsError("exp %s is beyond the keyring's token lifetime of %s", c.ExpiresAt, kr.opts.TokenTTL)
	}
	sk := s.signer(now)
	t := jwt.NewWithClaims(sk.method, &c)
	t.Header["kid"] = sk.id
	t.Header["typ"] = AccessTokenType
	raw, err := t.SignedString(sk.priv)
	if err != nil {
		return "", fault.Wrap(fault.Internal, CodeTokenSigningFailed, err)
	}
	return raw, nil
}

func claimsError(format string, args ...any) *fault.Error {
	return &fault.Error{Kind: fault.Internal, Code: CodeTokenClaimsInvalid, Detail: fmt.Sprintf(format, args...)}
}

// SignMessage signs build(kid) with the key that signs now, for signatures
// that are not tokens: the audit log's digests, made by a keyring of their
// own over its own key store, so that no token key ever signs anything but
// tokens. Only Ed25519 keys sign messages; the message is signed as is
// (pure Ed25519), so build must put a domain separator in it.
func (kr *Keyring) SignMessage(build func(kid string) []byte) (string, []byte, error) {
	s := kr.snap.Load()
	if s == nil {
		return "", nil, fault.New(fault.Unavailable, CodeSigningKeysNotLoaded, "the signing keys are not loaded")
	}
	sk := s.signer(kr.opts.Now())
	priv, ok := sk.priv.(ed25519.PrivateKey)
	if !ok {
		return "", nil, fault.Invalidf("signing_algorithm", CodeUnsupportedAlgorithm,
			"messages are signed with %s keys only; key %s is not one", AlgEdDSA, sk.id)
	}
	return sk.id, ed25519.Sign(priv, build(sk.id)), nil
}
