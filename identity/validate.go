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
	MaxLocalPartLen   = 64  // RFC 5321 local-part limit
	MaxNameLen        = 200
	MaxRoleNameLen    = 63
	MaxRolesPerMember = 32
	MaxRoleDescLen    = 500
	MinSlugLen        = 3
	MaxSlugLen        = 63
)

var slugRE = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$`)

// reservedSlugs are tenant slugs refused because a tenant's slug can become a
// subdomain or a path: these name the platform's own hosts and pages, and a
// tenant holding one could pass for the operator.
var reservedSlugs = map[string]bool{
	"admin": true, "administrator": true, "api": true, "app": true, "apps": true,
	"assets": true, "auth": true, "billing": true, "blog": true, "cdn": true,
	"console": true, "dashboard": true, "dev": true, "docs": true, "ftp": true,
	"help": true, "id": true, "identity": true, "imap": true, "login": true,
	"logout": true, "mail": true, "oauth": true, "openid": true, "pop": true,
	"root": true, "security": true, "signin": true, "signup": true, "smtp": true,
	"sso": true, "static": true, "status": true, "support": true, "system": true,
	"tollgate": true, "webmail": true, "www": true,
}

// ValidateSlug enforces lower-case ASCII letters, digits and inner hyphens,
// 3–63 characters: a DNS label, so a slug can become a subdomain.
func ValidateSlug(slug string) error {
	return CheckSlug("slug", slug, CodeInvalidSlug)
}

// CheckSlug applies the slug rules to field, answering code; each message
// names the rule that failed.
func CheckSlug(field, slug string, code fault.Code) error {
	if n := len(slug); n < MinSlugLen || n > MaxSlugLen {
		return fault.Invalidf(field, code, "%s must be %d to %d characters long, not %d", field, MinSlugLen, MaxSlugLen, n)
	}
	for _, r := range slug {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return fault.Invalidf(field, code, "%s may contain only lower-case letters a-z, digits 0-9 and hyphens, not %q", field, r)
		}
	}
	if !slugRE.MatchString(slug) {
		return fault.Invalidf(field, code, "%s must not start or end with a hyphen", field)
	}
	return nil
}

// ValidateTenantSlug is ValidateSlug and also refuses reserved words and
// punycode (xn--) labels, which could display as another name.
func ValidateTenantSlug(slug string) error {
	if err := ValidateSlug(slug); err != nil {
		return err
	}
	if strings.HasPrefix(slug, "xn--") {
		return fault.Invalidf("slug", CodeReservedSlug, "slug must not start with xn-- (punycode is reserved)")
	}
	if reservedSlugs[slug] {
		return fault.Invalidf("slug", CodeReservedSlug, "slug %q is a reserved word", slug)
	}
	return nil
}

// IsInvisible reports whether r is a control (Cc) or format (Cf) character:
// zero-width characters, bidi overrides and the like, which do not show
// and make a string display as another one.
func IsInvisible(r rune) bool {
	return unicode.IsControl(r) || unicode.Is(unicode.Cf, r)
}

// CheckText checks free text in field: valid UTF-8, at most max characters
// (runes), no control or format characters. The code is the caller's.
func CheckText(field, text string, max int, code fault.Code) error {
	if !utf8.ValidString(text) {
		return fault.Invalidf(field, code, "%s must be valid UTF-8", field)
	}
	if n := utf8.RuneCountInString(text); n > max {
		return fault.Invalidf(field, code, "%s must be at most %d characters long, not %d", field, max, n)
	}
	return checkInvisible(field, text, code)
}

func checkInvisible(field, text string, code fault.Code) error {
	for _, r := range text {
		if IsInvisible(r) {
			return fault.Invalidf(field, code, "%s must not contain control or invisible format characters (found U+%04X)", field, r)
		}
	}
	return nil
}

// ValidateName checks a display name: 1–200 characters of valid UTF-8 without
// control or format characters. Empty is allowed when optional.
func ValidateName(field, name string, optional bool) error {
	if name == "" {
		if optional {
			return nil
		}
		return fault.Invalidf(field, CodeInvalidName, "%s is required", field)
	}
	if err := CheckText(field, name, MaxNameLen, CodeInvalidName); err != nil {
		return err
	}
	if strings.TrimSpace(name) != name {
		return fault.Invalidf(field, CodeInvalidName, "%s must not start or end with spaces", field)
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
	if !utf8.ValidString(e) {
		return "", fault.Invalidf("email", CodeInvalidEmail, "email must be valid UTF-8")
	}
	if len(e) > MaxEmailLen {
		return "", fault.Invalidf("email", CodeInvalidEmail, "email must be at most %d bytes long, not %d", MaxEmailLen, len(e))
	}
	if err := checkInvisible("email", e, CodeInvalidEmail); err != nil {
		return "", err
	}
	at := strings.LastIndexByte(e, '@')
	if at <= 0 || at == len(e)-1 {
		return "", fault.Invalidf("email", CodeInvalidEmail, "email must have a local part, an @ and a domain, like name@example.com")
	}
	local, domain := e[:at], e[at+1:]
	if len(local) > MaxLocalPartLen {
		return "", fault.Invalidf("email", CodeInvalidEmail, "email local part must be at most %d bytes long, not %d", MaxLocalPartLen, len(local))
	}
	for _, r := range local {
		if unicode.IsSpace(r) || strings.ContainsRune(emailLocalForbidden, r) {
			return "", fault.Invalidf("email", CodeInvalidEmail, "email local part must not contain spaces or any of %s (found %q)", emailLocalForbidden, r)
		}
	}
	domain = strings.ToLower(domain)
	if !validDomain(domain) {
		return "", fault.Invalidf("email", CodeInvalidEmail, "email domain must be at most 253 bytes of dot-separated labels (at least two) of letters, digits and inner hyphens, each at most 63 bytes")
	}
	return asciiLower(local) + "@" + domain, nil
}

// emailLocalForbidden are the characters refused in an email's local part
// (besides spaces, control and format characters): RFC 5322 specials that
// would need quoting.
const emailLocalForbidden = `@"(),:;<>[\]`

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
	return checkRoleName("name", name)
}

func checkRoleName(field, name string) error {
	if n := len(name); n == 0 || n > MaxRoleNameLen {
		return fault.Invalidf(field, CodeInvalidRoleName, "role name must be 1 to %d characters long, not %d", MaxRoleNameLen, n)
	}
	if !roleNameRE.MatchString(name) {
		return fault.Invalidf(field, CodeInvalidRoleName, "role name may contain only a-z, 0-9, _ and -, and must start with a letter a-z")
	}
	return nil
}

// ValidatePermissions checks that every permission is in the catalogue and
// returns them sorted and de-duplicated.
func ValidatePermissions(perms []string) ([]string, error) {
	if len(perms) > len(catalogue) {
		return nil, fault.Invalidf("permissions", CodeInvalidPermissions, "permissions must hold at most %d entries, not %d", len(catalogue), len(perms))
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
		return nil, fault.Invalidf("roles", CodeInvalidRoles, "roles must hold at most %d entries, not %d", MaxRolesPerMember, len(roles))
	}
	out := make([]string, 0, len(roles))
	for i, r := range roles {
		if IsBuiltinRole(r) {
			out = append(out, r)
			continue
		}
		if err := checkRoleName("roles["+strconv.Itoa(i)+"]", r); err != nil {
			return nil, err
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
