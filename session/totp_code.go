package session

import (
	"crypto/subtle"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/tollgate/tollgate/fault"
)

// The TOTP parameters every authenticator app supports (RFC 6238's
// defaults): 30-second steps, six digits, HMAC-SHA1.
const (
	totpPeriod = 30
	totpDigits = 6
	// totpSkew is how many steps either side of now a code is accepted
	// for: clocks drift, and people type slowly.
	totpSkew = 1
	// maxCodeInput bounds a code before it is looked at.
	maxCodeInput = 64
)

var totpOpts = totp.ValidateOpts{Period: totpPeriod, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// parseTOTPCode checks a code's shape: six ASCII digits, spaces around or
// in the middle allowed (apps show "123 456").
func parseTOTPCode(field, in string) (string, error) {
	bad := fault.Invalidf(field, CodeInvalidMFACode, "%s must be the %d digits your authenticator app shows", field, totpDigits)
	if len(in) > maxCodeInput {
		return "", bad
	}
	out := make([]byte, 0, totpDigits)
	for i := 0; i < len(in); i++ {
		switch c := in[i]; {
		case c == ' ':
		case c >= '0' && c <= '9' && len(out) < totpDigits:
			out = append(out, c)
		default:
			return "", bad
		}
	}
	if len(out) != totpDigits {
		return "", bad
	}
	return string(out), nil
}

// totpStep is the time step of t.
func totpStep(t time.Time) int64 { return t.Unix() / totpPeriod }

// matchStep returns the latest time step within totpSkew of now that
// code is right for, and false when there is none. Every candidate is
// computed and compared in constant time, so the answer's timing does not
// tell which step matched.
func matchStep(secret, code string, now time.Time) (int64, bool) {
	cur := totpStep(now)
	var step int64
	found := false
	for d := int64(-totpSkew); d <= totpSkew; d++ {
		want, err := totp.GenerateCodeCustom(secret, time.Unix((cur+d)*totpPeriod, 0), totpOpts)
		if err == nil && subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			step, found = cur+d, true
		}
	}
	return step, found
}
