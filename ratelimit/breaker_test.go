package ratelimit_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/ratelimit"
)

// fakeClock is a clock that moves only when told to.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Unix(1_800_000_000, 0)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// stubBackend answers as its answer func says and counts the calls that
// reach it.
type stubBackend struct {
	calls  atomic.Int64
	mu     sync.Mutex
	answer func(ctx context.Context) (ratelimit.Result, error)
}

func (s *stubBackend) set(answer func(ctx context.Context) (ratelimit.Result, error)) {
	s.mu.Lock()
	s.answer = answer
	s.mu.Unlock()
}

// returns makes every call answer r, err.
func (s *stubBackend) returns(r ratelimit.Result, err error) {
	s.set(func(context.Context) (ratelimit.Result, error) { return r, err })
}

func (s *stubBackend) Allow(ctx context.Context, l ratelimit.Limit, key string, cost int64, now time.Time) (ratelimit.Result, error) {
	s.calls.Add(1)
	s.mu.Lock()
	answer := s.answer
	s.mu.Unlock()
	if answer == nil {
		return ratelimit.Result{Allowed: true, Quota: l.Quota(), Remaining: l.Quota() - cost}, nil
	}
	return answer(ctx)
}

// Peek answers as Allow does.
func (s *stubBackend) Peek(ctx context.Context, l ratelimit.Limit, key string, now time.Time) (ratelimit.Result, error) {
	return s.Allow(ctx, l, key, 1, now)
}

// Reset answers Allow's error.
func (s *stubBackend) Reset(ctx context.Context, l ratelimit.Limit, key string) error {
	_, err := s.Allow(ctx, l, key, 1, time.Time{})
	return err
}

var (
	okResult       = ratelimit.Result{Allowed: true, Quota: 10, Remaining: 9, ResetAfter: time.Second}
	errDown        = fault.Wrap(fault.Unavailable, "ratelimit_unavailable", errors.New("dial tcp: connection refused"))
	errBadKey      = fault.Invalidf("key", "invalid_limit", "key must be 1 to 256 bytes")
	errScript      = fault.Wrap(fault.Internal, "ratelimit_backend_error", errors.New("ERR script"))
	breakerLimit   = ratelimit.Limit{Name: "b", Strategy: ratelimit.GCRA, Rate: 10, Period: time.Second}
	breakerTimeNow = time.Unix(1_800_000_000, 0)
)

const cooldown = 5 * time.Second

func newTestBreaker() (*ratelimit.Breaker, *stubBackend, *fakeClock) {
	s := &stubBackend{}
	c := newFakeClock()
	return ratelimit.NewBreaker(s, cooldown, c.Now), s, c
}

func allow(b ratelimit.Backend) (ratelimit.Result, error) {
	return b.Allow(context.Background(), breakerLimit, "k", 1, breakerTimeNow)
}

// mustFailFast checks that a call is refused as Unavailable without reaching
// the backend.
func mustFailFast(t *testing.T, b *ratelimit.Breaker, s *stubBackend) {
	t.Helper()
	before := s.calls.Load()
	_, err := allow(b)
	if fault.KindOf(err) != fault.Unavailable || !errors.Is(err, &fault.Error{Code: "ratelimit_unavailable"}) {
		t.Fatalf("open breaker: err = %v, want Unavailable ratelimit_unavailable", err)
	}
	if n := s.calls.Load() - before; n != 0 {
		t.Fatalf("open breaker: %d calls reached the backend", n)
	}
}

// mustReach checks that a call reaches the backend and returns its answer.
func mustReach(t *testing.T, b *ratelimit.Breaker, s *stubBackend, wantErr error) {
	t.Helper()
	before := s.calls.Load()
	r, err := allow(b)
	if n := s.calls.Load() - before; n != 1 {
		t.Fatalf("%d calls reached the backend, want 1", n)
	}
	if err != wantErr {
		t.Fatalf("err = %v, want %v", err, wantErr)
	}
	if err == nil && r != okResult {
		t.Fatalf("result = %+v, want %+v", r, okResult)
	}
}

