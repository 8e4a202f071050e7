package clientip

import (
	"net/http"
	"testing"
)

func TestClientIP(t *testing.T) {
	tp, err := Parse("10.0.0.0/8, 192.0.2.7, ::1")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		proxies Proxies
		remote  string
		headers map[string][]string
		want    string
	}{
		{"no proxies configured: socket, headers ignored", Proxies{}, "198.51.100.9:5000",
			map[string][]string{"X-Forwarded-For": {"203.0.113.1"}}, "198.51.100.9"},
		{"untrusted peer: headers ignored", tp, "198.51.100.9:5000",
			map[string][]string{"X-Forwarded-For": {"203.0.113.1"}}, "198.51.100.9"},
		{"trusted peer, one hop", tp, "10.1.2.3:5000",
			map[string][]string{"X-Forwarded-For": {"203.0.113.1"}}, "203.0.113.1"},
		{"client-forged left part is skipped", tp, "10.1.2.3:5000",
			map[string][]string{"X-Forwarded-For": {"1.2.3.4, 203.0.113.1"}}, "203.0.113.1"},
		{"chain of trusted proxies", tp, "10.1.2.3:5000",
			map[string][]string{"X-Forwarded-For": {"203.0.113.1, 192.0.2.7", "10.9.9.9"}}, "203.0.113.1"},
		{"all hops trusted: leftmost", tp, "10.1.2.3:5000",
			map[string][]string{"X-Forwarded-For": {"10.4.4.4, 10.5.5.5"}}, "10.4.4.4"},
		{"unreadable hop: nearest trusted", tp, "10.1.2.3:5000",
			map[string][]string{"X-Forwarded-For": {"203.0.113.1, garbage"}}, "10.1.2.3"},
		{"no header from a trusted peer", tp, "10.1.2.3:5000", nil, "10.1.2.3"},
		{"Forwarded wins over X-Forwarded-For", tp, "10.1.2.3:5000",
			map[string][]string{"Forwarded": {`for=203.0.113.1;proto=https, for="[2001:db8::1]:4711"`}, "X-Forwarded-For": {"198.51.100.1"}}, "2001:db8::1"},
		{"Forwarded unknown", tp, "10.1.2.3:5000",
			map[string][]string{"Forwarded": {"for=unknown"}}, "10.1.2.3"},
		{"IPv6 loopback proxy", tp, "[::1]:5000",
			map[string][]string{"X-Forwarded-For": {"203.0.113.1:443"}}, "203.0.113.1"},
		{"IPv4-mapped socket", tp, "[::ffff:10.1.2.3]:5000",
			map[string][]string{"X-Forwarded-For": {"203.0.113.1"}}, "203.0.113.1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := &http.Request{RemoteAddr: tc.remote, Header: http.Header(tc.headers)}
			if r.Header == nil {
				r.Header = http.Header{}
			}
			if got := tc.proxies.ClientIP(r); got != tc.want {
				t.Fatalf("ClientIP = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestParseRejects(t *testing.T) {
	for _, in := range []string{"10.0.0.0/33", "example.com", "10.0.0.1/8/2", "fe80::1%eth0/64x"} {
		if _, err := Parse(in); err == nil {
			t.Errorf("Parse(%q) accepted", in)
		}
	}
}

func FuzzClientIP(f *testing.F) {
	tp, _ := Parse("10.0.0.0/8")
	f.Add("203.0.113.1, 10.0.0.2", `for=203.0.113.1;proto=https`)
	f.Fuzz(func(t *testing.T, xff, fwd string) {
		h := http.Header{}
		h.Set("X-Forwarded-For", xff)
		if fwd != "" {
			h.Set("Forwarded", fwd)
		}
		got := tp.ClientIP(&http.Request{RemoteAddr: "10.1.1.1:1", Header: h})
		if got == "" {
			t.Fatal("empty client IP")
		}
	})
}
