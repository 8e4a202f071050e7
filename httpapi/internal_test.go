package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"log/slog"

	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/ratelimit"
)

func TestPanicBecomesProblem(t *testing.T) {
	s := &Server{Deps: Deps{Metrics: NewMetrics(), Log: discardLog()}, opts: Options{MaxBodyBytes: 1 << 20}}
	h := s.instrument(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("secret internal detail") }))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/boom", nil))
	if rec.Code != http.StatusInternalServerError || rec.Header().Get("Content-Type") != "application/problem+json" {
		t.Fatalf("got %d %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	if strings.Contains(rec.Body.String(), "secret") || strings.Contains(rec.Body.String(), "goroutine") {
		t.Fatalf("internals leaked: %s", rec.Body)
	}
}

func TestInternalErrorsDoNotLeak(t *testing.T) {
	rec := httptest.NewRecorder()
	writeError(rec, httptest.NewRequest("GET", "/x", nil), discardLog(), errors.New("pq: password authentication failed for 10.0.0.5"))
	if rec.Code != 500 || strings.Contains(rec.Body.String(), "10.0.0.5") {
		t.Fatalf("got %d %s", rec.Code, rec.Body)
	}
}

// FuzzDecodeJSON feeds arbitrary bodies to the request decoder: it must
// never panic and must classify every failure as a client error.
func FuzzDecodeJSON(f *testing.F) {
	for _, seed := range []string{
		`{"email":"a@b.c","password":"x"}`, `{}`, `[]`, `null`, `{"email":1}`, `{"a":1}`,
		`{"email":"a@b.c"} {}`, `{"email":"\ud800"}`, `{"tenant":"` + strings.Repeat("x", 100) + `"}`, "\x00", `{"email":`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r := httptest.NewRequest("POST", "/v1/auth/login", bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		r.Body = http.MaxBytesReader(httptest.NewRecorder(), r.Body, 4<<10)
		var in loginRequest
		err := decodeJSON(r, &in)
		if err == nil {
			return
		}
		if k := fault.KindOf(err); k != fault.Invalid && k != fault.TooLarge && k != fault.UnsupportedMediaType {
			t.Fatalf("decode error of kind %v for %q: %v", k, body, err)
		}
	})
}

func discardLog() *slog.Logger { return slog.New(slog.DiscardHandler) }

// TestReadyzFailsWhileDraining: ready without remote rate limits (nothing to
// check) until draining.
func TestReadyzFailsWhileDraining(t *testing.T) {
	s := New(Deps{Store: readyStore{}}, Options{})
	for _, c := range []struct {
		drain bool
		want  int
	}{{false, 200}, {true, 503}} {
		if c.drain {
			s.Drain()
		}
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
		if rec.Code != c.want {
			t.Fatalf("draining=%v: status %d, want %d", c.drain, rec.Code, c.want)
		}
	}
}

// readyStore is a healthy, migrated store for the readiness probe.
type readyStore struct{}

func (readyStore) Ping(context.Context) error { return nil }
func (readyStore) MigrationStatus(context.Context) (int64, int64, error) {
	return 1, 1, nil
}

// flakyBackend is a rate-limit backend that is down while down is set.
type flakyBackend struct{ down atomic.Bool }

func (b *flakyBackend) err() error {
	if b.down.Load() {
		return fault.Wrap(fault.Unavailable, ratelimit.CodeRatelimitUnavailable, errors.New("connection refused"))
	}
	return nil
}

func (b *flakyBackend) Allow(context.Context, ratelimit.Limit, string, int64, time.Time) (ratelimit.Result, error) {
	return ratelimit.Result{Allowed: true, Quota: 1, Remaining: 1}, b.err()
}

func (b *flakyBackend) Peek(context.Context, ratelimit.Limit, string, time.Time) (ratelimit.Result, error) {
	return ratelimit.Result{Allowed: true, Quota: 1, Remaining: 1}, b.err()
}

func (b *flakyBackend) Reset(context.Context, ratelimit.Limit, string) error { return b.err() }

