// Package ratelimittest is the conformance suite every ratelimit.Backend
// must pass, so that Local and Redis decide identically.
//
// Time is driven only by the now argument of Allow: the suite never sleeps
// and never reads the wall clock. All cases share one backend and run in
// parallel; each case draws fresh random limit names and keys, so a backend
// must keep limits with different names, and keys under one limit, apart.
package ratelimittest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tollgate/tollgate/cursor"
	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/ratelimit"
)

// Base is the instant the suite starts its clocks from. It is a multiple of
// one hour (and so of every period the suite uses) since the Unix epoch, so
// sliding windows start exactly at Base.
var Base = time.Unix(1_800_000_000, 0)

// Run runs the conformance suite against the backend newBackend returns.
// newBackend is called once; every case shares the backend.
func Run(t *testing.T, newBackend func(t *testing.T) ratelimit.Backend) {
	t.Helper()
	b := newBackend(t)
	cases := []struct {
		name string
		run  func(t *testing.T, b ratelimit.Backend)
	}{
		{"gcra/burst_then_retry", testGCRABurstThenRetry},
		{"gcra/burst_zero_means_rate", testGCRABurstZero},
		{"gcra/steady_rate", testGCRASteadyRate},
		{"gcra/cost", testGCRACost},
		{"gcra/denied_consumes_nothing", testGCRADeniedConsumesNothing},
		{"gcra/reset_after_drains", testGCRAResetAfter},
		{"window/admits_rate", testWindowAdmitsRate},
		{"window/weights_previous", testWindowWeightsPrevious},
		{"window/forgets_older_windows", testWindowForgetsOlder},
		{"window/retry_after_within_window", testWindowRetryWithin},
		{"window/retry_after_next_window", testWindowRetryNext},
		{"window/cost", testWindowCost},
		{"window/denied_consumes_nothing", testWindowDeniedConsumesNothing},
		{"window/reset_after", testWindowResetAfter},
		{"independent_keys_and_names", testIndependence},
		{"invalid_cost", testInvalidCost},
		{"invalid_limit", testInvalidLimit},
		{"invalid_key", testInvalidKey},
		{"peek/gcra_answers_as_allow", testPeekGCRA},
		{"peek/window_answers_as_allow", testPeekWindow},
		{"peek/consumes_nothing", testPeekConsumesNothing},
		{"peek/invalid", testPeekInvalid},
		{"reset/forgets_the_key", testResetForgets},
		{"reset/leaves_other_keys", testResetLeavesOthers},
		{"reset/invalid", testResetInvalid},
		{"concurrent/gcra", func(t *testing.T, b ratelimit.Backend) {
			// A minute, not a second: Redis expires a key by its own clock,
			// and a second of TTL ran out while a loaded machine was still
			// sending the refused requests, which then started afresh.
			testConcurrent(t, b, GCRALimit(100, time.Minute, 100))
		}},
		{"concurrent/window", func(t *testing.T, b ratelimit.Backend) {
			testConcurrent(t, b, WindowLimit(100, time.Minute))
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.run(t, b)
		})
	}
}

// Name returns a fresh random limit name.
func Name() string { return fmt.Sprintf("rlt-%016x", rand.Uint64()) }

// Key returns a fresh random key.
func Key() string { return fmt.Sprintf("key:%016x", rand.Uint64()) }

// GCRALimit returns a GCRA limit with a fresh random name.
func GCRALimit(rate int64, period time.Duration, burst int64) ratelimit.Limit {
	return ratelimit.Limit{Name: Name(), Strategy: ratelimit.GCRA, Rate: rate, Period: period, Burst: burst}
}

// WindowLimit returns a sliding-window limit with a fresh random name.
func WindowLimit(rate int64, period time.Duration) ratelimit.Limit {
	return ratelimit.Limit{Name: Name(), Strategy: ratelimit.SlidingWindow, Rate: rate, Period: period}
}

// Peek calls b.Peek and fails the test on an error.
func Peek(t testing.TB, b ratelimit.Backend, l ratelimit.Limit, key string, now time.Time) ratelimit.Result {
	t.Helper()
	r, err := b.Peek(context.Background(), l, key, now)
	if err != nil {
		t.Fatalf("Peek(%s, %q, Base%+v): %v", l.Name, key, now.Sub(Base), err)
	}
	return r
}

// Reset calls b.Reset and fails the test on an error.
func Reset(t testing.TB, b ratelimit.Backend, l ratelimit.Limit, key string) {
	t.Helper()
	if err := b.Reset(context.Background(), l, key); err != nil {
		t.Fatalf("Reset(%s, %q): %v", l.Name, key, err)
	}
}

