package httpapi_test

import (
	"context"
	"crypto/rand"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/tollgate/tollgate/app"
	"github.com/tollgate/tollgate/httpapi"
)

// BenchmarkMe measures GET /v1/auth/me in process with production logging
// (JSON, discarded): token verification (a cache hit after the first
// request), the revocation check, permission resolution, JSON, the access
// log line and metrics — everything but the network.
func BenchmarkMe(b *testing.B) {
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			st := be.open(b)
			mk := make([]byte, 32)
			_, _ = rand.Read(mk)
			log := slog.New(httpapi.LogHandler{Handler: slog.NewJSONHandler(io.Discard, nil)})
			a, err := app.New(context.Background(), testConfig(b), st, mk, log)
			if err != nil {
				b.Fatal(err)
			}
			ts := &testServer{t: b, app: a}
			hs := httptest.NewServer(a.API)
			defer hs.Close()
			ts.url = hs.URL
			ts.user("bench@example.com", false)
			tok := ts.login("bench@example.com", "").str("access_token")

			req := httptest.NewRequest("GET", "/v1/auth/me", nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					rec := httptest.NewRecorder()
					a.API.ServeHTTP(rec, req)
					if rec.Code != http.StatusOK {
						b.Errorf("status %d", rec.Code)
						return
					}
				}
			})
		})
	}
}
