package httpapi

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"log/slog"

	"github.com/tollgate/tollgate/fault"
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
