package ratelimit

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/tollgate/tollgate/sdk/internal/problem"
)

var ok = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })

func byUser(r *http.Request) string { return r.Header.Get("X-User") }

func serveAs(h http.Handler, user string) *httptest.ResponseRecorder {
	req := httptest.NewRequest("POST", "/messages", nil)
	req.Header.Set("X-User", user)
	rr := httptest.NewRecorder()
	h.ServeHTTP(rr, req)
	return rr
}

func TestMiddleware(t *testing.T) {
	tg := newTollgate(t)
	c := tg.client(nil)
	h := c.Middleware("messages", byUser)(ok)
	steps := []struct {
		name, user string
		status     int
		// remaining and reset (seconds) of the RateLimit field; -1: none.
		remaining int
		reset     time.Duration
	}{
		{"first", "user:1", http.StatusNoContent, 2, unit},
		{"second", "user:1", http.StatusNoContent, 1, 2 * unit},
		{"third", "user:1", http.StatusNoContent, 0, 3 * unit},
		{"fourth refused", "user:1", http.StatusTooManyRequests, 0, 3 * unit},
		{"another user", "user:2", http.StatusNoContent, 2, unit},
		{"no key: a misconfiguration", "", http.StatusInternalServerError, -1, 0},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			rr := serveAs(h, s.user)
			if rr.Code != s.status {
				t.Fatalf("status %d: %s", rr.Code, rr.Body)
			}
			policy, state := rr.Header().Get("RateLimit-Policy"), rr.Header().Get("RateLimit")
			if s.remaining < 0 {
				if policy != "" || state != "" {
					t.Fatalf("fields %q %q", policy, state)
				}
			} else {
				// t is a whole number of seconds, rounded up: within a
				// minute of the step's.
				var r, secs int64
				if policy != `"messages";q=3;w=3600` {
					t.Fatalf("RateLimit-Policy %q", policy)
				}
				if _, err := fmt.Sscanf(state, `"messages";r=%d;t=%d`, &r, &secs); err != nil || r != int64(s.remaining) ||
					secs > int64(s.reset/time.Second) || secs <= int64((s.reset-time.Minute)/time.Second) {
					t.Fatalf("RateLimit %q", state)
				}
			}
			if s.status == http.StatusNoContent {
				return
			}
			var p problem.Document
			if err := json.Unmarshal(rr.Body.Bytes(), &p); err != nil || p.Status != s.status ||
				rr.Header().Get("Content-Type") != "application/problem+json" || p.Instance != "/messages" {
				t.Fatalf("problem %s (%v)", rr.Body, err)
			}
			if s.status == http.StatusTooManyRequests {
				retry, err := strconv.Atoi(rr.Header().Get("Retry-After"))
				if err != nil || retry <= int((unit-time.Minute)/time.Second) || retry > int(unit/time.Second) {
					t.Fatalf("Retry-After %q", rr.Header().Get("Retry-After"))
				}
				if p.Code != "quota_exceeded" || p.Type != quotaExceededType || len(p.ViolatedPolicies) != 1 || p.ViolatedPolicies[0] != "messages" {
					t.Fatalf("problem %s", rr.Body)
				}
			}
		})
	}

	// A limit Tollgate does not know is the service's misconfiguration.
	if rr := serveAs(c.Middleware("nope", byUser)(ok), "user:1"); rr.Code != http.StatusInternalServerError {
		t.Fatalf("unknown limit: %d %s", rr.Code, rr.Body)
	}

	// Tollgate down: 503, and next does not run.
	tg.srv.Close()
	called := false
	rr := serveAs(c.Middleware("messages", byUser)(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { called = true })), "user:3")
	var p problem.Document
	if err := json.Unmarshal(rr.Body.Bytes(), &p); err != nil || rr.Code != http.StatusServiceUnavailable || called ||
		p.Code != CodeUnavailable || rr.Header().Get("RateLimit") != "" {
		t.Fatalf("Tollgate down: %d %s, next called: %v", rr.Code, rr.Body, called)
	}
}

func TestHeaderFields(t *testing.T) {
	for _, tt := range []struct {
		res           Result
		policy, state string
	}{
		{Result{Limit: 3, Remaining: 2, ResetAfter: 20 * time.Minute}, `"m";q=3`, `"m";r=2;t=1200`},
		{Result{Limit: 3, Remaining: 0, ResetAfter: 1200*time.Second + time.Millisecond}, `"m";q=3`, `"m";r=0;t=1201`},
		{Result{Limit: 3, Remaining: 1, ResetAfter: 1500 * time.Millisecond, Window: 2500 * time.Millisecond}, `"m";q=3;w=3`, `"m";r=1;t=2`},
		{Result{Limit: 1, ResetAfter: time.Millisecond}, `"m";q=1`, `"m";r=0;t=1`},
		{Result{Limit: 1}, `"m";q=1`, `"m";r=0;t=0`},
	} {
		if p, s := HeaderFields("m", tt.res); p != tt.policy || s != tt.state {
			t.Errorf("%+v: %q %q", tt.res, p, s)
		}
	}
}
