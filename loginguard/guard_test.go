package loginguard

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tollgate/tollgate/fault"
)

// memStore is a test double of the four-method Store; the real backends are
// covered by the store conformance suite.
type memStore map[string]Counter

func (m memStore) GetFailures(_ context.Context, k string) (Counter, error) { return m[k], nil }
func (m memStore) RecordFailure(_ context.Context, k string, at time.Time, window time.Duration) (Counter, error) {
	c := m[k]
	if at.Sub(c.LastFailed) > window {
		c = Counter{}
	}
	c.Failures++
	c.LastFailed = at
	m[k] = c
	return c, nil
}
func (m memStore) ResetFailures(_ context.Context, k string) error { delete(m, k); return nil }
func (m memStore) DeleteStaleFailures(context.Context, time.Time) (int, error) {
	return 0, nil
}

func TestBackoff(t *testing.T) {
	now := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	g := New(memStore{}, DefaultOptions(), clock)
	ctx := context.Background()
	for i := 0; i < 5; i++ {
		if err := g.Check(ctx, "a@example.com", "10.0.0.1"); err != nil {
			t.Fatalf("attempt %d refused: %v", i, err)
		}
		_ = g.Fail(ctx, "a@example.com", "10.0.0.1")
	}
	steps := []struct {
		advance time.Duration
		wantErr bool
		wait    time.Duration
	}{
		{0, true, time.Second},
		{time.Second, false, 0},
	}
	for i, s := range steps {
		now = now.Add(s.advance)
		err := g.Check(ctx, "a@example.com", "10.0.0.1")
		var fe *fault.Error
		if s.wantErr != errors.As(err, &fe) {
			t.Fatalf("step %d: err = %v", i, err)
		}
		if s.wantErr && (fe.Kind != fault.RateLimited || fe.RetryAfter < s.wait) {
			t.Fatalf("step %d: %+v", i, fe)
		}
	}
	// Each further failure doubles the wait.
	_ = g.Fail(ctx, "a@example.com", "10.0.0.1")
	var fe *fault.Error
	if err := g.Check(ctx, "a@example.com", "10.0.0.1"); !errors.As(err, &fe) || fe.RetryAfter < 2*time.Second {
		t.Fatalf("after 6 failures: %v", err)
	}
	// Another account from another IP is unaffected; success clears the account.
	if err := g.Check(ctx, "b@example.com", "10.0.0.2"); err != nil {
		t.Fatal(err)
	}
	_ = g.Succeed(ctx, "a@example.com")
	if err := g.Check(ctx, "a@example.com", "10.0.0.3"); err != nil {
		t.Fatalf("after success: %v", err)
	}
}

func TestDelayCapped(t *testing.T) {
	g := New(memStore{}, DefaultOptions(), nil)
	if d := g.delay(1000, 5); d != 15*time.Minute {
		t.Fatalf("delay = %v", d)
	}
	if d := g.delay(4, 5); d != 0 {
		t.Fatalf("below threshold delay = %v", d)
	}
}
