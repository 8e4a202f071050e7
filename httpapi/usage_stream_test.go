package httpapi_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// sseStream is an open GET /v1/usage/stream.
type sseStream struct {
	t    *testing.T
	resp *http.Response
	sc   *bufio.Scanner
}

// openStream opens a stream at baseURL with the headers h; the stream is
// closed when ctx ends. It fails unless the answer is 200.
func openStream(ctx context.Context, t *testing.T, baseURL, query string, h http.Header) *sseStream {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, "GET", baseURL+"/v1/usage/stream"+query, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header = h.Clone()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		raw, _ := io.ReadAll(resp.Body)
		t.Fatalf("stream: %d %s %s", resp.StatusCode, resp.Header.Get("Content-Type"), raw)
	}
	return &sseStream{t: t, resp: resp, sc: bufio.NewScanner(resp.Body)}
}

// next returns the next message: "heartbeat", or an update's data.
func (s *sseStream) next() (string, map[string]any) {
	s.t.Helper()
	var event, data string
	for s.sc.Scan() {
		line := s.sc.Text()
		switch {
		case line == "" && (event != "" || data != ""):
			if event != "usage" {
				s.t.Fatalf("event %q", event)
			}
			var u map[string]any
			if err := json.Unmarshal([]byte(data), &u); err != nil {
				s.t.Fatalf("data %q: %v", data, err)
			}
			return "usage", u
		case line == ": heartbeat":
			return "heartbeat", nil
		case strings.HasPrefix(line, "event: "):
			event = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			data = strings.TrimPrefix(line, "data: ")
		case line != "":
			s.t.Fatalf("unexpected line %q", line)
		}
	}
	s.t.Fatalf("the stream ended: %v", s.sc.Err())
	return "", nil
}

// update skips heartbeats to the next update.
func (s *sseStream) update() map[string]any {
	s.t.Helper()
	for {
		if kind, u := s.next(); kind == "usage" {
			return u
		}
	}
}

func TestUsageStream(t *testing.T) {
	forEachBackend(t, func(t *testing.T, ts *testServer) {
		w := newWorld(t, ts)
		_, writer := createKey(t, ts, w.adminTok, map[string]any{"name": "meter", "scopes": []string{"usage:write"}})
		member := w.member.ActorID()
		// A guard against a hang, not a timing assertion: updates come
		// within seconds.
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		defer cancel()

		// The stream opens with the total, or with a heartbeat when the
		// total is not read yet.
		s := openStream(ctx, t, ts.url, "?meter=llm_input_tokens", bearerHeader(w.adminTok))
		kind, first := s.next()
		if kind == "heartbeat" {
			first = s.update()
		}
		if first["tenant_id"] != w.tenantA || first["meter"] != "llm_input_tokens" || first["aggregation"] != "SUM" || first["period"] == nil {
			t.Fatalf("first update %v", first)
		}
		// A second stream of the same meter, of one actor's usage.
		mine := openStream(ctx, t, ts.url, "?meter=llm_input_tokens&subject="+member, bearerHeader(w.memberTok))
		before := mine.update()["value"].(float64)

		e, _ := nowEvent("1", member, 25)
		wantReport(t, postUsage(ts, keyHeader(writer), false, e), 1, 0, map[int]string{})
		// Unless the month turned between the two, the totals grew by 25.
		if u := s.update(); u["value"].(float64) != first["value"].(float64)+25 && fmt.Sprint(u["period"]) == fmt.Sprint(first["period"]) {
			t.Fatalf("update %v after %v", u, first)
		}
		if u := mine.update(); u["value"].(float64) != before+25 {
			t.Fatalf("member's update %v after %v", u, before)
		}

		for _, c := range []struct {
			name   string
			h      http.Header
			query  string
			status int
			code   string
		}{
			{"no meter", bearerHeader(w.adminTok), "", 400, "usage_query_invalid"},
			{"unknown meter", bearerHeader(w.adminTok), "?meter=nope", 400, "usage_meter_unknown"},
			{"a subject that is no actor", bearerHeader(w.adminTok), "?meter=api_calls&subject=x", 400, "usage_query_invalid"},
			{"member, the tenant's", bearerHeader(w.memberTok), "?meter=api_calls", 403, "usage_view_denied"},
			{"another tenant's owner", bearerHeader(w.outBTok), "?meter=api_calls&tenant_id=" + w.tenantA, 404, "tenant_not_found"},
		} {
			t.Run(c.name, func(t *testing.T) {
				expect(t, ts.send("GET", "/v1/usage/stream"+c.query, c.h, nil), c.status, c.code)
			})
		}
	})
}

// TestUsageStreamOutlivesTimeoutsAndEndsOnShutdown: a stream outlasts the
// server's read and write timeouts, which bound ordinary requests; and
// draining the API ends it, so that the HTTP server's graceful shutdown,
// which waits for every request, finishes instead of waiting out its
// deadline.
func TestUsageStreamOutlivesTimeoutsAndEndsOnShutdown(t *testing.T) {
	ts := newTestServer(t, backends[0].open(t))
	w := newWorld(t, ts)
	_, writer := createKey(t, ts, w.adminTok, map[string]any{"name": "meter", "scopes": []string{"usage:write"}})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	// Timeouts far shorter than the second between two updates.
	hs := &http.Server{Handler: ts.app.API, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 50 * time.Millisecond, WriteTimeout: 50 * time.Millisecond}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()

	s := openStream(t.Context(), t, "http://"+ln.Addr().String(), "?meter=llm_input_tokens", bearerHeader(w.adminTok))
	first := s.update()["value"].(float64)
	e, _ := nowEvent("1", w.member.ActorID(), 7)
	wantReport(t, postUsage(ts, keyHeader(writer), false, e), 1, 0, map[int]string{})
	// 7 more, or 7 alone if the month turned in between.
	if u := s.update(); u["value"].(float64) != first+7 && u["value"].(float64) != 7 {
		t.Fatalf("update %v after %v", u, first)
	}
	ts.app.API.Drain()
	// The deadline only bounds a failure; a shutdown that waits for the
	// stream would reach it and fail the test.
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	if err := hs.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown = %v", err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		t.Fatalf("Serve = %v", err)
	}
	for s.sc.Scan() {
		if line := s.sc.Text(); line != "" && line != ": heartbeat" {
			t.Fatalf("after the drain: %q", line)
		}
	}
}
