package session

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// FuzzParsePasskeyAnswer: whatever a client sends as a passkey's answer,
// parsing it neither panics nor accepts more than maxCredentialJSON
// bytes, and a refusal is always a 400 invalid_passkey.
func FuzzParsePasskeyAnswer(f *testing.F) {
	for _, s := range []string{
		"", "{", "null", `{"id":"x"}`, `{"id":"AA","rawId":"AA","type":"public-key","response":{}}`,
		`{"id":"AA","rawId":"AA","type":"public-key","response":{"clientDataJSON":"e30","authenticatorData":"","signature":""}}`,
		`{"id":"AA","rawId":"AA","type":"public-key","response":{"clientDataJSON":"e30","attestationObject":"oA"}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		for _, parse := range []func() (any, error){
			func() (any, error) { return parseAssertion("credential", in) },
			func() (any, error) { return parseAttestation("credential", in) },
		} {
			_, err := parse()
			if err == nil && len(in) > maxCredentialJSON {
				t.Fatalf("%d bytes accepted", len(in))
			}
			if err != nil && codeOf(err) != string(CodeInvalidPasskey) {
				t.Fatalf("refusal %v", err)
			}
		}
	})
}

// FuzzCheckPasskeyName: a name passes only trimmed, printable and short.
func FuzzCheckPasskeyName(f *testing.F) {
	for _, s := range []string{"", "Laptop", "  YubiKey 5  ", "a\tb", strings.Repeat("é", 40), "\u200b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		n, err := checkPasskeyName(in)
		if err != nil {
			return
		}
		if len(n) > maxPasskeyName || n == "" || !utf8.ValidString(n) || strings.TrimSpace(n) != n || strings.ContainsFunc(n, unicode.IsControl) {
			t.Fatalf("%q passed as %q", in, n)
		}
	})
}
