package password

import (
	_ "embed"
	"strings"
	"sync"
)

// commonPasswordsText is one password per line; lines starting with # are
// comments. Entries are matched case-insensitively.
//
//go:embed common-passwords.txt
var commonPasswordsText string

// commonPasswords is built on first use rather than at init so that programs
// that import the package but never check a password do not pay for it. The
// map is never written after construction, so sharing it is safe.
var commonPasswords = sync.OnceValue(func() map[string]struct{} {
	set := make(map[string]struct{}, strings.Count(commonPasswordsText, "\n"))
	for line := range strings.Lines(commonPasswordsText) {
		line = strings.TrimRight(line, "\r\n")
		if line == "" || line[0] == '#' {
			continue
		}
		set[strings.ToLower(line)] = struct{}{}
	}
	return set
})

func isCommon(plain string) bool {
	_, found := commonPasswords()[strings.ToLower(plain)]
	return found
}
