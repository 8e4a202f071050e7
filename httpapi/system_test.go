package httpapi_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

func TestSystemEndpoints(t *testing.T) {
	forEachBackend(t, func(t *testing.T, ts *testServer) {
		expect(t, ts.do("GET", "/healthz", "", nil), http.StatusOK, "")
		ready := ts.do("GET", "/readyz", "", nil)
		expect(t, ready, http.StatusOK, "")
		if ready.str("status") != "ready" {
			t.Fatalf("readyz: %s", ready.raw)
		}

		jwks := ts.do("GET", "/.well-known/jwks.json", "", nil)
		expect(t, jwks, http.StatusOK, "")
		keys := jwks.body["keys"].([]any)
		if len(keys) != 1 || keys[0].(map[string]any)["alg"] != "EdDSA" || keys[0].(map[string]any)["d"] != nil {
			t.Fatalf("jwks: %s", jwks.raw)
		}

		ts.user("metrics@example.com", false)
		ts.login("metrics@example.com", "")
		m := ts.do("GET", "/metrics", "", nil)
		for _, want := range []string{
			`tollgate_http_requests_total{method="POST",route="POST /v1/auth/login",status="200"} 1`,
			`tollgate_login_attempts_total{outcome="success"} 1`,
			"tollgate_http_request_duration_seconds_bucket",
			"tollgate_password_hashes_in_flight",
		} {
			if !strings.Contains(string(m.raw), want) {
				t.Errorf("/metrics lacks %q", want)
			}
		}

		doc := ts.do("GET", "/openapi.json", "", nil)
		expect(t, doc, http.StatusOK, "")
		if v, _ := doc.body["openapi"].(string); !strings.HasPrefix(v, "3.1") {
			t.Fatalf("openapi version %q", v)
		}

		expect(t, ts.do("GET", "/v1/nothing-here", "", nil), http.StatusNotFound, "route_not_found")
	})
}

func TestRequestID(t *testing.T) {
	ts := newTestServer(t, backends[0].open(t))
	for _, c := range []struct {
		name, sent string
		echoed     bool
	}{
		{"accepted", "req-123:abc", true},
		{"generated", "", false},
		{"unsafe replaced", "bad id <script>", false},
		{"too long replaced", strings.Repeat("a", 200), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", ts.url+"/v1/auth/me", nil)
			if c.sent != "" {
				req.Header["X-Request-Id"] = []string{c.sent}
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			got := res.Header.Get("X-Request-Id")
			var p map[string]any
			_ = json.NewDecoder(res.Body).Decode(&p)
			if got == "" || p["request_id"] != got || (got == c.sent) != c.echoed {
				t.Fatalf("sent %q, header %q, problem %v", c.sent, got, p["request_id"])
			}
		})
	}
}

// TestForgedTokens sends tokens an attacker could craft from a real one.
func TestForgedTokens(t *testing.T) {
	forEachBackend(t, func(t *testing.T, ts *testServer) {
		ts.user("victim@example.com", false)
		real := ts.login("victim@example.com", "").str("access_token")
		parts := strings.Split(real, ".")
		enc := base64.RawURLEncoding
		header := func(h string) string { return enc.EncodeToString([]byte(h)) }
		var claims map[string]any
		raw, _ := enc.DecodeString(parts[1])
		_ = json.Unmarshal(raw, &claims)
		claims["sub"] = "user:01jz0000000000000000000000"
		forgedClaims, _ := json.Marshal(claims)

		cases := map[string]string{
			"garbage":           "not-a-token",
			"empty segments":    "..",
			"alg none":          header(`{"alg":"none","typ":"at+jwt"}`) + "." + parts[1] + ".",
			"alg none no kid":   header(`{"alg":"none"}`) + "." + parts[1] + "." + parts[2],
			"HS256 confusion":   header(`{"alg":"HS256","typ":"at+jwt"}`) + "." + parts[1] + "." + parts[2],
			"tampered claims":   parts[0] + "." + enc.EncodeToString(forgedClaims) + "." + parts[2],
			"tampered sig":      parts[0] + "." + parts[1] + "." + flip(parts[2]),
			"unknown kid":       header(`{"alg":"EdDSA","kid":"nope","typ":"at+jwt"}`) + "." + parts[1] + "." + parts[2],
			"truncated":         real[:len(real)-10],
			"huge":              strings.Repeat("a", 9000),
			"refresh as access": ts.login("victim@example.com", "").str("refresh_token"),
		}
		for name, tok := range cases {
			t.Run(name, func(t *testing.T) {
				r := ts.do("GET", "/v1/auth/me", tok, nil)
				if r.status != http.StatusUnauthorized {
					t.Fatalf("status %d: %s", r.status, r.raw)
				}
			})
		}
		expect(t, ts.do("GET", "/v1/auth/me", real, nil), http.StatusOK, "")
	})
}

func flip(s string) string {
	b := []byte(s)
	if b[0] == 'A' {
		b[0] = 'B'
	} else {
		b[0] = 'A'
	}
	return string(b)
}
