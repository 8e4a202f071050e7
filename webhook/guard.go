package webhook

import (
	"net/netip"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/tollgate/tollgate/fault"
)

// MaxURLLen bounds an endpoint URL.
const MaxURLLen = 2048

// blocked are the networks a delivery never reaches unless the operator
// allows them: everything that is not the public internet.
var blocked = func() []netip.Prefix {
	var out []netip.Prefix
	for _, s := range []string{
		"0.0.0.0/8",       // "this network"; 0.0.0.0 reaches the local host
		"10.0.0.0/8",      // private
		"100.64.0.0/10",   // CGNAT (RFC 6598)
		"127.0.0.0/8",     // loopback
		"169.254.0.0/16",  // link-local, with the cloud metadata address 169.254.169.254
		"172.16.0.0/12",   // private
		"192.0.0.0/24",    // IETF protocol assignments (RFC 6890)
		"192.0.2.0/24",    // documentation
		"192.88.99.0/24",  // 6to4 relay anycast
		"192.168.0.0/16",  // private
		"198.18.0.0/15",   // benchmarking
		"198.51.100.0/24", // documentation
		"203.0.113.0/24",  // documentation
		"224.0.0.0/4",     // multicast
		"240.0.0.0/4",     // reserved, with the broadcast address
		"::/128",          // unspecified
		"::1/128",         // loopback
		"64:ff9b:1::/48",  // local-use NAT64 (RFC 8215)
		"100::/64",        // discard
		"2001::/32",       // Teredo: tunnels to IPv4 addresses
		"2001:db8::/32",   // documentation
		"fc00::/7",        // unique local, with AWS's metadata address fd00:ec2::254
		"fe80::/10",       // link-local
		"fec0::/10",       // site-local (deprecated)
		"ff00::/8",        // multicast
	} {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}()

// Guard decides which addresses deliveries may reach: public addresses,
// and the networks the operator allows (webhook_allowed_networks; the
// tests allow 127.0.0.1).
type Guard struct {
	allowed []netip.Prefix
}

// NewGuard returns a Guard that also allows the networks in allowed.
func NewGuard(allowed []netip.Prefix) *Guard {
	return &Guard{allowed: allowed}
}

// ParseNetworks reads a comma-separated list of IP addresses and CIDR
// prefixes, as webhook_allowed_networks holds.
func ParseNetworks(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if p, err := netip.ParsePrefix(part); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(part)
		if err != nil {
			return nil, fault.Invalidf("webhook_allowed_networks", CodeInvalidWebhookURL, "%q is neither an IP address nor a CIDR prefix", part)
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, nil
}

// Allows reports whether a delivery may connect to a.
func (g *Guard) Allows(a netip.Addr) bool {
	a = a.Unmap()
	if !a.IsValid() || a.Zone() != "" {
		// A zone names an interface: only link-local addresses carry one.
		return g.allowedExplicitly(a.WithZone(""))
	}
	if g.allowedExplicitly(a) {
		return true
	}
	for _, p := range blocked {
		if p.Contains(a) {
			return false
		}
	}
	// Addresses that embed an IPv4 address reach it: judge that one.
	if v4, ok := embeddedIPv4(a); ok {
		return g.Allows(v4)
	}
	return true
}

func (g *Guard) allowedExplicitly(a netip.Addr) bool {
	for _, p := range g.allowed {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

var (
	nat64     = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour = netip.MustParsePrefix("2002::/16")
)

// embeddedIPv4 returns the IPv4 address a NAT64 (64:ff9b::/96) or 6to4
// (2002::/16) address leads to.
func embeddedIPv4(a netip.Addr) (netip.Addr, bool) {
	if !a.Is6() {
		return netip.Addr{}, false
	}
	b := a.As16()
	switch {
	case nat64.Contains(a):
		return netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]}), true
	case sixToFour.Contains(a):
		return netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]}), true
	}
	return netip.Addr{}, false
}

// CheckURL validates an endpoint URL and returns it normalised: http or
// https, a host, no credentials, no fragment, at most MaxURLLen bytes. A
// host that is an IP address must be one the guard allows, and so must
// "localhost"; any other name is checked when a delivery connects, against
// what it resolves to then (so a name that later points inside is caught).
func (g *Guard) CheckURL(raw string) (string, error) {
	invalid := func(why string) error {
		return fault.Invalidf("url", CodeInvalidWebhookURL, "url %s", why)
	}
	if raw == "" {
		return "", invalid("is required")
	}
	if len(raw) > MaxURLLen {
		return "", invalid("must be at most 2048 bytes long")
	}
	if !utf8.ValidString(raw) || strings.ContainsFunc(raw, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return "", invalid("must not contain spaces or control characters")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", invalid("does not parse")
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return "", invalid("must be http or https")
	case u.Opaque != "":
		return "", invalid("must be an absolute URL with a host")
	case u.User != nil:
		return "", invalid("must not carry a user name or password")
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return "", invalid("must not have a fragment")
	}
	host := u.Hostname()
	if host == "" {
		return "", invalid("must have a host")
	}
	if p := u.Port(); p != "" {
		if n, ok := port(p); !ok || n == 0 {
			return "", invalid("has an invalid port")
		}
	}
	forbidden := fault.Invalidf("url", CodeWebhookURLForbidden,
		"url names an internal address (loopback, private, link-local, CGNAT or metadata) that the operator has not allowed")
	if a, err := netip.ParseAddr(host); err == nil {
		if !g.Allows(a) {
			return "", forbidden
		}
	} else {
		h := strings.TrimSuffix(strings.ToLower(host), ".")
		if h == "localhost" || strings.HasSuffix(h, ".localhost") {
			if !g.Allows(netip.MustParseAddr("127.0.0.1")) {
				return "", forbidden
			}
		}
	}
	u.Scheme = strings.ToLower(u.Scheme)
	return u.String(), nil
}

// port parses a decimal port of at most 5 digits.
func port(s string) (int, bool) {
	if len(s) > 5 {
		return 0, false
	}
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, n <= 65535
}
