package authn

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/tollgate/tollgate/token"
)

// nopWriter is a ResponseWriter that keeps nothing, so that the benchmarks
// measure the middleware rather than a recorder.
type nopWriter struct{ h http.Header }

func (w *nopWriter) Header() http.Header         { return w.h }
func (w *nopWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *nopWriter) WriteHeader(int)             {}

var okHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	if _, ok := FromContext(r.Context()); !ok {
		panic("no actor")
	}
})

// benchMiddleware serves requests bearing raw through the middleware and
// reports the 50th and 99th percentile latencies beside the mean.
func benchMiddleware(b *testing.B, a *Authenticator, raw string) {
	h := a.Middleware(okHandler)
	r := httptest.NewRequest("GET", "/whoami", nil)
	r.Header.Set("Authorization", "Bearer "+raw)
	w := &nopWriter{h: http.Header{}}
	h.ServeHTTP(w, r) // warm: keys loaded, token cached if caching
	lat := make([]time.Duration, 0, 1<<16)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		h.ServeHTTP(w, r)
		if len(lat) < cap(lat) {
			lat = append(lat, time.Since(start))
		}
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds()), "p99-ns")
}

// BenchmarkMiddlewareJWTCached: a token already verified, so a cache hit
// plus the revocation check and the request context.
func BenchmarkMiddlewareJWTCached(b *testing.B) {
	tg := newTollgate(b)
	a := tg.authenticator(b, tg.config())
	benchMiddleware(b, a, tg.sign(b, tg.claims()))
}

// BenchmarkMiddlewareJWTCold: the verifier's cache disabled, so every
// request checks the signature.
func BenchmarkMiddlewareJWTCold(b *testing.B) {
	for _, alg := range []string{token.AlgEdDSA, token.AlgES256} {
		b.Run(alg, func(b *testing.B) {
			tg := newTollgateAlg(b, alg)
			a := tg.authenticator(b, tg.config())
			a.verifier = token.NewVerifierFrom(a.keys, token.VerifierOptions{
				Issuer: a.cfg.Issuer, Audience: a.cfg.Audience, Now: tg.clock.Now, CacheSize: -1,
			})
			benchMiddleware(b, a, tg.sign(b, tg.claims()))
		})
	}
}

// BenchmarkMiddlewareAPIKeyCached: an API key whose introspection is
// cached.
func BenchmarkMiddlewareAPIKeyCached(b *testing.B) {
	tg := newTollgate(b)
	tg.answer(testKey, activeAnswer(time.Time{}))
	a := tg.authenticator(b, tg.config())
	benchMiddleware(b, a, testKey)
}