// PeekThenAllow peeks at now, twice, then checks cost 1 at now, and fails
// unless all three answered alike; it returns the answer.
func PeekThenAllow(t testing.TB, b ratelimit.Backend, l ratelimit.Limit, key string, now time.Time) ratelimit.Result {
	t.Helper()
	p1 := Peek(t, b, l, key, now)
	p2 := Peek(t, b, l, key, now)
	a := Allow(t, b, l, key, 1, now)
	if p1 != a || p2 != a {
		t.Fatalf("%s at Base%+v: Peek %+v then %+v, but Allow %+v", l.Strategy, now.Sub(Base), p1, p2, a)
	}
	return a
}

// Allow calls b.Allow and fails the test on an error.
func Allow(t testing.TB, b ratelimit.Backend, l ratelimit.Limit, key string, cost int64, now time.Time) ratelimit.Result {
	t.Helper()
	r, err := b.Allow(context.Background(), l, key, cost, now)
	if err != nil {
		t.Fatalf("Allow(%s, %q, cost %d, Base%+v): %v", l.Name, key, cost, now.Sub(Base), err)
	}
	return r
}

// Want is the expected Result; a negative duration or count is not checked.
type Want struct {
	Allowed    bool
	Quota      int64
	Remaining  int64
	ResetAfter time.Duration
	RetryAfter time.Duration
}

// Check calls Allow and compares every field of the Result with want.
func Check(t testing.TB, b ratelimit.Backend, l ratelimit.Limit, key string, cost int64, now time.Time, want Want) ratelimit.Result {
	t.Helper()
	got := Allow(t, b, l, key, cost, now)
	var diffs []string
	if got.Allowed != want.Allowed {
		diffs = append(diffs, fmt.Sprintf("Allowed %v, want %v", got.Allowed, want.Allowed))
	}
	if want.Quota >= 0 && got.Quota != want.Quota {
		diffs = append(diffs, fmt.Sprintf("Quota %d, want %d", got.Quota, want.Quota))
	}
	if want.Remaining >= 0 && got.Remaining != want.Remaining {
		diffs = append(diffs, fmt.Sprintf("Remaining %d, want %d", got.Remaining, want.Remaining))
	}
	if want.ResetAfter >= 0 && got.ResetAfter != want.ResetAfter {
		diffs = append(diffs, fmt.Sprintf("ResetAfter %v, want %v", got.ResetAfter, want.ResetAfter))
	}
	if want.RetryAfter >= 0 && got.RetryAfter != want.RetryAfter {
		diffs = append(diffs, fmt.Sprintf("RetryAfter %v, want %v", got.RetryAfter, want.RetryAfter))
	}
	if len(diffs) > 0 {
		t.Fatalf("Allow(%s %d/%v burst %d, cost %d, Base%+v): %s", l.Strategy, l.Rate, l.Period, l.Burst, cost, now.Sub(Base), strings.Join(diffs, "; "))
	}
	return got
}

// Exhaust sends cost-1 requests at now until one is denied and returns how
// many were allowed. It gives up (failing the test) after limit requests.
func Exhaust(t testing.TB, b ratelimit.Backend, l ratelimit.Limit, key string, now time.Time, limit int) int {
	t.Helper()
	for i := 0; i <= limit; i++ {
		if !Allow(t, b, l, key, 1, now).Allowed {
			return i
		}
	}
	t.Fatalf("Exhaust: %d requests allowed at one instant, more than %d", limit+1, limit)
	return 0
}

// ExpectAllowed asserts that exactly n cost-1 requests are allowed at now
// and the next one is denied.
func ExpectAllowed(t testing.TB, b ratelimit.Backend, l ratelimit.Limit, key string, now time.Time, n int) {
	t.Helper()
	if got := Exhaust(t, b, l, key, now, n+1); got != n {
		t.Fatalf("at Base%+v: %d requests allowed, want %d", now.Sub(Base), got, n)
	}
}