func TestBreakerPassesThroughWhenHealthy(t *testing.T) {
	b, s, _ := newTestBreaker()
	s.returns(okResult, nil)
	for range 3 {
		mustReach(t, b, s, nil)
	}
	// A denial is an answer like any other.
	denied := ratelimit.Result{Quota: 10, RetryAfter: time.Second}
	s.returns(denied, nil)
	if r, err := allow(b); err != nil || r != denied {
		t.Fatalf("denial: %+v, %v", r, err)
	}
	// An error reply from a reachable backend passes through and does not
	// open the breaker.
	s.returns(ratelimit.Result{}, errScript)
	mustReach(t, b, s, errScript)
	if b.Open() {
		t.Fatal("Internal error opened the breaker")
	}
	s.returns(okResult, nil)
	mustReach(t, b, s, nil)
}

func TestBreakerOpensAndRecovers(t *testing.T) {
	b, s, clock := newTestBreaker()
	s.returns(ratelimit.Result{}, errDown)

	// The failure itself is returned as the backend gave it.
	mustReach(t, b, s, errDown)
	if !b.Open() {
		t.Fatal("breaker not open after Unavailable")
	}
	// Until the cooldown passes, nothing reaches the backend, even once it
	// is healthy again.
	s.returns(okResult, nil)
	for range 5 {
		mustFailFast(t, b, s)
	}
	clock.Advance(cooldown - time.Nanosecond)
	mustFailFast(t, b, s)

	// At the cooldown, one probe goes; it succeeds and closes the breaker.
	clock.Advance(time.Nanosecond)
	mustReach(t, b, s, nil)
	if b.Open() {
		t.Fatal("breaker still open after a successful probe")
	}
	for range 3 {
		mustReach(t, b, s, nil)
	}
}

func TestBreakerFailedProbeReopens(t *testing.T) {
	b, s, clock := newTestBreaker()
	s.returns(ratelimit.Result{}, errDown)
	mustReach(t, b, s, errDown)

	clock.Advance(cooldown)
	mustReach(t, b, s, errDown) // the probe fails...
	if !b.Open() {
		t.Fatal("breaker closed after a failed probe")
	}
	// ...so the breaker is open for a whole new cooldown, counted from the
	// probe.
	s.returns(okResult, nil)
	mustFailFast(t, b, s)
	clock.Advance(cooldown - time.Nanosecond)
	mustFailFast(t, b, s)
	clock.Advance(time.Nanosecond)
	mustReach(t, b, s, nil)
	if b.Open() {
		t.Fatal("breaker still open after a successful probe")
	}
}

func TestBreakerOneProbeAtATime(t *testing.T) {
	b, s, clock := newTestBreaker()
	s.returns(ratelimit.Result{}, errDown)
	mustReach(t, b, s, errDown)
	clock.Advance(cooldown)

	// The probe blocks in the backend until released. Any other check that
	// got through (a bug) answers at once, so that the test fails rather
	// than hangs.
	entered, release := make(chan struct{}), make(chan struct{})
	var inBackend atomic.Int64
	s.set(func(context.Context) (ratelimit.Result, error) {
		if inBackend.Add(1) == 1 {
			close(entered)
			<-release
		}
		return okResult, nil
	})
	probeErr := make(chan error, 1)
	go func() {
		_, err := allow(b)
		probeErr <- err
	}()
	select {
	case <-entered:
	case err := <-probeErr:
		t.Fatalf("the check after the cooldown did not reach the backend: %v", err)
	}

	// While it is out, concurrent checks fail fast.
	var wg sync.WaitGroup
	var fast atomic.Int64
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := allow(b); fault.KindOf(err) == fault.Unavailable {
				fast.Add(1)
			}
		}()
	}
	wg.Wait()
	if n := fast.Load(); n != 20 {
		t.Fatalf("%d of 20 checks during the probe failed fast, want 20", n)
	}
	if n := s.calls.Load(); n != 2 { // the failure and the probe
		t.Fatalf("%d calls reached the backend, want 2", n)
	}

	close(release)
	if err := <-probeErr; err != nil {
		t.Fatalf("probe: %v", err)
	}
	if b.Open() {
		t.Fatal("breaker still open after a successful probe")
	}
	s.returns(okResult, nil)
	mustReach(t, b, s, nil)
}

