package config

import (
	"slices"
	"strings"
	"testing"
)

func TestWebAuthnSettings(t *testing.T) {
	tests := []struct {
		name                     string
		issuer, link, id, origin string
		want                     string // "" valid, else part of the error
		wantID                   string
		wantOrigins              []string
	}{
		{name: "default on an IP: passkeys off"},
		{name: "from the issuer", issuer: "https://auth.example.com", wantID: "auth.example.com", wantOrigins: []string{"https://auth.example.com"}},
		{name: "from the link base", issuer: "https://auth.example.com", link: "https://app.example.com:8443/ui",
			wantID: "app.example.com", wantOrigins: []string{"https://app.example.com:8443"}},
		{name: "id above the origins", issuer: "https://auth.example.com", id: "example.com", origin: "https://app.example.com, https://example.com",
			wantID: "example.com", wantOrigins: []string{"https://app.example.com", "https://example.com"}},
		{name: "id with the default origin", issuer: "https://app.example.com", id: "example.com",
			wantID: "example.com", wantOrigins: []string{"https://app.example.com"}},
		{name: "localhost over http", id: "localhost", origin: "http://localhost:3000", wantID: "localhost", wantOrigins: []string{"http://localhost:3000"}},
		{name: "origin outside the id", issuer: "https://auth.example.com", id: "example.com", origin: "https://example.org", want: "is not within webauthn_rp_id"},
		{name: "suffix is not a subdomain", id: "example.com", origin: "https://badexample.com", want: "is not within"},
		{name: "default origin outside the id", issuer: "https://auth.example.com", id: "other.example", want: "is not within"},
		{name: "origins without an id on an IP", origin: "https://app.example.com", want: "needs webauthn_rp_id"},
		{name: "id with a scheme", id: "https://example.com", want: "webauthn_rp_id: invalid relying party id"},
		{name: "id with a port", id: "example.com:443", want: "invalid relying party id"},
		{name: "id an IP", id: "192.0.2.1", want: "invalid relying party id"},
		{name: "origin over http", id: "example.com", origin: "http://app.example.com", want: "webauthn_origins: invalid origin"},
		{name: "origin with a path", id: "example.com", origin: "https://app.example.com/login", want: "invalid origin"},
		{name: "origin without a host", id: "example.com", origin: "app.example.com", want: "invalid origin"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Defaults()
			c.Issuer, c.LinkBaseURL, c.WebAuthnRPID, c.WebAuthnOrigins = tt.issuer, tt.link, tt.id, tt.origin
			err := c.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("Validate: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("Validate: %v, want %q", err, tt.want)
			case tt.want != "":
				return
			}
			id, origins := c.EffectiveWebAuthn()
			if id != tt.wantID || !slices.Equal(origins, tt.wantOrigins) {
				t.Fatalf("effective %q %v, want %q %v", id, origins, tt.wantID, tt.wantOrigins)
			}
		})
	}
}
