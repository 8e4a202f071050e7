package webhook

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/tollgate/tollgate/fault"
)

func TestGuardAllows(t *testing.T) {
	g := NewGuard(nil)
	local := NewGuard([]netip.Prefix{netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("10.1.0.0/16")})
	for _, c := range []struct {
		addr         string
		public, test bool
	}{
		{"93.184.216.34", true, true},
		{"2606:2800:220:1:248:1893:25c8:1946", true, true},
		{"127.0.0.1", false, true},
		{"127.0.0.2", false, false},
		{"::1", false, false},
		{"::ffff:127.0.0.1", false, true},
		{"10.0.0.1", false, false},
		{"10.1.2.3", false, true},
		{"172.16.5.5", false, false},
		{"192.168.1.1", false, false},
		{"100.64.0.1", false, false},
		{"169.254.169.254", false, false},
		{"fd00:ec2::254", false, false},
		{"fe80::1", false, false},
		{"0.0.0.0", false, false},
		{"::", false, false},
		{"224.0.0.1", false, false},
		{"255.255.255.255", false, false},
		{"64:ff9b::a9fe:a9fe", false, false}, // NAT64 of 169.254.169.254
		{"64:ff9b::5db8:d822", true, true},   // NAT64 of a public address
		{"2002:7f00:1::", false, true},       // 6to4 of 127.0.0.1, which the list allows
		{"2001::1", false, false},            // Teredo
	} {
		a := netip.MustParseAddr(c.addr)
		if got := g.Allows(a); got != c.public {
			t.Errorf("no allow-list: Allows(%s) = %v, want %v", c.addr, got, c.public)
		}
		if got := local.Allows(a); got != c.test {
			t.Errorf("allow-list: Allows(%s) = %v, want %v", c.addr, got, c.test)
		}
	}
}

func TestCheckURL(t *testing.T) {
	g := NewGuard(nil)
	allowLocal := NewGuard([]netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")})
	long := "https://example.com/" + string(make([]byte, MaxURLLen))
	for _, c := range []struct {
		url   string
		guard *Guard
		code  fault.Code // "" accepted
		want  string
	}{
		{"https://hooks.example.com/in?x=1", g, "", "https://hooks.example.com/in?x=1"},
		{"HTTPS://hooks.example.com/in", g, "", "https://hooks.example.com/in"},
		{"http://93.184.216.34:8080/", g, "", "http://93.184.216.34:8080/"},
		{"http://127.0.0.1:9000/hook", allowLocal, "", "http://127.0.0.1:9000/hook"},
		{"http://localhost:9000/hook", allowLocal, "", "http://localhost:9000/hook"},
		{"", g, CodeInvalidWebhookURL, ""},
		{"ftp://example.com/", g, CodeInvalidWebhookURL, ""},
		{"javascript:alert(1)", g, CodeInvalidWebhookURL, ""},
		{"https://user:pw@example.com/", g, CodeInvalidWebhookURL, ""},
		{"https://example.com/#frag", g, CodeInvalidWebhookURL, ""},
		{"https:///path", g, CodeInvalidWebhookURL, ""},
		{"https://example.com:99999/", g, CodeInvalidWebhookURL, ""},
		{"https://example.com:0/", g, CodeInvalidWebhookURL, ""},
		{"https://exa mple.com/", g, CodeInvalidWebhookURL, ""},
		{"https://example.com/\x00", g, CodeInvalidWebhookURL, ""},
		{"https://example.com/\xff", g, CodeInvalidWebhookURL, ""},
		{long, g, CodeInvalidWebhookURL, ""},
		{"http://127.0.0.1/", g, CodeWebhookURLForbidden, ""},
		{"http://127.0.0.2/", allowLocal, CodeWebhookURLForbidden, ""},
		{"http://[::1]/", g, CodeWebhookURLForbidden, ""},
		{"http://[::ffff:169.254.169.254]/", g, CodeWebhookURLForbidden, ""},
		{"http://169.254.169.254/latest/meta-data/", g, CodeWebhookURLForbidden, ""},
		{"http://10.0.0.1/", g, CodeWebhookURLForbidden, ""},
		{"http://100.100.100.200/", g, CodeWebhookURLForbidden, ""},
		{"http://localhost/", g, CodeWebhookURLForbidden, ""},
		{"http://api.localhost./", g, CodeWebhookURLForbidden, ""},
		{"http://[fe80::1%25eth0]/", g, CodeWebhookURLForbidden, ""},
	} {
		got, err := c.guard.CheckURL(c.url)
		var fe *fault.Error
		switch {
		case c.code == "" && err != nil:
			t.Errorf("CheckURL(%q): %v", c.url, err)
		case c.code == "" && got != c.want:
			t.Errorf("CheckURL(%q) = %q, want %q", c.url, got, c.want)
		case c.code != "" && (!errors.As(err, &fe) || fe.Code != c.code):
			t.Errorf("CheckURL(%q) = %q, %v; want %s", c.url, got, err, c.code)
		}
	}
}

func TestParseNetworks(t *testing.T) {
	got, err := ParseNetworks(" 127.0.0.1, 10.0.0.0/8 ,::1,")
	if err != nil || len(got) != 3 || got[0].String() != "127.0.0.1/32" || got[2].String() != "::1/128" {
		t.Fatalf("ParseNetworks = %v, %v", got, err)
	}
	if _, err := ParseNetworks("10.0.0.0/33"); err == nil {
		t.Fatal("an invalid prefix was accepted")
	}
	if got, err := ParseNetworks(""); err != nil || len(got) != 0 {
		t.Fatalf("ParseNetworks(\"\") = %v, %v", got, err)
	}
}
