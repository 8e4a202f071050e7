package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
)

// checkRPID accepts an empty value or a domain name: no scheme, port or
// path, and not an IP address, which WebAuthn does not allow.
func checkRPID(s string) error {
	if s == "" {
		return nil
	}
	if net.ParseIP(s) != nil || strings.ContainsAny(s, ":/?#@ ") || strings.Trim(s, ".") != s {
		return fmt.Errorf("invalid relying party id %q (want a domain name such as example.com: no scheme, port or path, not an IP address)", s)
	}
	return nil
}

// checkOrigins accepts an empty value or a comma-separated list of web
// origins: https://host[:port], or http:// on localhost only, since
// browsers run WebAuthn in secure contexts only.
func checkOrigins(s string) error {
	if s == "" {
		return nil
	}
	for _, o := range splitList(s) {
		if _, err := parseOrigin(o); err != nil {
			return err
		}
	}
	return nil
}

func splitList(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

func parseOrigin(o string) (*url.URL, error) {
	u, err := url.Parse(o)
	bad := fmt.Errorf("invalid origin %q (want https://host[:port], no path; http only on localhost)", o)
	if err != nil || u.Host == "" || u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return nil, bad
	}
	if u.Scheme != "https" && (u.Scheme != "http" || u.Hostname() != "localhost") {
		return nil, bad
	}
	return u, nil
}

// EffectiveWebAuthn returns the relying party id and origins passkeys
// use: the settings, else derived from the link base URL (the front end
// browsers run ceremonies on), itself the issuer by default. rpID is ""
// when neither is set and the link base's host is an IP address, which
// cannot be a relying party: passkeys are then off.
func (c Config) EffectiveWebAuthn() (rpID string, origins []string) {
	base, _ := url.Parse(c.EffectiveLinkBaseURL())
	rpID, origins = c.WebAuthnRPID, splitList(c.WebAuthnOrigins)
	if rpID == "" && base != nil && net.ParseIP(base.Hostname()) == nil {
		rpID = base.Hostname()
	}
	if len(origins) == 0 && base != nil && base.Host != "" {
		origins = []string{base.Scheme + "://" + base.Host}
	}
	if rpID == "" {
		return "", nil
	}
	return rpID, origins
}

// checkWebAuthn refuses a relying party id that no origin can use: each
// origin's host must be the id or a name under it.
func (c Config) checkWebAuthn(describe func(string) string) error {
	if c.WebAuthnRPID == "" && c.WebAuthnOrigins == "" {
		return nil
	}
	rpID, origins := c.EffectiveWebAuthn()
	if rpID == "" {
		return fmt.Errorf("%s needs %s: the link base URL's host is an IP address, which cannot be a relying party id",
			describe("webauthn_origins"), describe("webauthn_rp_id"))
	}
	var errs []error
	for _, o := range origins {
		u, err := url.Parse(o)
		if err != nil {
			continue // checkOrigins reported it
		}
		if h := u.Hostname(); h != rpID && !strings.HasSuffix(h, "."+rpID) {
			errs = append(errs, fmt.Errorf("origin %s of %s is not within %s %q", o, describe("webauthn_origins"), describe("webauthn_rp_id"), rpID))
		}
	}
	return errors.Join(errs...)
}
