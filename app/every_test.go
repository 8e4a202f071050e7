package app

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a log sink safe for the loop goroutine and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestEvery checks that the loop keeps calling fn, logs its failures
// without stopping, and ends with ctx.
func TestEvery(t *testing.T) {
	var logs syncBuffer
	var mu sync.Mutex
	calls := 0
	fail := false
	fn := func(context.Context) error {
		mu.Lock()
		defer mu.Unlock()
		calls++
		if fail {
			return errors.New("db down")
		}
		return nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() {
		every(ctx, time.Millisecond, slog.New(slog.NewTextHandler(&logs, nil)), "refreshing keys", fn)
		close(stopped)
	}()
	count := func() int { mu.Lock(); defer mu.Unlock(); return calls }
	eventually(t, func() bool { return count() >= 3 })

	mu.Lock()
	fail = true
	mu.Unlock()
	eventually(t, func() bool {
		return strings.Contains(logs.String(), "refreshing keys failed") && strings.Contains(logs.String(), "db down")
	})
	// Failures do not end the loop.
	after := count()
	eventually(t, func() bool { return count() > after+2 })
	cancel()
	<-stopped
}

// eventually polls cond; the generous deadline only guards against a hang.
func eventually(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached")
		}
		time.Sleep(time.Millisecond)
	}
}
