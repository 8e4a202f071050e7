package identity

import (
	"errors"
	"strings"
	"testing"

	"github.com/tollgate/tollgate/fault"
)

func TestNormalizeEmail(t *testing.T) {
	cases := []struct {
		in, want string
		ok       bool
	}{
		{"ann@example.com", "ann@example.com", true},
		{"  Ann.Lee+news@Example.COM \n", "ann.lee+news@example.com", true},
		{"ANN@EXAMPLE.COM", "ann@example.com", true},
		{"josé@exämple.de", "josé@exämple.de", true},
		{"José@EXÄMPLE.de", "josé@exämple.de", true},
		{"user@sub.domain.example", "user@sub.domain.example", true},
		{"", "", false},
		{"no-at-sign", "", false},
		{"@example.com", "", false},
		{"ann@", "", false},
		{"ann@localhost", "", false},
		{"ann@-bad.example", "", false},
		{"ann@exa mple.com", "", false},
		{"an n@example.com", "", false},
		{"ann\x00@example.com", "", false},
		{"a\"b@example.com", "", false},
		{"ann@example..com", "", false},
		{"x'; DROP TABLE users;--@example.com", "", false},
		{strings.Repeat("a", 65) + "@example.com", "", false},
		{"a@" + strings.Repeat("b", 250) + ".com", "", false},
		{"\xff@example.com", "", false},
		{"o\u200ba@a.test", "", false},       // zero-width space: displays as oa@a.test
		{"o\u202ea@a.test", "", false},       // right-to-left override
		{"o\u2066a@a.test", "", false},       // left-to-right isolate
		{"a\ufeff@example.com", "", false},   // zero-width no-break space (BOM)
		{"ann@exa\u200dmple.com", "", false}, // zero-width joiner in the domain
		{"a\x7f@example.com", "", false},     // DEL
		{"a\u0085@example.com", "", false},   // NEL (Cc)
	}
	for _, c := range cases {
		got, err := NormalizeEmail(c.in)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("NormalizeEmail(%q) = %q, %v; want %q, ok=%v", c.in, got, err, c.want, c.ok)
		}
		if err != nil && !errors.Is(err, &fault.Error{Code: "invalid_email"}) {
			t.Errorf("NormalizeEmail(%q) error code: %v", c.in, err)
		}
	}
}

func TestValidateSlug(t *testing.T) {
	cases := []struct {
		slug string
		ok   bool
	}{
		{"abc", true}, {"team-a", true}, {"a1-b2-c3", true}, {strings.Repeat("a", 63), true},
		{"ab", false}, {strings.Repeat("a", 64), false}, {"Team", false}, {"-abc", false},
		{"abc-", false}, {"a_b", false}, {"a.b", false}, {"tëam", false}, {"tеam", false}, // Cyrillic е
		{"a b", false}, {"", false}, {"a'--", false},
	}
	for _, c := range cases {
		if err := ValidateSlug(c.slug); (err == nil) != c.ok {
			t.Errorf("ValidateSlug(%q) = %v, want ok=%v", c.slug, err, c.ok)
		}
	}
}

func TestValidateRoleNames(t *testing.T) {
	got, err := ValidateRoleNames([]string{"member", "auditor", "member"})
	if err != nil || strings.Join(got, ",") != "auditor,member" {
		t.Fatalf("got %v, %v", got, err)
	}
	for _, bad := range [][]string{nil, {}, {"Admin"}, {"1role"}, {"x y"}, make([]string, 33)} {
		if _, err := ValidateRoleNames(bad); err == nil {
			t.Errorf("ValidateRoleNames(%q) accepted", bad)
		}
	}
}

func TestResolvePermissions(t *testing.T) {
	custom := map[string]Role{"auditor": {Name: "auditor", Permissions: []string{"audit:read", "not:real"}}}
	cases := []struct {
		roles      []string
		has, lacks []Permission
	}{
		{[]string{"member"}, []Permission{PermTenantRead}, []Permission{PermMembersWrite, PermOwnersWrite}},
		{[]string{"admin"}, []Permission{PermMembersWrite, PermTenantRead}, []Permission{PermOwnersWrite}},
		{[]string{"owner"}, []Permission{PermOwnersWrite, PermMembersWrite, PermTenantRead}, nil},
		{[]string{"member", "auditor"}, []Permission{PermAuditRead, PermTenantRead}, []Permission{"not:real"}},
		{[]string{"deleted-role"}, nil, []Permission{PermTenantRead}},
	}
	for _, c := range cases {
		set := ResolvePermissions(c.roles, custom)
		for _, p := range c.has {
			if !set.Has(p) {
				t.Errorf("%v lacks %s", c.roles, p)
			}
		}
		for _, p := range c.lacks {
			if set.Has(p) {
				t.Errorf("%v has %s", c.roles, p)
			}
		}
	}
}