// RetryExactly asserts that the request is denied at now+d−1ns and allowed
// at now+d, where d is r.RetryAfter of a denied result r at now.
func RetryExactly(t testing.TB, b ratelimit.Backend, l ratelimit.Limit, key string, cost int64, now time.Time, r ratelimit.Result) {
	t.Helper()
	if r.Allowed || r.RetryAfter <= 0 {
		t.Fatalf("RetryExactly needs a denied result with RetryAfter > 0, got %+v", r)
	}
	before := now.Add(r.RetryAfter - time.Nanosecond)
	if Allow(t, b, l, key, cost, before).Allowed {
		t.Fatalf("allowed at Base%+v, 1ns before RetryAfter %v", before.Sub(Base), r.RetryAfter)
	}
	at := now.Add(r.RetryAfter)
	if !Allow(t, b, l, key, cost, at).Allowed {
		t.Fatalf("denied at Base%+v, after RetryAfter %v", at.Sub(Base), r.RetryAfter)
	}
}

// 10 per second with a burst of 5: emission interval T = 100ms.
func testGCRABurstThenRetry(t *testing.T, b ratelimit.Backend) {
	l, key, now := GCRALimit(10, time.Second, 5), Key(), Base.Add(123*time.Millisecond)
	const T = 100 * time.Millisecond
	for i := int64(0); i < 5; i++ {
		Check(t, b, l, key, 1, now, Want{Allowed: true, Quota: 5, Remaining: 4 - i, ResetAfter: time.Duration(i+1) * T, RetryAfter: 0})
	}
	r := Check(t, b, l, key, 1, now, Want{Allowed: false, Quota: 5, Remaining: 0, ResetAfter: 5 * T, RetryAfter: T})
	RetryExactly(t, b, l, key, 1, now, r)
	// The retry consumed the slot that freed up; the next one is T later.
	Check(t, b, l, key, 1, now.Add(T), Want{Allowed: false, Quota: 5, Remaining: 0, ResetAfter: 5 * T, RetryAfter: T})
	Check(t, b, l, key, 1, now.Add(2*T), Want{Allowed: true, Quota: 5, Remaining: 0, ResetAfter: 5 * T, RetryAfter: 0})
}

func testGCRABurstZero(t *testing.T, b ratelimit.Backend) {
	l, key := GCRALimit(7, time.Minute, 0), Key()
	Check(t, b, l, key, 1, Base, Want{Allowed: true, Quota: 7, Remaining: 6, ResetAfter: time.Minute / 7, RetryAfter: 0})
	ExpectAllowed(t, b, l, key, Base, 6)
}

func testGCRASteadyRate(t *testing.T, b ratelimit.Backend) {
	// Burst 1: exactly one request per T, never two within T. T is a
	// second, not less: a backend may expire the key after ResetAfter of
	// its own (wall) clock, so the check at now+T/2 must run within T of
	// the one before it, which a loaded CI machine did not always manage
	// at 50 ms.
	l, key := GCRALimit(1, time.Second, 1), Key()
	const T = time.Second
	for i := 0; i < 100; i++ {
		now := Base.Add(time.Duration(i) * T)
		Check(t, b, l, key, 1, now, Want{Allowed: true, Quota: 1, Remaining: 0, ResetAfter: T, RetryAfter: 0})
		Check(t, b, l, key, 1, now.Add(T/2), Want{Allowed: false, Quota: 1, Remaining: 0, ResetAfter: T / 2, RetryAfter: T / 2})
	}
	// With a burst, a steady stream at the rate never runs dry either.
	l2, key2 := GCRALimit(1, time.Second, 10), Key()
	for i := 0; i < 100; i++ {
		Check(t, b, l2, key2, 1, Base.Add(time.Duration(i)*T), Want{Allowed: true, Quota: 10, Remaining: 9, ResetAfter: T, RetryAfter: 0})
	}
}

func testGCRACost(t *testing.T, b ratelimit.Backend) {
	l, key := GCRALimit(10, time.Second, 10), Key()
	const T = 100 * time.Millisecond
	Check(t, b, l, key, 3, Base, Want{Allowed: true, Quota: 10, Remaining: 7, ResetAfter: 3 * T, RetryAfter: 0})
	Check(t, b, l, key, 3, Base, Want{Allowed: true, Quota: 10, Remaining: 4, ResetAfter: 6 * T, RetryAfter: 0})
	Check(t, b, l, key, 3, Base, Want{Allowed: true, Quota: 10, Remaining: 1, ResetAfter: 9 * T, RetryAfter: 0})
	r := Check(t, b, l, key, 3, Base, Want{Allowed: false, Quota: 10, Remaining: 1, ResetAfter: 9 * T, RetryAfter: 2 * T})
	RetryExactly(t, b, l, key, 3, Base, r)
	// Cost equal to the quota is allowed on a fresh key.
	Check(t, b, l, Key(), 10, Base, Want{Allowed: true, Quota: 10, Remaining: 0, ResetAfter: 10 * T, RetryAfter: 0})
}

