package clienttoken

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

func TestThrottle(t *testing.T) {
	th := NewThrottle(10 * time.Second)
	at := time.Unix(1000, 0)
	steps := []struct {
		after time.Duration
		want  bool
	}{{0, true}, {0, false}, {9 * time.Second, false}, {10 * time.Second, true}, {11 * time.Second, false}}
	for i, s := range steps {
		if got := th.Allow(at.Add(s.after)); got != s.want {
			t.Fatalf("step %d: %v", i, got)
		}
	}
}

func TestBaseURL(t *testing.T) {
	tests := []struct {
		raw, want string
		ok        bool
	}{
		{"http://127.0.0.1:9200", "http://127.0.0.1:9200", true},
		{"https://tollgate.example/base//", "https://tollgate.example/base", true},
		{"/tollgate", "", false},
		{"ftp://tollgate", "", false},
		{"http://tollgate?x=1", "", false},
		{"http://tollgate#f", "", false},
		{"http://u:p@tollgate", "", false},
		{"http://%zz", "", false},
	}
	for _, tt := range tests {
		got, err := BaseURL(tt.raw)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("BaseURL(%q) = %q, %v", tt.raw, got, err)
		}
	}
}

// A refusal is a *StatusError carrying the answer; it is returned without a
// new fetch for a second.
func TestRefusal(t *testing.T) {
	var hits atomic.Int32
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = fmt.Fprint(w, `{"status":401,"code":"invalid_client"}`)
	}))
	defer ts.Close()
	now := time.Unix(1000, 0)
	s := New(Options{TokenURL: ts.URL, ClientID: "id", ClientSecret: "secret", HTTPClient: ts.Client(),
		Now: func() time.Time { return now }, Log: slog.New(slog.DiscardHandler), Quiet: NewThrottle(time.Hour)})
	for range 2 {
		_, err := s.Token(context.Background())
		var se *StatusError
		if !errors.As(err, &se) || se.StatusCode != http.StatusUnauthorized || string(se.Body) != `{"status":401,"code":"invalid_client"}` {
			t.Fatalf("got %v", err)
		}
	}
	if hits.Load() != 1 {
		t.Fatalf("%d fetches within the backoff", hits.Load())
	}
	now = now.Add(tokenRetryBackoff)
	_, _ = s.Token(context.Background())
	if hits.Load() != 2 {
		t.Fatalf("%d fetches after the backoff", hits.Load())
	}
}

// A detached fetch survives the caller that started it giving up.
func TestDetached(t *testing.T) {
	gate := make(chan struct{})
	var hits atomic.Int32
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hits.Add(1) == 1 {
			<-gate
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = fmt.Fprint(w, `{"access_token":"tok","token_type":"Bearer","expires_in":300}`)
	}))
	defer ts.Close()
	s := New(Options{TokenURL: ts.URL, ClientID: "id", ClientSecret: "secret", HTTPClient: ts.Client(), Detached: true,
		Log: slog.New(slog.DiscardHandler)})
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := s.Token(ctx)
		errc <- err
	}()
	for hits.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v", err)
	}
	close(gate)
	tok, err := s.Token(context.Background())
	if err != nil || tok != "tok" {
		t.Fatalf("got %q, %v", tok, err)
	}
	if hits.Load() != 1 {
		t.Fatalf("%d fetches", hits.Load())
	}
}
