package webhook

import (
	"errors"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"
)

// errAddressForbidden is a connection refused by the guard.
var errAddressForbidden = errors.New("webhook: the address is not one deliveries may reach")

// NewClient returns the HTTP client deliveries are sent with. Every
// connection is checked against g at connect time, on the address actually
// dialled — after DNS resolution, so a name that resolves (or is rebound)
// to an internal address is refused. It uses no proxy from the
// environment, follows no redirect (a 3xx is a failed attempt) and gives
// up after timeout.
func NewClient(g *Guard, timeout time.Duration) *http.Client {
	dialer := &net.Dialer{
		Timeout: timeout,
		Control: func(_, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil || !g.Allows(ap.Addr()) {
				return errAddressForbidden
			}
			return nil
		},
	}
	tr := &http.Transport{
		Proxy:                  nil,
		DialContext:            dialer.DialContext,
		ForceAttemptHTTP2:      true,
		MaxIdleConns:           512,
		MaxIdleConnsPerHost:    128,
		IdleConnTimeout:        90 * time.Second,
		TLSHandshakeTimeout:    timeout,
		ResponseHeaderTimeout:  timeout,
		DisableCompression:     true,
		MaxResponseHeaderBytes: 16 << 10,
	}
	return &http.Client{
		Transport: tr,
		Timeout:   timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}