func TestValidateTenantSlug(t *testing.T) {
	cases := []struct {
		slug, code string
	}{
		{"acme", ""}, {"team-a", ""}, {"admins-team", ""}, {"my-api", ""}, {"xnx", ""}, {"axn--b", ""},
		{"admin", "reserved_slug"}, {"api", "reserved_slug"}, {"www", "reserved_slug"}, {"app", "reserved_slug"},
		{"auth", "reserved_slug"}, {"login", "reserved_slug"}, {"oauth", "reserved_slug"}, {"static", "reserved_slug"},
		{"assets", "reserved_slug"}, {"status", "reserved_slug"}, {"help", "reserved_slug"}, {"support", "reserved_slug"},
		{"mail", "reserved_slug"}, {"root", "reserved_slug"}, {"system", "reserved_slug"}, {"tollgate", "reserved_slug"},
		{"xn--80ak6aa92e", "reserved_slug"}, {"xn--a", "reserved_slug"},
		{"ab", "invalid_slug"}, {"Admin", "invalid_slug"}, {"xn--", "invalid_slug"},
	}
	for _, c := range cases {
		err := ValidateTenantSlug(c.slug)
		if c.code == "" {
			if err != nil {
				t.Errorf("ValidateTenantSlug(%q) = %v, want ok", c.slug, err)
			}
			continue
		}
		if !errors.Is(err, &fault.Error{Code: fault.Code(c.code)}) {
			t.Errorf("ValidateTenantSlug(%q) = %v, want %s", c.slug, err, c.code)
		}
	}
	// A service or sign-in slug is only a slug: the reserved words are a
	// tenant's rule.
	if err := ValidateSlug("admin"); err != nil {
		t.Errorf("ValidateSlug(admin) = %v", err)
	}
}

// TestMessagesNameTheRule: each refusal says which rule failed.
func TestMessagesNameTheRule(t *testing.T) {
	long := strings.Repeat("n", MaxNameLen+1)
	cases := []struct {
		what string
		err  error
		code fault.Code
		want string
	}{
		{"short slug", ValidateSlug("ab"), CodeInvalidSlug, "3 to 63 characters"},
		{"long slug", ValidateSlug(strings.Repeat("a", 64)), CodeInvalidSlug, "3 to 63 characters"},
		{"slug character", ValidateSlug("a_b"), CodeInvalidSlug, "a-z, digits 0-9 and hyphens"},
		{"slug hyphen", ValidateSlug("abc-"), CodeInvalidSlug, "start or end with a hyphen"},
		{"reserved slug", ValidateTenantSlug("admin"), CodeReservedSlug, "reserved word"},
		{"punycode slug", ValidateTenantSlug("xn--abc"), CodeReservedSlug, "xn--"},
		{"empty name", ValidateName("name", "", false), CodeInvalidName, "required"},
		{"long name", ValidateName("name", long, false), CodeInvalidName, "at most 200 characters"},
		{"invalid UTF-8 name", ValidateName("name", "a\xc0\xaf", false), CodeInvalidName, "valid UTF-8"},
		{"spaced name", ValidateName("name", " a", false), CodeInvalidName, "start or end with spaces"},
		{"invisible name", ValidateName("name", "a\u200bb", false), CodeInvalidName, "U+200B"},
		{"long email", errOf(NormalizeEmail("a@" + strings.Repeat("b", 260) + ".com")), CodeInvalidEmail, "at most 254 bytes"},
		{"long local part", errOf(NormalizeEmail(strings.Repeat("a", 65) + "@b.com")), CodeInvalidEmail, "at most 64 bytes"},
		{"no at", errOf(NormalizeEmail("ann")), CodeInvalidEmail, "an @"},
		{"special in local", errOf(NormalizeEmail("a,b@b.com")), CodeInvalidEmail, "','"},
		{"invisible in email", errOf(NormalizeEmail("o\u200ba@a.test")), CodeInvalidEmail, "U+200B"},
		{"bad domain", errOf(NormalizeEmail("a@localhost")), CodeInvalidEmail, "at least two"},
		{"role name length", ValidateRoleName(strings.Repeat("r", 64)), CodeInvalidRoleName, "1 to 63 characters"},
		{"role name character", ValidateRoleName("1role"), CodeInvalidRoleName, "start with a letter"},
		{"description length", ValidateDescription(strings.Repeat("d", 1001)), CodeDescriptionTooLong, "at most 1000 bytes"},
		{"description character", ValidateDescription("a\u202eb"), CodeInvalidDescription, "U+202E"},
	}
	for _, c := range cases {
		var fe *fault.Error
		if !errors.As(c.err, &fe) || fe.Code != c.code || !strings.Contains(fe.Detail, c.want) {
			t.Errorf("%s: %v, want %s naming %q", c.what, c.err, c.code, c.want)
		}
	}
}

func errOf(_ string, err error) error { return err }

func TestValidateNameRefusesInvisibleCharacters(t *testing.T) {
	cases := []struct {
		name string
		ok   bool
	}{
		{"Ann Lee", true}, {"José", true}, {"李小龙", true}, {"عربي", true}, {"Ann 🙂", true},
		{"a\u200bb", false}, // zero-width space
		{"a\u200cb", false}, // zero-width non-joiner
		{"a\u200db", false}, // zero-width joiner
		{"a\u200eb", false}, // left-to-right mark
		{"a\u202eb", false}, // right-to-left override
		{"a\u2066b", false}, // left-to-right isolate
		{"a\u00adb", false}, // soft hyphen
		{"a\ufeffb", false}, // BOM
		{"a\u2060b", false}, // word joiner
		{"a\tb", false}, {"a\nb", false}, {"a\x00b", false}, {"a\x7fb", false}, {"a\u0085b", false},
		{"a\xc0\xafb", false}, // overlong "/"
		{"a\xffb", false},
	}
	for _, c := range cases {
		if err := ValidateName("name", c.name, false); (err == nil) != c.ok {
			t.Errorf("ValidateName(%q) = %v, want ok=%v", c.name, err, c.ok)
		}
	}
}