func TestReadyzFollowsTheRateLimitBackend(t *testing.T) {
	backend := &flakyBackend{}
	var now atomic.Int64
	now.Store(time.Unix(1_800_000_000, 0).UnixNano())
	clock := func() time.Time { return time.Unix(0, now.Load()) }
	breaker := ratelimit.NewBreaker(backend, 2*time.Second, clock)
	s := New(Deps{Store: readyStore{}, RateLimitBackend: breaker}, Options{})
	probe := func(want int, wantDependency string) {
		t.Helper()
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
		if rec.Code != want {
			t.Fatalf("/readyz: %d %s, want %d", rec.Code, rec.Body, want)
		}
		if want == 200 {
			return
		}
		var p Problem
		if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
			t.Fatal(err)
		}
		if p.Code != string(ratelimit.CodeRatelimitUnavailable) || p.Dependency != wantDependency {
			t.Fatalf("problem %+v, want code ratelimit_unavailable, dependency %q", p, wantDependency)
		}
	}
	check := func() error {
		_, err := breaker.Allow(context.Background(), ratelimit.Limit{Name: "x", Strategy: ratelimit.GCRA, Rate: 1, Period: time.Second}, "k", 1, clock())
		return err
	}

	probe(200, "")
	// Redis goes away; the next check opens the breaker. How the breaker
	// holds and probes through its cooldowns is ratelimit.TestBreakerReady.
	backend.down.Store(true)
	if err := check(); fault.KindOf(err) != fault.Unavailable {
		t.Fatalf("check while down: %v", err)
	}
	probe(503, "ratelimit")
	// Redis returns; with no traffic at all, the probe after the cooldown
	// notices.
	backend.down.Store(false)
	now.Add(int64(3 * time.Second))
	probe(200, "")
	if err := check(); err != nil {
		t.Fatalf("check after recovery: %v", err)
	}
}

func TestMetricsToken(t *testing.T) {
	const token = "scrape-0123456789abcdef"
	for _, c := range []struct {
		name      string
		elsewhere bool
	}{{"main listener", false}, {"own listener", true}} {
		t.Run(c.name, func(t *testing.T) {
			s := New(Deps{Store: readyStore{}}, Options{MetricsToken: token, MetricsElsewhere: c.elsewhere})
			h := http.Handler(s)
			if c.elsewhere {
				h = s.MetricsHandler()
				// Not on the API's listener any more.
				rec := httptest.NewRecorder()
				r := httptest.NewRequest("GET", "/metrics", nil)
				r.Header.Set("Authorization", "Bearer "+token)
				s.ServeHTTP(rec, r)
				if rec.Code != http.StatusNotFound {
					t.Fatalf("/metrics on the API listener: %d, want 404", rec.Code)
				}
			}
			for _, tc := range []struct {
				auth string
				want int
			}{
				{"", 401},
				{"Bearer wrong-0123456789abcdef", 401},
				{"Bearer " + token[:len(token)-1], 401},
				{"Basic " + token, 401},
				{"Bearer " + token, 200},
				{"bearer " + token, 200},
			} {
				rec := httptest.NewRecorder()
				r := httptest.NewRequest("GET", "/metrics", nil)
				if tc.auth != "" {
					r.Header.Set("Authorization", tc.auth)
				}
				h.ServeHTTP(rec, r)
				if rec.Code != tc.want {
					t.Fatalf("Authorization %q: %d, want %d", tc.auth, rec.Code, tc.want)
				}
				if tc.want == 401 {
					var p Problem
					if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || p.Code != string(CodeInvalidMetricsToken) {
						t.Fatalf("Authorization %q: body %s", tc.auth, rec.Body)
					}
					if rec.Header().Get("WWW-Authenticate") == "" {
						t.Fatalf("Authorization %q: no WWW-Authenticate", tc.auth)
					}
				} else if !strings.Contains(rec.Body.String(), "tollgate_") && !strings.Contains(rec.Body.String(), "go_") {
					t.Fatalf("metrics body: %.200s", rec.Body)
				}
			}
			if c.elsewhere {
				rec := httptest.NewRecorder()
				s.MetricsHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
				if rec.Code != http.StatusNotFound {
					t.Fatalf("/readyz on the metrics listener: %d, want 404", rec.Code)
				}
			}
		})
	}
}

func TestMetricsOpenWithoutToken(t *testing.T) {
	s := New(Deps{Store: readyStore{}}, Options{})
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 {
		t.Fatalf("/metrics: %d", rec.Code)
	}
}

func TestLoneSurrogate(t *testing.T) {
	for _, c := range []struct {
		body string
		want bool
	}{
		{`{"a":"plain"}`, false},
		{`{"a":"\u00e9\u20ac"}`, false},
		{`{"a":"\ud83d\ude00"}`, false}, // a pair: one emoji
		{`{"a":"\uD83D\uDE00"}`, false},
		{`{"a":"\\ud800"}`, false}, // an escaped backslash, then text
		{`{"a":"\ud800"}`, true},
		{`{"a":"\ud800x"}`, true},
		{`{"a":"\ud800\u0041"}`, true},
		{`{"a":"\ude00"}`, true},
		{`{"a":"\ud83d\ude00\udc00"}`, true},
		{`{"a":"\\\ud800"}`, true},
		{`{"a":"\ud8"}`, false}, // malformed: the decoder refuses it
	} {
		if got := loneSurrogate([]byte(c.body)); got != c.want {
			t.Errorf("loneSurrogate(%s) = %v, want %v", c.body, got, c.want)
		}
	}
}
