package config

import "testing"

func TestRedactURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"postgres://user:secret@host/db", "postgres://user:<redacted>@host/db"},
		{"postgresql://user:p%40ss@host:5432/db?sslmode=disable", "postgresql://user:<redacted>@host:5432/db?sslmode=disable"},
		{"postgres://user@host/db", "postgres://user@host/db"},
		{"postgres://user:@host/db", "postgres://user:<redacted>@host/db"},
		{"postgres://host/db", "postgres://host/db"},
		{"postgres://host:5432/db?sslmode=require", "postgres://host:5432/db?sslmode=require"},
		// Unescaped special characters would make url.Parse leak part of the password.
		{"postgres://user:pa/ss@host/db", "postgres://user:<redacted>@host/db"},
		{"postgres://user:pa?ss@host/db", "postgres://user:<redacted>@host/db"},
		{"postgres://user:pa#ss@host/db", "postgres://user:<redacted>@host/db"},
		{"postgres://user:p@ss@host/db", "postgres://user:<redacted>@host/db"},
		// Passwords in parameters.
		{"postgres://host/db?user=u&password=secret&sslmode=verify-full", "postgres://host/db?user=u&password=<redacted>&sslmode=verify-full"},
		{"postgres://host/db?sslpassword=secret", "postgres://host/db?sslpassword=<redacted>"},
		{"postgres://host/db?PASSWORD=secret#frag", "postgres://host/db?PASSWORD=<redacted>#frag"},
		{"postgres://host/db?pass%77ord=secret", "postgres://host/db?pass%77ord=<redacted>"},
		// An '@' after a host:port over-redacts rather than leaking.
		{"postgres://host:5432/db?password=se@cret", "postgres://host:<redacted>@cret"},
		// No userinfo possible.
		{"sqlite:///var/lib/t.db", "sqlite:///var/lib/t.db"},
		{"sqlite:t.db", "sqlite:t.db"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := RedactURL(tt.in); got != tt.want {
			t.Errorf("RedactURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
