package webhook

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// TestClientChecksTheDialledAddress: the guard judges the address a name
// resolves to when connecting, so "localhost" (or a public name rebound to
// an internal address) is refused unless allowed.
func TestClientChecksTheDialledAddress(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	defer srv.Close()
	byName := strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)
	for _, c := range []struct {
		name    string
		guard   *Guard
		url     string
		blocked bool
	}{
		{"address, no allow-list", NewGuard(nil), srv.URL, true},
		{"name, no allow-list", NewGuard(nil), byName, true},
		{"address, allowed", NewGuard([]netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}), srv.URL, false},
		{"other loopback allowed only", NewGuard([]netip.Prefix{netip.MustParsePrefix("127.0.0.2/32")}), srv.URL, true},
	} {
		resp, err := NewClient(c.guard, 5*time.Second).Get(c.url)
		if err == nil {
			resp.Body.Close()
		}
		if got := errors.Is(err, errAddressForbidden); got != c.blocked {
			t.Errorf("%s: refused = %v (%v), want %v", c.name, got, err, c.blocked)
		}
		if c.blocked && errorClass(err) != "address_forbidden" {
			t.Errorf("%s: class %q", c.name, errorClass(err))
		}
	}
}

// TestAttemptBounds: no redirect is followed, at most maxSnippet bytes of an
// answer are kept however long it is, a slow endpoint times out, and the
// classes of failure say nothing of addresses.
func TestAttemptBounds(t *testing.T) {
	followed := false
	mux := http.NewServeMux()
	mux.HandleFunc("/redirect", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/target", http.StatusFound) })
	mux.HandleFunc("/target", func(http.ResponseWriter, *http.Request) { followed = true })
	mux.HandleFunc("/huge", func(w http.ResponseWriter, _ *http.Request) {
		chunk := strings.Repeat("x", 64<<10)
		for range 160 { // 10 MiB
			if _, err := io.WriteString(w, chunk); err != nil {
				return
			}
		}
	})
	mux.HandleFunc("/slow", func(_ http.ResponseWriter, r *http.Request) {
		// The server notices the client leaving only once the body is read.
		_, _ = io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	guard := NewGuard([]netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")})
	w := NewWorker(WorkerDeps{Client: NewClient(guard, 300*time.Millisecond)}, WorkerOptions{Timeout: 300 * time.Millisecond})
	key := []byte("k")
	for _, c := range []struct {
		path, class string
		status      int
		ok          bool
		snippet     int
	}{
		{"/redirect", "http_status", http.StatusFound, false, -1},
		{"/huge", "", http.StatusOK, true, maxSnippet},
		{"/slow", "timeout", 0, false, 0},
	} {
		e := Endpoint{ID: "e", URL: srv.URL + c.path, Status: Enabled}
		r := w.attempt(context.Background(), Delivery{ID: "d", EndpointID: "e", MessageID: "msg_1", Attempts: 1, Payload: []byte(`{}`)}, e, [][]byte{key})
		if r.OK != c.ok || r.Status != c.status || r.Error != c.class || (c.snippet >= 0 && len(r.Response) != c.snippet) {
			t.Errorf("%s: %+v", c.path, r)
		}
		if !c.ok && r.Next == nil {
			t.Errorf("%s: no retry scheduled", c.path)
		}
	}
	if followed {
		t.Error("a redirect was followed")
	}
	if r := w.attempt(context.Background(), Delivery{ID: "d", Attempts: 1}, Endpoint{ID: "e", Status: Disabled}, [][]byte{key}); r.Error != "endpoint_disabled" || r.Next != nil {
		t.Errorf("disabled endpoint: %+v", r)
	}
}
