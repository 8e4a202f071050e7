package config

import (
	"net/url"
	"strings"
)

// Database URLs.
//
// SQLite URLs name a file; everything after the scheme is the path, taken
// literally (no host part, no percent-decoding, no query parameters):
//
//	sqlite:///var/lib/tollgate/tollgate.db  → /var/lib/tollgate/tollgate.db (absolute)
//	sqlite:/var/lib/tollgate/tollgate.db    → /var/lib/tollgate/tollgate.db (absolute)
//	sqlite://tollgate-data/tollgate.db      → tollgate-data/tollgate.db (relative to the working directory)
//	sqlite:tollgate-data/tollgate.db        → tollgate-data/tollgate.db (relative to the working directory)
//
// PostgreSQL URLs are passed to the driver unchanged:
//
//	postgres://user:password@host:5432/dbname?sslmode=verify-full
//	postgresql://…
//
// Schemes are matched case-insensitively.

func hasSQLiteScheme(s string) bool {
	return len(s) >= len("sqlite:") && strings.EqualFold(s[:len("sqlite:")], "sqlite:")
}

// sqlitePath returns the file path of a SQLite URL and whether s is one.
func sqlitePath(s string) (string, bool) {
	if !hasSQLiteScheme(s) {
		return "", false
	}
	return strings.TrimPrefix(s[len("sqlite:"):], "//"), true
}

func isPostgresURL(s string) bool {
	for _, prefix := range []string{"postgres://", "postgresql://"} {
		if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
			return true
		}
	}
	return false
}

// RedactURL returns a database URL fit for logs and output: the password in
// the user information and the password and sslpassword query parameters are
// replaced by "<redacted>", as in postgres://user:<redacted>@host/db.
//
// It works on the text rather than on url.Parse, because a password with
// unescaped special characters ('/', '?', '#', '@') makes url.Parse split the
// URL in the wrong place and would leak part of the password into the "host"
// or "path". The user information is taken to end at the last '@', so an
// unusual URL with an '@' in its query is over-redacted, never under-redacted.
func RedactURL(s string) string {
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		return s
	}
	if at := strings.LastIndexByte(rest, '@'); at >= 0 {
		if user, _, hasPassword := strings.Cut(rest[:at], ":"); hasPassword {
			rest = user + ":" + redacted + rest[at:]
		}
	}
	base, query, hasQuery := strings.Cut(rest, "?")
	if !hasQuery {
		return scheme + "://" + rest
	}
	fragment := ""
	if i := strings.IndexByte(query, '#'); i >= 0 {
		query, fragment = query[:i], query[i:]
	}
	params := strings.Split(query, "&")
	for i, p := range params {
		k, _, hasValue := strings.Cut(p, "=")
		name, err := url.QueryUnescape(k)
		if err != nil {
			name = k
		}
		if hasValue && isSecretParam(name) {
			params[i] = k + "=" + redacted
		}
	}
	return scheme + "://" + base + "?" + strings.Join(params, "&") + fragment
}

func isSecretParam(name string) bool {
	switch strings.ToLower(name) {
	case "password", "sslpassword":
		return true
	}
	return false
}
