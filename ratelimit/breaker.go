package ratelimit

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/tollgate/tollgate/fault"
)

// Breaker guards a remote Backend. After a check fails with Unavailable it
// answers Unavailable at once for Cooldown, so that during an outage each
// request costs nothing rather than a connection timeout; then it lets one
// check through as a probe, and when that succeeds traffic resumes. No
// restart is needed after the backend comes back.
type Breaker struct {
	next     Backend
	cooldown time.Duration
	clock    func() time.Time
	// openUntil is when the next probe may go, in Unix nanoseconds; 0 while
	// the backend is healthy.
	openUntil atomic.Int64
	probing   atomic.Bool
	// lastOK is when a call last reached the backend, in Unix nanoseconds.
	lastOK atomic.Int64
}

var _ Backend = (*Breaker)(nil)

// NewBreaker wraps next. clock may be nil (time.Now); it times the cooldown
// only, not the limits.
func NewBreaker(next Backend, cooldown time.Duration, clock func() time.Time) *Breaker {
	if clock == nil {
		clock = time.Now
	}
	return &Breaker{next: next, cooldown: cooldown, clock: clock}
}

func errBreakerOpen() error {
	return fault.Wrap(fault.Unavailable, CodeRatelimitUnavailable, errors.New("rate-limit backend failed recently; waiting before retrying"))
}

// Trip opens the breaker as a failed check would, e.g. when the backend did
// not answer a ping at startup: checks fail fast for the cooldown, then a
// probe goes through.
func (b *Breaker) Trip() { b.openUntil.Store(b.clock().Add(b.cooldown).UnixNano()) }

// Open reports whether checks are being refused without reaching the backend.
func (b *Breaker) Open() bool { return b.openUntil.Load() != 0 }

// readyLimit and readyKey are what Ready peeks at: a read that stores
// nothing.
var readyLimit = Limit{Name: "readyz", Strategy: GCRA, Rate: 1, Period: time.Second}

const readyKey = "probe"

// Ready reports whether the backend is reachable, for a readiness probe. It
// answers from the breaker's state while traffic keeps that state fresh:
// nil while the breaker is closed and a call reached the backend within
// the last cooldown, Unavailable (ratelimit_unavailable) during the
// cooldown. Otherwise it lets one read-only check through as a probe: an
// idle replica notices an outage before its first sign-in fails, and a
// replica taken out of rotation (and so getting no traffic to probe with)
// still notices when the backend comes back. While a probe of an open
// breaker is in flight, other callers are answered Unavailable.
func (b *Breaker) Ready(ctx context.Context) error {
	if !b.Open() && b.clock().UnixNano()-b.lastOK.Load() < int64(b.cooldown) {
		return nil
	}
	_, err := b.Peek(ctx, readyLimit, readyKey, b.clock())
	if err != nil && !errors.Is(err, fault.ErrUnavailable) {
		// The backend answered, if oddly: it is reachable.
		return nil
	}
	return err
}

// Allow implements Backend.
func (b *Breaker) Allow(ctx context.Context, l Limit, key string, cost int64, now time.Time) (Result, error) {
	var r Result
	err := b.call(ctx, func() (err error) {
		r, err = b.next.Allow(ctx, l, key, cost, now)
		return err
	})
	return r, err
}

// Peek implements Backend.
func (b *Breaker) Peek(ctx context.Context, l Limit, key string, now time.Time) (Result, error) {
	var r Result
	err := b.call(ctx, func() (err error) {
		r, err = b.next.Peek(ctx, l, key, now)
		return err
	})
	return r, err
}

// Reset implements Backend.
func (b *Breaker) Reset(ctx context.Context, l Limit, key string) error {
	return b.call(ctx, func() error { return b.next.Reset(ctx, l, key) })
}

// call runs op against the backend unless the breaker is open, and opens
// or closes the breaker by op's outcome. Allow, Peek and Reset share the
// one breaker: any of them failing says the backend is unreachable.
func (b *Breaker) call(ctx context.Context, op func() error) error {
	if until := b.openUntil.Load(); until != 0 {
		if b.clock().UnixNano() < until || !b.probing.CompareAndSwap(false, true) {
			return errBreakerOpen()
		}
		defer b.probing.Store(false)
	}
	err := op()
	switch {
	case ctx.Err() != nil, errors.Is(err, fault.ErrInvalid):
		// The caller gave up, or its request was refused before it reached
		// the store; that says nothing about the backend.
	case errors.Is(err, fault.ErrUnavailable):
		b.openUntil.Store(b.clock().Add(b.cooldown).UnixNano())
	default:
		b.openUntil.Store(0)
		b.lastOK.Store(b.clock().UnixNano())
	}
	return err
}
