package httpapi_test

import (
	"context"
	"crypto/rand"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/tollgate/tollgate/app"
	"github.com/tollgate/tollgate/config"
	"github.com/tollgate/tollgate/store/sqlite/sqlitetest"
)

// BenchmarkTierOverhead measures what the rate-limit tiers add to a request
// in process: an authenticated GET /v1/auth/me with an API key (tenant and
// actor tiers) and an anonymous GET /.well-known/jwks.json (IP tier), with
// the tiers off, counted in process, and counted on Redis when
// TOLLGATE_TEST_REDIS_URL is set. Limits are high enough never to refuse,
// so every request takes the full path. Requests run one at a time and the
// p50 of their latencies is reported beside the mean.
func BenchmarkTierOverhead(b *testing.B) {
	const huge = "1000000000/1h"
	backends := []struct {
		name  string
		apply func(*config.Config)
	}{
		{"off", func(c *config.Config) {
			c.RateLimitIP, c.RateLimitTenant, c.RateLimitActor = "off", "off", "off"
		}},
		{"memory", func(c *config.Config) {
			c.RateLimitIP, c.RateLimitTenant, c.RateLimitActor = huge, huge, huge
		}},
	}
	if url := os.Getenv("TOLLGATE_TEST_REDIS_URL"); url != "" {
		backends = append(backends, struct {
			name  string
			apply func(*config.Config)
		}{"redis", func(c *config.Config) {
			c.RateLimitIP, c.RateLimitTenant, c.RateLimitActor = huge, huge, huge
			c.RedisURL, c.RedisPrefix = url, "tgbench-"+randomSuffix()
		}})
	}
	for _, be := range backends {
		cfg := testConfig(b)
		be.apply(&cfg)
		mk := make([]byte, 32)
		_, _ = rand.Read(mk)
		a, err := app.New(context.Background(), cfg, sqlitetest.Open(b), mk, nil)
		if err != nil {
			b.Fatal(err)
		}
		hs := httptest.NewServer(a.API)
		ts := &testServer{t: b, app: a, url: hs.URL}
		owner := ts.user("bench-"+be.name+"@example.com", false)
		tok := ts.login(owner.Email, "").str("access_token")
		tenant := ts.do("POST", "/v1/tenants", tok, map[string]any{"name": "Bench " + be.name, "slug": "bench-" + be.name})
		key := ts.do("POST", "/v1/api-keys", tok, map[string]any{"name": "bench", "tenant_id": tenant.str("id"), "scopes": []string{"tenant:read"}}).str("key")
		if key == "" {
			b.Fatal("creating the benchmark API key failed")
		}

		me := httptest.NewRequest("GET", "/v1/auth/me", nil)
		me.Header.Set("X-API-Key", key)
		jwks := httptest.NewRequest("GET", "/.well-known/jwks.json", nil)
		for _, rq := range []struct {
			name string
			req  *http.Request
		}{{"authenticated", me}, {"anonymous", jwks}} {
			b.Run(rq.name+"/"+be.name, func(b *testing.B) {
				lat := make([]time.Duration, 0, b.N)
				b.ReportAllocs()
				b.ResetTimer()
				for range b.N {
					start := time.Now()
					rec := httptest.NewRecorder()
					a.API.ServeHTTP(rec, rq.req)
					lat = append(lat, time.Since(start))
					if rec.Code != http.StatusOK {
						b.Fatalf("status %d: %s", rec.Code, rec.Body)
					}
				}
				b.StopTimer()
				slices.Sort(lat)
				b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds()), "p50-ns")
			})
		}
		hs.Close()
		if err := a.Close(context.Background()); err != nil {
			b.Error(err)
		}
	}
}

func randomSuffix() string {
	return rand.Text()[:10]
}
