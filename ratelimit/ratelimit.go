// Package ratelimit decides whether a request may proceed under a limit:
// GCRA (a token bucket with burst, smooth) or a sliding-window counter (the
// "N per minute" of the seed's wording), with the same semantics in process
// (Local, the embedded default) and on Redis (ratelimit/redis), checked by
// one conformance suite (ratelimit/ratelimittest).
package ratelimit

import (
	"context"
	"time"
)

// Strategy is how a limit counts.
type Strategy string

const (
	// GCRA is the generic cell rate algorithm: Rate requests per Period,
	// spread evenly, with up to Burst at once. Equivalent to a token
	// bucket of Burst tokens refilled at Rate/Period, but one timestamp of
	// state per key.
	GCRA Strategy = "gcra"
	// SlidingWindow approximates "at most Rate requests in any Period" by
	// weighting the previous fixed window's count by how much of it still
	// overlaps the sliding one. Two counters of state per key.
	SlidingWindow Strategy = "sliding_window"
)

// Limit is one rate limit. Keys are chosen by the caller (a client IP, a
// tenant id, an API key id); one Limit applies to each key separately.
type Limit struct {
	// Name identifies the limit in keys, headers and metrics:
	// [a-z0-9_-], at most 64 bytes.
	Name     string
	Strategy Strategy
	// Rate requests are allowed per Period (Rate ≥ 1, Period ≥ 1ms).
	Rate   int64
	Period time.Duration
	// Burst is how many requests GCRA admits at once (≥ 1; 0 means Rate).
	// SlidingWindow ignores it: its burst is Rate.
	Burst int64
}

// Result is the outcome of one check.
type Result struct {
	Allowed bool
	// Quota is the most a key can have available: Burst for GCRA, Rate for
	// SlidingWindow (the "q" of the RateLimit-Policy header).
	Quota int64
	// Remaining is how many more cost-1 requests would be allowed right
	// now, after this one (≥ 0).
	Remaining int64
	// ResetAfter is how long until the key is back to its full quota if
	// nothing more is consumed (the "t" of the RateLimit header).
	ResetAfter time.Duration
	// RetryAfter is, when not allowed, how long until the same request
	// would be allowed; 0 when allowed.
	RetryAfter time.Duration
}

// Backend stores the state of limits and decides atomically.
type Backend interface {
	// Allow consumes cost (≥ 1) from key under l at now, if the key has
	// that much available; a denied request consumes nothing. now is the
	// caller's clock so that tests control time; a backend may document
	// that it uses its own clock instead. Errors: Invalid
	// "invalid_limit"/"invalid_cost" for a malformed limit, key or cost, or
	// a cost above the quota (it could never be allowed); Unavailable when
	// the backing store cannot be reached.
	Allow(ctx context.Context, l Limit, key string, cost int64, now time.Time) (Result, error)
	// Peek returns the Result that Allow(ctx, l, key, 1, now) would return
	// — whether one more request would be allowed now, and what would
	// remain — without consuming or storing anything. It is for counts of
	// outcomes known only after the request has run (failed sign-ins):
	// peek before, Allow once the outcome says to count. Errors as Allow's.
	Peek(ctx context.Context, l Limit, key string, now time.Time) (Result, error)
	// Reset forgets key under l, so that its next request finds the full
	// quota. Resetting a key never seen is not an error. Errors: Invalid
	// for a malformed limit or key; Unavailable as Allow's.
	Reset(ctx context.Context, l Limit, key string) error
}
