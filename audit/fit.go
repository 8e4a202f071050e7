package audit

import "strings"

// Field limits callers need to fit values into an event.
const (
	MaxReason   = 256
	MaxTargetID = 256
	MaxTarget   = 64
	// MaxDetailValue bounds one Detail value.
	MaxDetailValue = maxDetailValue
)

// FitText makes s acceptable as a text field (Reason, a Detail value) of
// at most max bytes: valid UTF-8 without NUL, cut at a rune. Recorders of
// high-volume events use it on input a client chose, so that an odd value
// shortens the event instead of dropping it.
func FitText(s string, max int) string {
	if strings.IndexByte(s, 0) >= 0 {
		s = strings.ReplaceAll(s, "\x00", "\uFFFD")
	}
	return clampText(s, max)
}

// FitIdent reports whether s is acceptable as an identifier field (an id,
// a target) of at most max bytes: valid UTF-8 without spaces or control
// characters. A value that is not belongs in Detail, through FitText.
func FitIdent(s string, max int) bool {
	return checkString("", s, max, true) == nil
}
