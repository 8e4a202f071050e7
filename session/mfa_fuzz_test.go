package session

import (
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"
)

// FuzzParseTOTPCode: whatever the input, a code passes only as six ASCII
// digits, and only if the input was those digits and spaces.
func FuzzParseTOTPCode(f *testing.F) {
	for _, s := range []string{"123456", "123 456", " 123456 ", "12345", "1234567", "12345a", "１２３４５６", strings.Repeat(" ", 70) + "1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		c, err := parseTOTPCode("code", in)
		if err != nil {
			return
		}
		if len(c) != totpDigits || strings.Trim(c, "0123456789") != "" || len(in) > maxCodeInput ||
			strings.ReplaceAll(in, " ", "") != c {
			t.Fatalf("%q passed as %q", in, c)
		}
	})
}

// FuzzParseRecoveryCode: a code passes only with 16 characters of the
// alphabet once case, dashes and spaces are set aside, and equal inputs
// so normalised hash alike.
func FuzzParseRecoveryCode(f *testing.F) {
	for _, s := range []string{"abcd-efgh-ijkl-mnop", "ABCD EFGH IJKL MNOP", "abcdefghijklmnop", "abcd-efgh-ijkl-mno1", "", "ǅabc-defg-hijk-lmno"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		h, err := parseRecoveryCode("u1", in)
		if err != nil {
			return
		}
		n := normalizeRecovery(in)
		if len(n) != recoveryCodeChars || strings.Trim(n, recoveryAlphabet) != "" {
			t.Fatalf("%q passed", in)
		}
		again, err := parseRecoveryCode("u1", strings.ToUpper(n))
		if err != nil || string(again) != string(h) {
			t.Fatalf("%q and its normal form hash apart", in)
		}
		if other, _ := parseRecoveryCode("u2", in); string(other) == string(h) {
			t.Fatal("two users' hashes of one code are equal")
		}
	})
}

// TestMatchStep: a code is right for its own step and one either side,
// and matchStep names the step.
func TestMatchStep(t *testing.T) {
	const secret = "JBSWY3DPEHPK3PXP"
	now := time.Unix(1_700_000_000, 0)
	for _, c := range []struct {
		name  string
		at    time.Duration
		ok    bool
		delta int64
	}{
		{"now", 0, true, 0},
		{"a step ago", -30 * time.Second, true, -1},
		{"a step ahead", 30 * time.Second, true, 1},
		{"two steps ago", -60 * time.Second, false, 0},
		{"two steps ahead", 60 * time.Second, false, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, err := totp.GenerateCodeCustom(secret, now.Add(c.at), totpOpts)
			if err != nil {
				t.Fatal(err)
			}
			step, ok := matchStep(secret, code, now)
			if ok != c.ok || ok && step != totpStep(now)+c.delta {
				t.Fatalf("step %d, %v", step, ok)
			}
		})
	}
}