func testGCRADeniedConsumesNothing(t *testing.T, b ratelimit.Backend) {
	l, key := GCRALimit(10, time.Second, 3), Key()
	ExpectAllowed(t, b, l, key, Base, 3)
	for i := 0; i < 50; i++ {
		Check(t, b, l, key, 1, Base.Add(time.Duration(i)*time.Millisecond), Want{Allowed: false, Quota: 3, Remaining: 0, ResetAfter: -1, RetryAfter: 100*time.Millisecond - time.Duration(i)*time.Millisecond})
	}
	// A denied large request does not consume either.
	Check(t, b, l, key, 3, Base.Add(100*time.Millisecond), Want{Allowed: false, Quota: 3, Remaining: 1, ResetAfter: 200 * time.Millisecond, RetryAfter: 200 * time.Millisecond})
	ExpectAllowed(t, b, l, key, Base.Add(100*time.Millisecond), 1)
}

func testGCRAResetAfter(t *testing.T, b ratelimit.Backend) {
	l, key := GCRALimit(4, time.Second, 4), Key()
	const T = 250 * time.Millisecond
	ExpectAllowed(t, b, l, key, Base, 4)
	// ResetAfter counts down to a full quota; 1ns short of it, 3 are back.
	Check(t, b, l, key, 1, Base.Add(4*T-1), Want{Allowed: true, Quota: 4, Remaining: 2, ResetAfter: T + 1, RetryAfter: 0})
	later := Base.Add(time.Hour)
	Check(t, b, l, key, 1, later, Want{Allowed: true, Quota: 4, Remaining: 3, ResetAfter: T, RetryAfter: 0})
}

// Sliding window, 10 per minute; windows start at Base, Base+1m, ...
func testWindowAdmitsRate(t *testing.T, b ratelimit.Backend) {
	l, key := WindowLimit(10, time.Minute), Key()
	now := Base.Add(10 * time.Second)
	for i := int64(0); i < 10; i++ {
		Check(t, b, l, key, 1, now.Add(time.Duration(i)*time.Second), Want{Allowed: true, Quota: 10, Remaining: 9 - i, ResetAfter: 2*time.Minute - 10*time.Second - time.Duration(i)*time.Second, RetryAfter: 0})
	}
	Check(t, b, l, key, 1, Base.Add(59*time.Second), Want{Allowed: false, Quota: 10, Remaining: 0, ResetAfter: 61 * time.Second, RetryAfter: -1})
}

func testWindowWeightsPrevious(t *testing.T, b ratelimit.Backend) {
	for _, c := range []struct {
		prev    int64
		into    time.Duration
		allowed int
	}{
		{10, 0, 0},
		{10, 15 * time.Second, 3},                  // 10×0.75 = 7.5 → 7
		{10, 30 * time.Second, 5},                  // 10×0.5 = 5
		{10, 45 * time.Second, 8},                  // 10×0.25 = 2.5 → 2
		{10, 60*time.Second - time.Nanosecond, 10}, // floor(10 × 1ns/60s) = 0
		{4, 30 * time.Second, 8},                   // 4×0.5 = 2
		{7, 20 * time.Second, 6},                   // 7×2/3 = 4.67 → 4
	} {
		l, key := WindowLimit(10, time.Minute), Key()
		for i := int64(0); i < c.prev; i++ {
			Allow(t, b, l, key, 1, Base.Add(time.Duration(i)*time.Second))
		}
		ExpectAllowed(t, b, l, key, Base.Add(time.Minute+c.into), c.allowed)
	}
}

func testWindowForgetsOlder(t *testing.T, b ratelimit.Backend) {
	l, key := WindowLimit(10, time.Minute), Key()
	ExpectAllowed(t, b, l, key, Base.Add(59*time.Second), 10)
	// Two windows later the count of Base's window no longer weighs.
	ExpectAllowed(t, b, l, key, Base.Add(2*time.Minute), 10)
	ExpectAllowed(t, b, l, Key(), Base.Add(time.Hour), 10)
}

