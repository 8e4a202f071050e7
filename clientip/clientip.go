// Package clientip finds the address of the client behind an HTTP request,
// believing forwarding headers only from configured proxies.
package clientip

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Proxies are the peers whose forwarding headers are believed. A
// request's client address is its socket peer, unless that peer is a
// trusted proxy: then the hops it appended to Forwarded (RFC 7239) or
// X-Forwarded-For are read from the right, skipping trusted proxies, and
// the first untrusted hop is the client. Anything a client wrote itself
// sits to the left of that and is never used.
type Proxies struct {
	prefixes []netip.Prefix
}

// maxForwardedHops bounds the walk over forwarding headers.
const maxForwardedHops = 32

// ParseProxies reads a comma-separated list of IP addresses and
// CIDR prefixes ("10.0.0.0/8, 192.0.2.7, ::1").
func Parse(list string) (Proxies, error) {
	var tp Proxies
	for _, item := range strings.Split(list, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		if p, err := netip.ParsePrefix(item); err == nil {
			tp.prefixes = append(tp.prefixes, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(item)
		if err != nil || a.Zone() != "" {
			return Proxies{}, fmt.Errorf("trusted proxy %q is neither an IP address nor a CIDR prefix", item)
		}
		a = a.Unmap()
		tp.prefixes = append(tp.prefixes, netip.PrefixFrom(a, a.BitLen()))
	}
	return tp, nil
}

func (tp Proxies) trusts(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range tp.prefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// ClientIP returns the client address of r as a string ("" if the socket
// address cannot be parsed, which net/http servers never produce).
func (tp Proxies) ClientIP(r *http.Request) string {
	peer, ok := socketAddr(r.RemoteAddr)
	if !ok {
		return r.RemoteAddr
	}
	if len(tp.prefixes) == 0 || !tp.trusts(peer) {
		return peer.String()
	}
	hops := forwardedHops(r.Header)
	client := peer
	for i := len(hops) - 1; i >= 0 && len(hops)-i <= maxForwardedHops; i-- {
		a, ok := hopAddr(hops[i])
		if !ok {
			// A hop we cannot read: the last trusted proxy is the
			// nearest address we can vouch for.
			break
		}
		client = a
		if !tp.trusts(a) {
			break
		}
	}
	return client.String()
}

func socketAddr(remote string) (netip.Addr, bool) {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}

// forwardedHops lists the addresses of Forwarded's for= parameters, or of
// X-Forwarded-For when there is no Forwarded header, left to right.
func forwardedHops(h http.Header) []string {
	var hops []string
	if fwd := h.Values("Forwarded"); len(fwd) > 0 {
		for _, line := range fwd {
			for _, elem := range strings.Split(line, ",") {
				for _, pair := range strings.Split(elem, ";") {
					k, v, ok := strings.Cut(strings.TrimSpace(pair), "=")
					if ok && strings.EqualFold(k, "for") {
						hops = append(hops, v)
					}
				}
			}
		}
		return hops
	}
	for _, line := range h.Values("X-Forwarded-For") {
		for _, hop := range strings.Split(line, ",") {
			hops = append(hops, strings.TrimSpace(hop))
		}
	}
	return hops
}

// hopAddr parses one hop: 192.0.2.1, "[2001:db8::1]:4711", 192.0.2.1:80.
// Obfuscated identifiers and "unknown" (RFC 7239 §6) are not addresses.
func hopAddr(hop string) (netip.Addr, bool) {
	hop = strings.Trim(strings.TrimSpace(hop), `"`)
	if ap, err := netip.ParseAddrPort(hop); err == nil {
		return ap.Addr().Unmap(), true
	}
	hop = strings.TrimSuffix(strings.TrimPrefix(hop, "["), "]")
	a, err := netip.ParseAddr(hop)
	if err != nil || a.Zone() != "" {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}
