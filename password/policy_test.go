package password

import (
	"bufio"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/tollgate/tollgate/fault"
)

func TestPolicyCheck(t *testing.T) {
	p := DefaultPolicy()
	if p != (Policy{MinLen: 8, MaxLen: 256}) {
		t.Fatalf("DefaultPolicy() = %+v", p)
	}
	email := "Alice.Smith@example.com"
	cases := []struct {
		name, plain string
		want        string // fault code, "" for acceptable
	}{
		{"ordinary passphrase", "correct horse battery staple", ""},
		{"exactly 8 ASCII", "k7#Qz!p2", ""},
		{"7 ASCII", "k7#Qz!p", "password_too_short"},
		{"empty", "", "password_too_short"},
		{"spaces count", "   xq   ", ""},
		{"only lowercase is fine", "zebraquiltmoon", ""},
		{"cyrillic", "пароль-секрет", ""},
		{"cyrillic 7 code points is short despite 14 bytes", "пароль1", "password_too_short"},
		{"emoji 8 code points", "🔑🐢🌵🎲🚲🧲🪁🫖", ""},
		{"emoji 7 code points is short despite 28 bytes", "🔑🐢🌵🎲🚲🧲🪁", "password_too_short"},
		{"CJK", "我的密码很长很安全", ""},
		{"exactly 256", strings.Repeat("ab", 128), ""},
		{"257", strings.Repeat("ab", 128) + "c", "password_too_long"},
		{"256 multibyte", strings.Repeat("ж", 256), ""},
		{"257 multibyte", strings.Repeat("ж", 257), "password_too_long"},
		{"invalid UTF-8", "abc\xffdefgh", "password_invalid_utf8"},
		{"truncated UTF-8", "abcdefgh\xd0", "password_invalid_utf8"},
		{"NUL", "abcd\x00efgh", "password_invalid_utf8"},
		{"common", "iloveyou", "password_common"},
		{"common any case", "PassWord123", "password_common"},
		{"common keyboard walk", "qwertyuiop", "password_common"},
		{"common with year", "Summer2024", "password_common"},
		{"common leet", "P@ssw0rd", "password_common"},
		{"common digits", "123456789", "password_common"},
		{"service name", "tollgate", "password_contextual"},
		{"service name any case", "TollGate", "password_contextual"},
		{"email", email, "password_contextual"},
		{"email other case", strings.ToUpper(email), "password_contextual"},
		{"email local part", "alice.smith", "password_contextual"},
		{"containing the local part is allowed", "alice.smith rides bikes", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := p.Check(tc.plain, email, "")
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Check = %v, want nil", err)
				}
				return
			}
			if codeOf(err) != tc.want || fault.KindOf(err) != fault.Invalid {
				t.Fatalf("Check = %v, want Invalid %s", err, tc.want)
			}
			fe := err.(*fault.Error)
			if fe.Field != "password" || fe.Detail == "" {
				t.Fatalf("fault field %q detail %q; want field password and a detail", fe.Field, fe.Detail)
			}
			if tc.plain != "" && strings.Contains(fe.Error(), tc.plain) {
				t.Fatalf("error %q echoes the password", fe.Error())
			}
		})
	}
}

func TestPolicyContextWords(t *testing.T) {
	p := DefaultPolicy()
	cases := []struct {
		name, plain string
		words       []string
		reject      bool
	}{
		{"no words still refuses service name", "tollgate", nil, true},
		{"username", "bobbytables", []string{"BobbyTables"}, true},
		{"quoted local part up to last @", `"a@b"zzzzz`, []string{`"a@b"zzzzz@example.com`}, true},
		{"domain alone is not derived", "example.com", []string{"bob@example.com"}, false},
		{"unrelated", "violet kettle drum", []string{"bob@example.com", "bob"}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := p.Check(tc.plain, tc.words...)
			if got := codeOf(err) == "password_contextual"; got != tc.reject {
				t.Fatalf("Check(%q, %q) = %v; want contextual rejection %v", tc.plain, tc.words, err, tc.reject)
			}
		})
	}
}

func TestPolicyCustomAndZero(t *testing.T) {
	strict := Policy{MinLen: 15, MaxLen: 64}
	if codeOf(strict.Check("fourteen chars")) != "password_too_short" {
		t.Error("15-character minimum not applied")
	}
	if err := strict.Check("fifteen chars!!"); err != nil {
		t.Errorf("15 characters rejected: %v", err)
	}
	if codeOf(strict.Check(strings.Repeat("x1", 33))) != "password_too_long" {
		t.Error("64-character maximum not applied")
	}
	var zero Policy
	if codeOf(zero.Check("short")) != "password_too_short" {
		t.Error("zero Policy accepted a 5-character password")
	}
	if codeOf(zero.Check(strings.Repeat("x", 257))) != "password_too_long" {
		t.Error("zero Policy accepted a 257-character password")
	}
}

// TestCommonPasswordsList checks the shipped list itself: big enough to
// matter, clean, and loaded the way Check sees it.
func TestCommonPasswordsList(t *testing.T) {
	set := commonPasswords()
	if len(set) < 1000 {
		t.Fatalf("list has %d entries, want at least 1000", len(set))
	}
	if !strings.HasPrefix(commonPasswordsText, "#") {
		t.Error("list has no header comment")
	}
	seen := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(commonPasswordsText))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		switch {
		case line == "" || strings.TrimSpace(line) != line:
			t.Errorf("line %d: blank or padded entry %q", n, line)
		case !utf8.ValidString(line):
			t.Errorf("line %d: invalid UTF-8", n)
		case strings.ToLower(line) != line:
			t.Errorf("line %d: %q is not lower case", n, line)
		case seen[line]:
			t.Errorf("line %d: duplicate %q", n, line)
		}
		seen[line] = true
	}
	if len(seen) != len(set) {
		t.Errorf("file has %d entries, set has %d", len(seen), len(set))
	}
	for _, w := range []string{"123456", "password", "qwerty123", "iloveyou", "trustno1", "passw0rd", "welcome1", "admin123"} {
		if !isCommon(w) {
			t.Errorf("%q missing from list", w)
		}
	}
	if isCommon("# common passwords") || isCommon("") {
		t.Error("comment or blank line loaded as an entry")
	}
}