func testWindowRetryWithin(t *testing.T, b ratelimit.Backend) {
	l, key := WindowLimit(10, time.Minute), Key()
	ExpectAllowed(t, b, l, key, Base.Add(time.Second), 10)
	now := Base.Add(time.Minute + 15*time.Second)
	ExpectAllowed(t, b, l, key, now, 3) // 7 of the previous window still weigh
	// The 4th fits once floor(10×w) ≤ 6, i.e. w < 0.7: 18s+1ns into the window.
	r := Check(t, b, l, key, 1, now, Want{Allowed: false, Quota: 10, Remaining: 0, ResetAfter: 105 * time.Second, RetryAfter: 3*time.Second + time.Nanosecond})
	RetryExactly(t, b, l, key, 1, now, r)
	// Now curr is 4; cost 2 needs floor(10×w) ≤ 4, i.e. w < 0.5: 30s+1ns
	// into the window, 12s after 18s+1ns.
	now2 := Base.Add(time.Minute + 18*time.Second + time.Nanosecond)
	r = Check(t, b, l, key, 2, now2, Want{Allowed: false, Quota: 10, Remaining: 0, ResetAfter: -1, RetryAfter: 12 * time.Second})
	RetryExactly(t, b, l, key, 2, now2, r)
}

func testWindowRetryNext(t *testing.T, b ratelimit.Backend) {
	l, key := WindowLimit(10, time.Minute), Key()
	now := Base.Add(time.Second)
	ExpectAllowed(t, b, l, key, now, 10)
	// The window is full on its own: nothing fits until the next window,
	// and there the 10 weigh fully at its start: 1ns in, floor(10×w) = 9.
	r := Check(t, b, l, key, 1, now, Want{Allowed: false, Quota: 10, Remaining: 0, ResetAfter: 119 * time.Second, RetryAfter: 59*time.Second + time.Nanosecond})
	RetryExactly(t, b, l, key, 1, now, r)

	// Half way into a window with prev 10 (weighing 5) and curr 5, cost 5
	// fits once floor(10×w) = 0, i.e. w < 0.1: 54s+1ns into the window.
	l2, key2 := WindowLimit(10, time.Minute), Key()
	for i := 0; i < 10; i++ {
		Allow(t, b, l2, key2, 1, Base)
	}
	mid := Base.Add(time.Minute + 30*time.Second)
	Check(t, b, l2, key2, 5, mid, Want{Allowed: true, Quota: 10, Remaining: 0, ResetAfter: 90 * time.Second, RetryAfter: 0})
	r = Check(t, b, l2, key2, 5, mid, Want{Allowed: false, Quota: 10, Remaining: 0, ResetAfter: 90 * time.Second, RetryAfter: 24*time.Second + time.Nanosecond})
	RetryExactly(t, b, l2, key2, 5, mid, r)
}

func testWindowCost(t *testing.T, b ratelimit.Backend) {
	l, key := WindowLimit(10, time.Second), Key()
	Check(t, b, l, key, 4, Base, Want{Allowed: true, Quota: 10, Remaining: 6, ResetAfter: 2 * time.Second, RetryAfter: 0})
	Check(t, b, l, key, 6, Base.Add(time.Millisecond), Want{Allowed: true, Quota: 10, Remaining: 0, ResetAfter: 2*time.Second - time.Millisecond, RetryAfter: 0})
	Check(t, b, l, key, 1, Base.Add(999*time.Millisecond), Want{Allowed: false, Quota: 10, Remaining: 0, ResetAfter: time.Second + time.Millisecond, RetryAfter: -1})
	Check(t, b, l, Key(), 10, Base, Want{Allowed: true, Quota: 10, Remaining: 0, ResetAfter: 2 * time.Second, RetryAfter: 0})
}

func testWindowDeniedConsumesNothing(t *testing.T, b ratelimit.Backend) {
	l, key := WindowLimit(5, time.Minute), Key()
	ExpectAllowed(t, b, l, key, Base, 5)
	for i := 0; i < 50; i++ {
		Allow(t, b, l, key, 1, Base.Add(time.Duration(i)*time.Second))
	}
	// Had the denials counted, the previous window would weigh more than 5.
	ExpectAllowed(t, b, l, key, Base.Add(time.Minute+30*time.Second), 3) // 5×0.5 = 2.5 → 2
}

func testWindowResetAfter(t *testing.T, b ratelimit.Backend) {
	l, key := WindowLimit(10, time.Minute), Key()
	Check(t, b, l, key, 1, Base.Add(10*time.Second), Want{Allowed: true, Quota: 10, Remaining: 9, ResetAfter: 110 * time.Second, RetryAfter: 0})
	// In the next window with nothing new counted yet, only the previous
	// window's weight is left, gone at the window's end. Ask with a cost
	// that is denied so that nothing is added: prev 1 weighs 1 at 0s and
	// 0 from 1ns on, but RetryAfter is never below 1ms.
	Check(t, b, l, key, 10, Base.Add(time.Minute), Want{Allowed: false, Quota: 10, Remaining: 9, ResetAfter: time.Minute, RetryAfter: time.Millisecond})
}

