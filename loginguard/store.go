// Package loginguard slows down password guessing: it counts failed logins per
// account and per client IP and, past a threshold, makes the next attempt
// wait an exponentially growing time (answered with 429 and Retry-After).
package loginguard

import (
	"context"
	"time"
)

// Counter is the failure history of one key ("acct:<email>" or "ip:<addr>").
type Counter struct {
	Failures   int
	LastFailed time.Time
}

// Store persists failure counters so that every replica sees the same counts.
type Store interface {
	// GetFailures returns the counter for key, or a zero Counter.
	GetFailures(ctx context.Context, key string) (Counter, error)
	// RecordFailure atomically increments key's counter, resetting it first
	// when its last failure is older than window, and returns the new value.
	RecordFailure(ctx context.Context, key string, at time.Time, window time.Duration) (Counter, error)
	// ResetFailures deletes key's counter.
	ResetFailures(ctx context.Context, key string) error
	// DeleteStaleFailures removes counters last failed before cutoff.
	DeleteStaleFailures(ctx context.Context, cutoff time.Time) (int, error)
}
