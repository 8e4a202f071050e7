package webhook

import (
	"net/netip"
	"net/url"
	"testing"
)

// FuzzCheckURL: the URL validator never panics, and whatever it accepts
// parses back as an http(s) URL without credentials or fragment, whose
// host, if an address, is one the guard allows; it is idempotent.
func FuzzCheckURL(f *testing.F) {
	for _, s := range []string{
		"https://hooks.example.com/in", "http://127.0.0.1:9000/x", "http://[::1]/", "http://169.254.169.254/",
		"https://u:p@h/", "http://h/#f", "http://[fe80::1%25eth0]/", "http://0x7f.1/", "http://2130706433/",
		"HTTP://LOCALHOST./", "https://example.com:65536/", "http://%31%32%37.0.0.1/",
	} {
		f.Add(s)
	}
	g := NewGuard([]netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")})
	f.Fuzz(func(t *testing.T, raw string) {
		out, err := g.CheckURL(raw)
		if err != nil {
			return
		}
		u, perr := url.Parse(out)
		if perr != nil || (u.Scheme != "http" && u.Scheme != "https") || u.User != nil || u.Fragment != "" || u.Hostname() == "" {
			t.Fatalf("CheckURL(%q) accepted %q", raw, out)
		}
		if a, aerr := netip.ParseAddr(u.Hostname()); aerr == nil && !g.Allows(a) {
			t.Fatalf("CheckURL(%q) accepted the forbidden address %s", raw, a)
		}
		again, err := g.CheckURL(out)
		if err != nil || again != out {
			t.Fatalf("CheckURL is not idempotent: %q → %q → %q, %v", raw, out, again, err)
		}
	})
}