func testIndependence(t *testing.T, b ratelimit.Backend) {
	for _, l := range []ratelimit.Limit{GCRALimit(3, time.Second, 0), WindowLimit(3, time.Second)} {
		key := Key()
		ExpectAllowed(t, b, l, key, Base, 3)
		ExpectAllowed(t, b, l, Key(), Base, 3)
		other := l
		other.Name = Name()
		ExpectAllowed(t, b, other, key, Base, 3)
		// Keys that share prefixes or contain separators stay apart.
		ExpectAllowed(t, b, l, key+":x", Base, 3)
		ExpectAllowed(t, b, l, key[:len(key)-1], Base, 3)
		ExpectAllowed(t, b, l, "{"+key+"} *?[]\\ é", Base, 3)
	}
}

func wantCode(t *testing.T, err error, code fault.Code) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %s", code)
	}
	if fault.KindOf(err) != fault.Invalid || !errors.Is(err, &fault.Error{Code: code}) {
		t.Fatalf("got %v, want an Invalid %s error", err, code)
	}
}

func testInvalidCost(t *testing.T, b ratelimit.Backend) {
	ctx := context.Background()
	for _, c := range []struct {
		l    ratelimit.Limit
		cost int64
	}{
		{GCRALimit(10, time.Second, 5), 6},
		{GCRALimit(10, time.Second, 0), 11},
		{GCRALimit(10, time.Second, 20), 21},
		{WindowLimit(10, time.Second), 11},
		{GCRALimit(10, time.Second, 5), 0},
		{WindowLimit(10, time.Second), -1},
	} {
		_, err := b.Allow(ctx, c.l, Key(), c.cost, Base)
		wantCode(t, err, "invalid_cost")
	}
	// Burst above Rate is allowed, and so is a cost up to it.
	ExpectAllowed(t, b, GCRALimit(10, time.Second, 20), Key(), Base, 20)
}

func testInvalidLimit(t *testing.T, b ratelimit.Backend) {
	ctx := context.Background()
	ok := GCRALimit(10, time.Second, 0)
	for name, mod := range map[string]func(l *ratelimit.Limit){
		"empty name":      func(l *ratelimit.Limit) { l.Name = "" },
		"long name":       func(l *ratelimit.Limit) { l.Name = strings.Repeat("a", 65) },
		"upper name":      func(l *ratelimit.Limit) { l.Name = "Login" },
		"name with colon": func(l *ratelimit.Limit) { l.Name = "a:b" },
		"name with space": func(l *ratelimit.Limit) { l.Name = "a b" },
		"no strategy":     func(l *ratelimit.Limit) { l.Strategy = "" },
		"bad strategy":    func(l *ratelimit.Limit) { l.Strategy = "leaky" },
		"zero rate":       func(l *ratelimit.Limit) { l.Rate = 0 },
		"negative rate":   func(l *ratelimit.Limit) { l.Rate = -1 },
		"huge rate":       func(l *ratelimit.Limit) { l.Rate = 1_000_000_001 },
		"zero period":     func(l *ratelimit.Limit) { l.Period = 0 },
		"short period":    func(l *ratelimit.Limit) { l.Period = time.Millisecond - 1 },
		"long period":     func(l *ratelimit.Limit) { l.Period = 24*time.Hour + 1 },
		"negative burst":  func(l *ratelimit.Limit) { l.Burst = -1 },
		"huge burst":      func(l *ratelimit.Limit) { l.Burst = 1_000_000_001 },
	} {
		l := ok
		mod(&l)
		_, err := b.Allow(ctx, l, Key(), 1, Base)
		if err == nil {
			t.Errorf("%s: got no error", name)
			continue
		}
		if fault.KindOf(err) != fault.Invalid || !errors.Is(err, &fault.Error{Code: cursor.CodeInvalidLimit}) {
			t.Errorf("%s: got %v, want an Invalid invalid_limit error", name, err)
		}
	}
	// The bounds themselves are valid.
	for _, l := range []ratelimit.Limit{
		{Name: strings.Repeat("z", 64), Strategy: ratelimit.GCRA, Rate: 1, Period: time.Millisecond},
		{Name: "a_b-9", Strategy: ratelimit.GCRA, Rate: 1_000_000_000, Period: 24 * time.Hour, Burst: 1_000_000_000},
		{Name: Name(), Strategy: ratelimit.SlidingWindow, Rate: 1_000_000_000, Period: time.Millisecond},
		{Name: Name(), Strategy: ratelimit.SlidingWindow, Rate: 1, Period: 24 * time.Hour},
		{Name: Name(), Strategy: ratelimit.GCRA, Rate: 1, Period: 24 * time.Hour, Burst: 1_000_000_000},
	} {
		if _, err := b.Allow(ctx, l, Key(), 1, Base); err != nil {
			t.Errorf("Allow(%+v): %v", l, err)
		}
	}
}

