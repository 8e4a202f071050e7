package identity

import (
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/tollgate/tollgate/fault"
)

// Length bounds on identity strings.
const (
	MaxEmailLen       = 254 // RFC 5321 path limit
	MaxNameLen        = 200
	MaxRoleNameLen    = 63
	MaxRolesPerMember = 32
	MaxRoleDescLen    = 500
	MinSlugLen        = 3
	MaxSlugLen        = 63
)

var slugRE = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$`)

// ValidateSlug enforces lower-case ASCII letters, digits and inner hyphens,
// 3–63 characters: a DNS label, so a slug can become a subdomain.
func ValidateSlug(slug string) error {
	if n := len(slug); n < MinSlugLen || n > MaxSlugLen {
		return fault.Invalidf("slug", CodeInvalidSlug, "slug must be %d to %d characters", MinSlugLen, MaxSlugLen)
	}
	if !slugRE.MatchString(slug) {
		return fault.Invalidf("slug", CodeInvalidSlug, "slug may contain only a-z, 0-9 and inner hyphens")
	}
	return nil
}

// ValidateName checks a display name: 1–200 characters of valid UTF-8 without
// control characters. Empty is allowed when optional.
func ValidateName(field, name string, optional bool) error {
	if name == "" {
		if optional {
			return nil
		}
		return fault.Invalidf(field, CodeInvalidName, "%s is required", field)
	}
	if !utf8.ValidString(name) || utf8.RuneCountInString(name) > MaxNameLen {
		return fault.Invalidf(field, CodeInvalidName, "%s must be valid UTF-8 of at most %d characters", field, MaxNameLen)
	}
	if strings.TrimSpace(name) != name {
		return fault.Invalidf(field, CodeInvalidName, "%s must not start or end with spaces", field)
	}
	for _, r := range name {
		if unicode.IsControl(r) {
			return fault.Invalidf(field, CodeInvalidName, "%s must not contain control characters", field)
		}
	}
	return nil
}

// NormalizeEmail trims surrounding space, lower-cases the domain and
// lower-cases ASCII letters in the local part: RFC 5321 lets servers treat
// local parts as case-sensitive, but no mainstream provider does, and two
// accounts differing only in case are a phishing vector. Dots and "+tags" are not stripped: that rule is specific to
// some providers and would merge distinct mailboxes elsewhere.
func NormalizeEmail(raw string) (string, error) {
	e := strings.TrimSpace(raw)
	if e == "" {
		return "", fault.Invalidf("email", CodeInvalidEmail, "email is required")
	}
	if len(e) > MaxEmailLen || !utf8.ValidString(e) {
		return "", fault.Invalidf("email", CodeInvalidEmail, "email must be at most %d bytes of UTF-8", MaxEmailLen)
	}
	at := strings.LastIndexByte(e, '@')
	if at <= 0 || at == len(e)-1 {
		return "", fault.Invalidf("email", CodeInvalidEmail, "email must look like name@example.com")
	}
	local, domain := e[:at], e[at+1:]
	if len(local) > 64 || strings.ContainsAny(local, "@ \t\r\n\"(),:;<>[\\]") {
		return "", fault.Invalidf("email", CodeInvalidEmail, "email local part is not valid")
	}
	for _, r := range local {
		if unicode.IsControl(r) || unicode.IsSpace(r) {
			return "", fault.Invalidf("email", CodeInvalidEmail, "email local part is not valid")
		}
	}
	domain = strings.ToLower(domain)
	if !validDomain(domain) {
		return "", fault.Invalidf("email", CodeInvalidEmail, "email domain is not valid")
	}
	return asciiLower(local) + "@" + domain, nil
}

func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// validDomain accepts dot-separated labels of letters (any script, for
// internationalised domains), digits and inner hyphens.
func validDomain(d string) bool {
	if len(d) > 253 || !strings.Contains(d, ".") {
		return false
	}
	for _, label := range strings.Split(d, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if !(unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-') {
				return false
			}
		}
	}
	return true
}

var roleNameRE = regexp.MustCompile(`^[a-z][a-z0-9_-]*$`)

// ValidateRoleName checks a custom role name; built-in names are reserved.
func ValidateRoleName(name string) error {
	if len(name) == 0 || len(name) > MaxRoleNameLen || !roleNameRE.MatchString(name) {
		return fault.Invalidf("name", CodeInvalidRoleName, "role name must be 1 to %d characters of a-z, 0-9, _ and -, starting with a letter", MaxRoleNameLen)
	}
	return nil
}

// ValidatePermissions checks that every permission is in the catalogue and
// returns them sorted and de-duplicated.
func ValidatePermissions(perms []string) ([]string, error) {
	if len(perms) > len(catalogue) {
		return nil, fault.Invalidf("permissions", CodeInvalidPermissions, "at most %d permissions", len(catalogue))
	}
	out := make([]string, 0, len(perms))
	for i, p := range perms {
		if !KnownPermission(p) {
			return nil, fault.Invalidf("permissions["+strconv.Itoa(i)+"]", CodeUnknownPermission, "%q is not in the permission catalogue", truncate(p, 64))
		}
		out = append(out, p)
	}
	sort.Strings(out)
	return slices.Compact(out), nil
}

// ValidateRoleNames checks the shape of a membership's role list and returns
// it sorted and de-duplicated. Whether custom roles exist is the caller's
// concern (it needs the store).
func ValidateRoleNames(roles []string) ([]string, error) {
	if len(roles) == 0 {
		return nil, fault.Invalidf("roles", CodeInvalidRoles, "at least one role is required")
	}
	if len(roles) > MaxRolesPerMember {
		return nil, fault.Invalidf("roles", CodeInvalidRoles, "at most %d roles", MaxRolesPerMember)
	}
	out := make([]string, 0, len(roles))
	for i, r := range roles {
		if IsBuiltinRole(r) {
			out = append(out, r)
			continue
		}
		if err := ValidateRoleName(r); err != nil {
			return nil, fault.Invalidf("roles["+strconv.Itoa(i)+"]", CodeInvalidRoleName, "%q is not a valid role name", truncate(r, 64))
		}
		out = append(out, r)
	}
	sort.Strings(out)
	return slices.Compact(out), nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
