package password

import (
	"strings"
	"unicode/utf8"

	"github.com/tollgate/tollgate/fault"
)

// Policy is the rule set for new passwords, following NIST SP 800-63B: a
// length range, no composition rules (they push users towards predictable
// substitutions), and a blocklist of common and context-specific passwords.
type Policy struct {
	// MinLen and MaxLen are in Unicode code points. A value < 1 means the
	// DefaultPolicy value, so a zero Policy is never weaker than the default.
	MinLen, MaxLen int
}

// DefaultPolicy returns the minimum of 8 code points that SP 800-63B sets for
// all passwords, and a maximum generous enough for passphrases that still
// bounds the work of hashing one.
func DefaultPolicy() Policy { return Policy{MinLen: 8, MaxLen: 256} }

// serviceName is always a context word: SP 800-63B names the service's own
// name as a password to refuse.
const serviceName = "tollgate"

// Check returns nil when plain is acceptable as a new password, or an Invalid
// fault naming the first rule it breaks. contextWords are values the password
// must not equal, case-insensitively, such as the user's email; for a word
// containing '@' the part before the last one is refused too, and "tollgate" always is.
//
// Length is counted in code points of plain as given, without Unicode
// normalisation, so a precomposed "é" counts as one and "e" plus a combining
// accent as two. Every character is allowed, including spaces and emoji,
// except NUL, which many systems treat as a terminator.
func (p Policy) Check(plain string, contextWords ...string) error {
	def := DefaultPolicy()
	if p.MinLen < 1 {
		p.MinLen = def.MinLen
	}
	if p.MaxLen < 1 {
		p.MaxLen = def.MaxLen
	}
	if !utf8.ValidString(plain) || strings.IndexByte(plain, 0) >= 0 {
		return fault.Invalidf("password", CodePasswordInvalidUTF8,
			"Password must be valid UTF-8 text and must not contain NUL characters.")
	}
	n := utf8.RuneCountInString(plain)
	if n < p.MinLen {
		return fault.Invalidf("password", CodePasswordTooShort,
			"Password must be at least %d characters long.", p.MinLen)
	}
	if n > p.MaxLen {
		return fault.Invalidf("password", CodePasswordTooLong,
			"Password must be at most %d characters long.", p.MaxLen)
	}
	if isCommon(plain) {
		return fault.Invalidf("password", CodePasswordCommon,
			"Password is too common: it appears in lists of frequently used passwords. Choose a less predictable one.")
	}
	if isContextual(plain, contextWords) {
		return fault.Invalidf("password", CodePasswordContextual,
			"Password must not be your email address, your username or the name of this service.")
	}
	return nil
}

func isContextual(plain string, words []string) bool {
	if strings.EqualFold(plain, serviceName) {
		return true
	}
	for _, w := range words {
		if w == "" {
			continue
		}
		if strings.EqualFold(plain, w) {
			return true
		}
		// The local part ends at the last '@': a quoted local part may contain one.
		if at := strings.LastIndexByte(w, '@'); at > 0 && strings.EqualFold(plain, w[:at]) {
			return true
		}
	}
	return false
}