func testInvalidKey(t *testing.T, b ratelimit.Backend) {
	ctx := context.Background()
	for _, key := range []string{"", strings.Repeat("k", 257), "a\x00b", "a\nb", "\t", "a\x7f", "a\u0085b"} {
		for _, l := range []ratelimit.Limit{GCRALimit(10, time.Second, 0), WindowLimit(10, time.Second)} {
			_, err := b.Allow(ctx, l, key, 1, Base)
			wantCode(t, err, "invalid_limit")
		}
	}
	ExpectAllowed(t, b, GCRALimit(1, time.Second, 0), strings.Repeat("k", 256), Base, 1)
}

// testPeekGCRA: a peek answers exactly what a check of cost 1 at the same
// instant answers, through a burst, denials, retries and refills.
func testPeekGCRA(t *testing.T, b ratelimit.Backend) {
	l, key := GCRALimit(10, time.Second, 3), Key()
	const T = 100 * time.Millisecond
	allowed := 0
	for _, at := range []time.Duration{0, 0, 0, 0, 0, T - 1, T, T, 3 * T, 3 * T, 3*T + 1, time.Hour} {
		if PeekThenAllow(t, b, l, key, Base.Add(at)).Allowed {
			allowed++
		}
	}
	// 3 at once, one at T, two at 3T, and the whole burst after an hour.
	if allowed != 7 {
		t.Fatalf("%d allowed, want 7", allowed)
	}
	// A key never seen peeks as a full quota.
	r := Peek(t, b, l, Key(), Base)
	if !r.Allowed || r.Remaining != 2 || r.ResetAfter != T || r.RetryAfter != 0 {
		t.Fatalf("fresh key: %+v", r)
	}
}

// testPeekWindow: as testPeekGCRA, for a sliding window, across window
// boundaries where the stored state rolls forward.
func testPeekWindow(t *testing.T, b ratelimit.Backend) {
	l, key := WindowLimit(4, time.Minute), Key()
	allowed := 0
	for _, at := range []time.Duration{
		time.Second, time.Second, 2 * time.Second, 3 * time.Second, 4 * time.Second, // 4 allowed, then full
		// The previous 4 weigh 4 (denied; the state rolls), then 3, 2
		// and 1 beside 0, 1 and 2 of this window.
		time.Minute, time.Minute + 15*time.Second, time.Minute + 30*time.Second, time.Minute + 31*time.Second,
		3 * time.Minute, 3 * time.Minute, // two windows on: nothing weighs
	} {
		if PeekThenAllow(t, b, l, key, Base.Add(at)).Allowed {
			allowed++
		}
	}
	if allowed != 4+3+2 {
		t.Fatalf("%d allowed, want 9", allowed)
	}
	r := Peek(t, b, l, Key(), Base.Add(time.Second))
	if !r.Allowed || r.Remaining != 3 || r.RetryAfter != 0 {
		t.Fatalf("fresh key: %+v", r)
	}
}

// testPeekConsumesNothing: any number of peeks, allowed or denied, leave
// the count where it was.
func testPeekConsumesNothing(t *testing.T, b ratelimit.Backend) {
	for _, l := range []ratelimit.Limit{GCRALimit(5, time.Minute, 0), WindowLimit(5, time.Minute)} {
		key := Key()
		for i := 0; i < 20; i++ {
			if r := Peek(t, b, l, key, Base.Add(time.Duration(i)*time.Millisecond)); !r.Allowed || r.Remaining != 4 {
				t.Fatalf("%s: peek %d on an untouched key: %+v", l.Strategy, i, r)
			}
		}
		ExpectAllowed(t, b, l, key, Base.Add(time.Second), 5)
		for i := 0; i < 20; i++ {
			if r := Peek(t, b, l, key, Base.Add(2*time.Second)); r.Allowed || r.RetryAfter <= 0 {
				t.Fatalf("%s: peek %d on an exhausted key: %+v", l.Strategy, i, r)
			}
		}
		// In the next window (for GCRA: two refills later) the peeks left
		// nothing behind: the window's previous count weighs 5×(1−e/P).
		if l.Strategy == ratelimit.GCRA {
			ExpectAllowed(t, b, l, key, Base.Add(time.Second+24*time.Second), 2)
		} else {
			ExpectAllowed(t, b, l, key, Base.Add(time.Minute+30*time.Second), 3) // 5×0.5 = 2.5 → 2
		}
	}
}

