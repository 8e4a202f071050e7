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
