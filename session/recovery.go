package session

import (
	"crypto/rand"
	"crypto/sha256"
	"strings"

	"github.com/tollgate/tollgate/fault"
)

// Recovery codes stand in for the authenticator app, once each. A code is
// 16 characters of lower-case base32 (80 random bits) shown in groups of
// four: "abcd-efgh-ijkl-mnop".
const (
	recoveryCodeCount = 10
	recoveryCodeChars = 16
	recoveryAlphabet  = "abcdefghijklmnopqrstuvwxyz234567"
)

// newRecoveryCodes returns recoveryCodeCount fresh codes for userID and
// the hashes the store keeps.
func newRecoveryCodes(userID string) (codes []string, hashes [][]byte) {
	for range recoveryCodeCount {
		var b [recoveryCodeChars]byte
		_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
		var sb strings.Builder
		for i, c := range b {
			if i > 0 && i%4 == 0 {
				sb.WriteByte('-')
			}
			// 256 is a multiple of 32: no bias.
			sb.WriteByte(recoveryAlphabet[c%32])
		}
		code := sb.String()
		codes = append(codes, code)
		hashes = append(hashes, hashRecoveryCode(userID, normalizeRecovery(code)))
	}
	return codes, hashes
}

func normalizeRecovery(code string) string {
	return strings.Map(func(r rune) rune {
		if r == '-' || r == ' ' {
			return -1
		}
		return r
	}, strings.ToLower(code))
}

// hashRecoveryCode binds a code to its user, so that equal codes of two
// users (never expected; 80 bits) hash apart and a hash moved between
// users does not work.
func hashRecoveryCode(userID, normalized string) []byte {
	sum := sha256.Sum256([]byte("tollgate recovery code\x00" + userID + "\x00" + normalized))
	return sum[:]
}

// parseRecoveryCode checks a code's shape, case, dashes and spaces aside,
// and returns its hash for userID.
func parseRecoveryCode(userID, in string) ([]byte, error) {
	bad := fault.Invalidf("recovery_code", CodeInvalidMFACode, "recovery_code must be one of your %d recovery codes", recoveryCodeCount)
	if len(in) > maxCodeInput {
		return nil, bad
	}
	n := normalizeRecovery(in)
	if len(n) != recoveryCodeChars || strings.Trim(n, recoveryAlphabet) != "" {
		return nil, bad
	}
	return hashRecoveryCode(userID, n), nil
}