func testPeekInvalid(t *testing.T, b ratelimit.Backend) {
	ctx := context.Background()
	bad := GCRALimit(10, time.Second, 0)
	bad.Name = "Bad Name"
	_, err := b.Peek(ctx, bad, Key(), Base)
	wantCode(t, err, "invalid_limit")
	for _, key := range []string{"", strings.Repeat("k", 257), "a\nb"} {
		_, err := b.Peek(ctx, WindowLimit(10, time.Second), key, Base)
		wantCode(t, err, "invalid_limit")
	}
}

// testResetForgets: after a reset the key has its whole quota, whatever
// it had used; resetting a key never seen is no error.
func testResetForgets(t *testing.T, b ratelimit.Backend) {
	for _, l := range []ratelimit.Limit{GCRALimit(3, time.Hour, 0), WindowLimit(3, time.Hour)} {
		key := Key()
		ExpectAllowed(t, b, l, key, Base, 3)
		Reset(t, b, l, key)
		ExpectAllowed(t, b, l, key, Base.Add(time.Second), 3)
		// In a later window a reset also drops the previous one's weight.
		Allow(t, b, l, key, 1, Base.Add(time.Hour))
		Reset(t, b, l, key)
		if r, fresh := Peek(t, b, l, key, Base.Add(time.Hour)), Peek(t, b, l, Key(), Base.Add(time.Hour)); r != fresh || !r.Allowed {
			t.Fatalf("%s: after a reset: %+v, a fresh key: %+v", l.Strategy, r, fresh)
		}
		ExpectAllowed(t, b, l, key, Base.Add(time.Hour), 3)
		Reset(t, b, l, Key())
		Reset(t, b, l, key)
		Reset(t, b, l, key)
	}
}

// testResetLeavesOthers: a reset forgets one key of one limit only.
func testResetLeavesOthers(t *testing.T, b ratelimit.Backend) {
	for _, l := range []ratelimit.Limit{GCRALimit(2, time.Hour, 0), WindowLimit(2, time.Hour)} {
		key := Key()
		other := l
		other.Name = Name()
		for _, k := range []string{key, key + ":x", key[:len(key)-1]} {
			ExpectAllowed(t, b, l, k, Base, 2)
		}
		ExpectAllowed(t, b, other, key, Base, 2)
		Reset(t, b, l, key)
		ExpectAllowed(t, b, l, key, Base, 2)
		for _, k := range []string{key + ":x", key[:len(key)-1]} {
			ExpectAllowed(t, b, l, k, Base, 0)
		}
		ExpectAllowed(t, b, other, key, Base, 0)
	}
}

func testResetInvalid(t *testing.T, b ratelimit.Backend) {
	ctx := context.Background()
	bad := WindowLimit(10, time.Second)
	bad.Rate = 0
	wantCode(t, b.Reset(ctx, bad, Key()), "invalid_limit")
	for _, key := range []string{"", strings.Repeat("k", 257), "a\x00b"} {
		wantCode(t, b.Reset(ctx, GCRALimit(10, time.Second, 0), key), "invalid_limit")
	}
}

// testConcurrent checks atomicity: many goroutines at one instant admit
// exactly the quota between them.
func testConcurrent(t *testing.T, b ratelimit.Backend, l ratelimit.Limit) {
	const goroutines, each = 8, 40
	key := Key()
	now := Base.Add(7 * time.Second)
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		allowed int64
		errs    []error
	)
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var n int64
			for i := 0; i < each; i++ {
				r, err := b.Allow(context.Background(), l, key, 1, now)
				if err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
					return
				}
				if r.Allowed {
					n++
				}
			}
			mu.Lock()
			allowed += n
			mu.Unlock()
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("Allow: %v", errs[0])
	}
	if allowed != l.Quota() {
		t.Fatalf("%d goroutines × %d requests at one instant: %d allowed, want exactly %d", goroutines, each, allowed, l.Quota())
	}
}
