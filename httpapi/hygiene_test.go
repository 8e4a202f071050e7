package httpapi_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/tollgate/tollgate/store/sqlite/sqlitetest"
)

// TestUncleanPathsAreNotRedirected: the router would answer these with a
// 307 and an HTML body; they get a problem instead, a denial under the
// gateway's prefix.
func TestUncleanPathsAreNotRedirected(t *testing.T) {
	ts := newTestServer(t, sqlitetest.Open(t))
	for _, c := range []struct {
		path   string
		status int
		code   string
	}{
		{"/v1//tenants", http.StatusNotFound, "route_not_found"},
		{"/v1/tenants/../users", http.StatusNotFound, "route_not_found"},
		{"/v1/tenants/%2e%2e/api-keys", http.StatusNotFound, "route_not_found"},
		{"/v1/./tenants", http.StatusNotFound, "route_not_found"},
		{"/v1/gateway/auth/a//b", http.StatusForbidden, "gateway_route_not_found"},
		{"/v1/gateway/auth/a/%2e%2e/b", http.StatusForbidden, "gateway_route_not_found"},
	} {
		t.Run(c.path, func(t *testing.T) {
			rec := httptest.NewRecorder()
			ts.app.API.ServeHTTP(rec, httptest.NewRequest("GET", c.path, nil))
			var p struct{ Code string }
			if rec.Code != c.status || json.Unmarshal(rec.Body.Bytes(), &p) != nil || p.Code != c.code {
				t.Fatalf("%s: %d %s, want %d %s", c.path, rec.Code, rec.Body, c.status, c.code)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
				t.Fatalf("Content-Type %q", ct)
			}
		})
	}
}

// TestEveryAnswerForbidsSniffing covers a success, a problem and a probe.
func TestEveryAnswerForbidsSniffing(t *testing.T) {
	ts := newTestServer(t, sqlitetest.Open(t))
	for _, path := range []string{"/healthz", "/openapi.json", "/v1/auth/me", "/nowhere"} {
		r := ts.do("GET", path, "", nil)
		if got := r.header.Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("%s: X-Content-Type-Options %q", path, got)
		}
	}
}

// TestBodiesMustBeObjects: null is not "no change".
func TestBodiesMustBeObjects(t *testing.T) {
	ts := newTestServer(t, sqlitetest.Open(t))
	w := newWorld(t, ts)
	for _, body := range []string{"null", " \n null", "[]", `"x"`, "1", "true"} {
		expect(t, ts.do("PATCH", "/v1/tenants/"+w.tenantA, w.ownerTok, body), http.StatusBadRequest, "invalid_type")
	}
}

// TestOutOfRangeExpiryIsRefused: a year-10000 expiry used to be stored,
// answered 201 with a 500 body (the secret lost), and break every list.
func TestOutOfRangeExpiryIsRefused(t *testing.T) {
	ts := newTestServer(t, sqlitetest.Open(t))
	w := newWorld(t, ts)
	expect(t, ts.do("POST", "/v1/api-keys", w.ownerTok, map[string]any{"name": "far", "expires_at": "9999-12-31T23:59:59-23:59"}),
		http.StatusBadRequest, "expires_at_out_of_range")
	expect(t, ts.do("GET", "/v1/api-keys", w.ownerTok, nil), http.StatusOK, "")
}

// TestInvalidUTF8IsRefused: json.Decoder would turn an overlong "/"
// (C0 AF) into U+FFFD and store it as the tenant's name.
func TestInvalidUTF8IsRefused(t *testing.T) {
	ts := newTestServer(t, sqlitetest.Open(t))
	w := newWorld(t, ts)
	before := ts.do("GET", "/v1/tenants/"+w.tenantA, w.ownerTok, nil)
	expect(t, before, http.StatusOK, "")
	for _, body := range []string{"{\"name\":\"a\xc0\xafb\"}", "{\"name\":\"\xff\"}", "{\"name\":\"\xed\xa0\x80\"}", `{"name":"a\ud800b"}`} {
		expect(t, ts.do("PATCH", "/v1/tenants/"+w.tenantA, w.ownerTok, body), http.StatusBadRequest, "invalid_utf8")
	}
	if after := ts.do("GET", "/v1/tenants/"+w.tenantA, w.ownerTok, nil); after.str("name") != before.str("name") {
		t.Errorf("name changed from %q to %q", before.str("name"), after.str("name"))
	}
	// A zero-width space arrives decoded and is refused by the name rule.
	expect(t, ts.do("PATCH", "/v1/tenants/"+w.tenantA, w.ownerTok, map[string]any{"name": "o\u200ba"}),
		http.StatusBadRequest, "invalid_name")
}
