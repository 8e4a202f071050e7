package identity

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"

	"github.com/tollgate/tollgate/fault"
)

// Link tokens are the single-use secrets in emailed links: a prefix that
// names their use, then 32 random bytes in unpadded base64url — 43
// characters. Only their SHA-256 is stored; a token is found by its hash.
const (
	// InvitationTokenPrefix starts invitation tokens.
	InvitationTokenPrefix = "tginv_"
	// ResetTokenPrefix starts password-reset tokens.
	ResetTokenPrefix = "tgpwr_"
	// VerifyTokenPrefix starts sign-up verification tokens.
	VerifyTokenPrefix = "tgver_"
	// MFATokenPrefix starts the challenge tokens between a right password
	// and its second factor; they never travel in a link, but need the
	// same shape and handling.
	MFATokenPrefix = "tgmfa_"

	linkTokenBody = 43
)

// NewLinkToken returns a new token with prefix and its hash.
func NewLinkToken(prefix string) (raw string, hash []byte) {
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	raw = prefix + base64.RawURLEncoding.EncodeToString(b[:])
	sum := sha256.Sum256([]byte(raw))
	return raw, sum[:]
}

// ParseLinkToken checks raw's shape — prefix, length, alphabet — before
// any store lookup and returns its hash. Every failure is the same
// Invalid error with code, naming field: which part is wrong is nobody's
// business.
func ParseLinkToken(raw, prefix, field string, code fault.Code) ([]byte, error) {
	bad := fault.Invalidf(field, code, "the %s is malformed", field)
	if len(raw) != len(prefix)+linkTokenBody || raw[:len(prefix)] != prefix {
		return nil, bad
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(raw[len(prefix):])
	if err != nil || len(b) != 32 {
		return nil, bad
	}
	sum := sha256.Sum256([]byte(raw))
	return sum[:], nil
}