func TestBreakerInvalidDoesNotOpen(t *testing.T) {
	b, s, clock := newTestBreaker()
	s.returns(ratelimit.Result{}, errBadKey)
	for range 3 {
		mustReach(t, b, s, errBadKey)
	}
	if b.Open() {
		t.Fatal("Invalid error opened the breaker")
	}

	// Nor does an Invalid answer to a probe say the backend is back: the
	// next check probes again.
	s.returns(ratelimit.Result{}, errDown)
	mustReach(t, b, s, errDown)
	clock.Advance(cooldown)
	s.returns(ratelimit.Result{}, errBadKey)
	mustReach(t, b, s, errBadKey)
	if !b.Open() {
		t.Fatal("an Invalid answer to the probe closed the breaker")
	}
	s.returns(ratelimit.Result{}, errDown)
	mustReach(t, b, s, errDown) // a probe, not a fast failure
	mustFailFast(t, b, s)
}

func TestBreakerCancelledContextDoesNotOpen(t *testing.T) {
	b, s, clock := newTestBreaker()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	// A backend whose call was cut short by the caller's context reports
	// Unavailable (go-redis: "context canceled"); that says nothing about
	// the backend.
	s.set(func(ctx context.Context) (ratelimit.Result, error) {
		if ctx.Err() != nil {
			return ratelimit.Result{}, fault.Wrap(fault.Unavailable, "ratelimit_unavailable", ctx.Err())
		}
		return okResult, nil
	})
	for range 3 {
		if _, err := b.Allow(ctx, breakerLimit, "k", 1, breakerTimeNow); fault.KindOf(err) != fault.Unavailable {
			t.Fatalf("cancelled: err = %v, want the backend's Unavailable", err)
		}
	}
	if b.Open() {
		t.Fatal("a cancelled context opened the breaker")
	}
	if n := s.calls.Load(); n != 3 {
		t.Fatalf("%d calls reached the backend, want 3", n)
	}
	mustReach(t, b, s, nil)

	// A probe cut short neither closes nor re-arms the breaker: the next
	// check is the probe.
	s.returns(ratelimit.Result{}, errDown)
	mustReach(t, b, s, errDown)
	clock.Advance(cooldown)
	s.set(func(ctx context.Context) (ratelimit.Result, error) {
		if ctx.Err() != nil {
			return ratelimit.Result{}, fault.Wrap(fault.Unavailable, "ratelimit_unavailable", ctx.Err())
		}
		return okResult, nil
	})
	before := s.calls.Load()
	if _, err := b.Allow(ctx, breakerLimit, "k", 1, breakerTimeNow); fault.KindOf(err) != fault.Unavailable {
		t.Fatalf("cancelled probe: err = %v", err)
	}
	if s.calls.Load() != before+1 {
		t.Fatal("cancelled probe did not reach the backend")
	}
	if !b.Open() {
		t.Fatal("a cancelled probe closed the breaker")
	}
	mustReach(t, b, s, nil)
	if b.Open() {
		t.Fatal("breaker still open after a successful probe")
	}
}

func TestBreakerNilClock(t *testing.T) {
	s := &stubBackend{}
	b := ratelimit.NewBreaker(s, time.Hour, nil)
	s.returns(ratelimit.Result{}, errDown)
	_, _ = allow(b)
	s.returns(okResult, nil)
	mustFailFast(t, b, s) // an hour of wall clock has not passed
}

