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

// Open reports whether checks are being refused without reaching the backend.
func (b *Breaker) Open() bool { return b.openUntil.Load() != 0 }

// Allow implements Backend.
func (b *Breaker) Allow(ctx context.Context, l Limit, key string, cost int64, now time.Time) (Result, error) {
	if until := b.openUntil.Load(); until != 0 {
		if b.clock().UnixNano() < until || !b.probing.CompareAndSwap(false, true) {
			return Result{}, errBreakerOpen()
		}
		defer b.probing.Store(false)
	}
	r, err := b.next.Allow(ctx, l, key, cost, now)
	switch {
	case ctx.Err() != nil, errors.Is(err, fault.ErrInvalid):
		// The caller gave up, or its request was refused before it reached
		// the store; that says nothing about the backend.
	case errors.Is(err, fault.ErrUnavailable):
		b.openUntil.Store(b.clock().Add(b.cooldown).UnixNano())
	default:
		b.openUntil.Store(0)
	}
	return r, err
}
