package httpapi

import (
	"context"
	"crypto/subtle"
	_ "embed"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/ratelimit"
	"github.com/tollgate/tollgate/store"
)

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) error {
	return writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// notReady names the dependency that failed a readiness probe; the
// problem document carries the name as "dependency".
type notReady struct {
	dependency string
	err        error
}

func (e *notReady) Error() string { return e.dependency + ": " + e.err.Error() }
func (e *notReady) Unwrap() error { return e.err }

// Dependency names in /readyz problems.
const (
	dependencyStore     = "store"
	dependencyRateLimit = "ratelimit"
)

// readyz reports whether this replica should get traffic: the store answers,
// its schema is the one this binary expects, and the rate-limit backend
// (when remote) is reachable — without it sign-ins fail closed.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) error {
	if s.draining.Load() {
		return &fault.Error{Kind: fault.Unavailable, Code: CodeShuttingDown, Detail: "this replica is shutting down"}
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.Store.Ping(ctx); err != nil {
		return &notReady{dependencyStore, fault.Wrap(fault.Unavailable, store.CodeStoreUnavailable, err)}
	}
	applied, latest, err := s.Store.MigrationStatus(ctx)
	if err != nil {
		return &notReady{dependencyStore, fault.Wrap(fault.Unavailable, store.CodeStoreUnavailable, err)}
	}
	if applied != latest {
		return &notReady{dependencyStore, &fault.Error{Kind: fault.Unavailable, Code: store.CodeMigrationsPending,
			Detail: "the database schema is not at this binary's version; run tollgate migrate up"}}
	}
	if s.RateLimitBackend != nil {
		if err := s.RateLimitBackend.Ready(ctx); err != nil {
			if fault.KindOf(err) != fault.Unavailable {
				err = fault.Wrap(fault.Unavailable, ratelimit.CodeRatelimitUnavailable, err)
			}
			return &notReady{dependencyRateLimit, err}
		}
	}
	return writeJSON(w, http.StatusOK, map[string]any{"status": "ready", "schema_version": applied})
}

// metricsHandler is /metrics on the API's listener.
func (s *Server) metricsHandler(w http.ResponseWriter, r *http.Request) error {
	if s.opts.MetricsElsewhere {
		return errNoRoute()
	}
	return s.metrics(w, r)
}

// metrics serves the Prometheus metrics to a caller that sends the metrics
// token, when one is configured.
func (s *Server) metrics(w http.ResponseWriter, r *http.Request) error {
	if want := s.opts.MetricsToken; want != "" {
		got, _ := bearer(r)
		// ConstantTimeCompare leaks the length only, which a token of fixed
		// length configured by the operator does not mind.
		if subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
			return fault.Unauthenticatedf(CodeInvalidMetricsToken, "/metrics requires the metrics token as Authorization: Bearer <token>")
		}
	}
	promhttp.HandlerFor(s.Metrics.Registry, promhttp.HandlerOpts{}).ServeHTTP(w, r)
	return nil
}

// MetricsHandler serves GET /metrics alone, for a listener of its own
// (metrics_addr); every other path is 404.
func (s *Server) MetricsHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", s.handle(s.metrics))
	mux.Handle("/", s.handle(func(w http.ResponseWriter, r *http.Request) error { return errNoRoute() }))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		mux.ServeHTTP(w, r)
	})
}

func (s *Server) jwks(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "application/jwk-set+json")
	// Short: a rotated key signs at once, so verifiers that see an unknown
	// kid should refetch, and a cache must not hide the new key for long.
	w.Header().Set("Cache-Control", "public, max-age=60")
	_, err := w.Write(s.Keys.JWKS())
	return err
}

//go:embed openapi.json
var openapiDoc []byte

func (s *Server) openapi(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "application/json")
	_, err := w.Write(openapiDoc)
	return err
}