// TestBreakerGuardsPeekAndReset: peeks and resets pass the same breaker as
// checks. A failure of any of them opens it for all three, none reaches the
// backend until the cooldown passes, a probe of any of them closes it, and
// a refused argument opens nothing.
func TestBreakerGuardsPeekAndReset(t *testing.T) {
	ctx := context.Background()
	ops := []struct {
		name string
		call func(b ratelimit.Backend) error
	}{
		{"allow", func(b ratelimit.Backend) error { _, err := allow(b); return err }},
		{"peek", func(b ratelimit.Backend) error {
			_, err := b.Peek(ctx, breakerLimit, "k", breakerTimeNow)
			return err
		}},
		{"reset", func(b ratelimit.Backend) error { return b.Reset(ctx, breakerLimit, "k") }},
	}
	for _, failing := range ops {
		for _, probe := range ops {
			t.Run(failing.name+"_fails/"+probe.name+"_probes", func(t *testing.T) {
				b, s, clock := newTestBreaker()
				s.returns(ratelimit.Result{}, errBadKey)
				if err := failing.call(b); err != errBadKey || b.Open() {
					t.Fatalf("invalid argument: err %v, open %v", err, b.Open())
				}
				s.returns(ratelimit.Result{}, errDown)
				if err := failing.call(b); err != errDown || !b.Open() {
					t.Fatalf("failure: err %v, open %v", err, b.Open())
				}
				s.returns(okResult, nil)
				before := s.calls.Load()
				for _, op := range ops {
					if err := op.call(b); fault.KindOf(err) != fault.Unavailable {
						t.Fatalf("%s with the breaker open: %v", op.name, err)
					}
				}
				if n := s.calls.Load() - before; n != 0 {
					t.Fatalf("with the breaker open, %d calls reached the backend", n)
				}
				clock.Advance(cooldown)
				if err := probe.call(b); err != nil || b.Open() {
					t.Fatalf("probe: err %v, open %v", err, b.Open())
				}
				for _, op := range ops {
					if err := op.call(b); err != nil {
						t.Fatalf("%s after recovery: %v", op.name, err)
					}
				}
			})
		}
	}
}

func TestBreakerReady(t *testing.T) {
	b, s, clock := newTestBreaker()
	ctx := context.Background()
	ready := func(want bool, wantCalls int64) {
		t.Helper()
		before := s.calls.Load()
		err := b.Ready(ctx)
		if (err == nil) != want {
			t.Fatalf("Ready = %v, want ready %v", err, want)
		}
		if err != nil && !errors.Is(err, &fault.Error{Code: "ratelimit_unavailable"}) {
			t.Fatalf("Ready = %v, want ratelimit_unavailable", err)
		}
		if n := s.calls.Load() - before; n != wantCalls {
			t.Fatalf("Ready made %d backend calls, want %d", n, wantCalls)
		}
	}
	// New, and so never heard from: one probe, then ready from state
	// alone while calls keep succeeding.
	s.returns(okResult, nil)
	ready(true, 1)
	ready(true, 0)
	clock.Advance(cooldown - time.Nanosecond)
	ready(true, 0)
	// Idle for a cooldown while the backend went down: the probe finds it
	// and opens the breaker, before any sign-in has to.
	clock.Advance(time.Nanosecond)
	s.returns(ratelimit.Result{}, errDown)
	ready(false, 1)
	if !b.Open() {
		t.Fatal("breaker closed after a failed readiness probe")
	}
	s.returns(okResult, nil)
	clock.Advance(cooldown)
	ready(true, 1)
	// Tripped (Redis did not answer the start-up ping): unready for the
	// cooldown without a call.
	b.Trip()
	ready(false, 0)
	// After the cooldown one probe goes; the backend is still down.
	clock.Advance(cooldown)
	s.returns(ratelimit.Result{}, errDown)
	ready(false, 1)
	ready(false, 0)
	// The backend is back: the next probe after the cooldown closes the
	// breaker, and checks reach the backend again.
	s.returns(okResult, nil)
	clock.Advance(cooldown)
	ready(true, 1)
	if b.Open() {
		t.Fatal("breaker open after a successful probe")
	}
	mustReach(t, b, s, nil)
	ready(true, 0)
}
