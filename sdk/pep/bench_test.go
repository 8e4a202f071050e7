package pep

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/sdk/authn"
)

// percentiles reports the p50 and p99 of lat.
func percentiles(b *testing.B, lat []time.Duration) {
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds()), "p99-ns")
}

// BenchmarkRequire measures what pdp.Require adds to a request once its
// decision is cached: a handler behind it against the same handler alone.
func BenchmarkRequire(b *testing.B) {
	tg := newTollgate(b)
	c, _ := tg.client(func(cfg *Config) { cfg.CacheTTL = time.Hour })
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	ac := identity.ActorContext{ActorID: tg.alice, ActorType: identity.ActorHuman, TenantID: tg.tenant, Credential: identity.CredentialSession}
	req := httptest.NewRequest("POST", "/channels/general/messages", nil)
	req = req.WithContext(authn.NewContext(req.Context(), ac))
	req.SetPathValue("id", "general")
	guarded := c.Require("SEND_MESSAGE", func(r *http.Request) (Resource, error) {
		return Resource{Type: "channel", ID: r.PathValue("id")}, nil
	})(ok)
	for _, h := range []struct {
		name string
		h    http.Handler
	}{{"bare", ok}, {"require", guarded}} {
		b.Run(h.name, func(b *testing.B) {
			rec := httptest.NewRecorder()
			h.h.ServeHTTP(rec, req) // warm the cache
			if rec.Code != http.StatusNoContent {
				b.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
			lat := make([]time.Duration, 0, b.N)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				start := time.Now()
				h.h.ServeHTTP(httptest.NewRecorder(), req)
				lat = append(lat, time.Since(start))
			}
			b.StopTimer()
			percentiles(b, lat)
		})
	}
}

// BenchmarkAuthorizeMiss measures a decision that is not cached: one
// POST /v1/authorize to Tollgate on loopback.
func BenchmarkAuthorizeMiss(b *testing.B) {
	tg := newTollgate(b)
	c, _ := tg.client(func(cfg *Config) { cfg.CacheTTL = -1 })
	r := tg.req(tg.alice, "SEND_MESSAGE", "general")
	if d, err := c.Authorize(ctx, r); err != nil || !d.Permit {
		b.Fatalf("%+v %v", d, err)
	}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		if _, err := c.Authorize(ctx, r); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	percentiles(b, lat)
}
