package loginguard

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"time"

	"github.com/tollgate/tollgate/fault"
)

// Options tune the back-off.
type Options struct {
	// MaxAccountFailures is how many failures an account may have before
	// each further attempt must wait.
	MaxAccountFailures int
	// MaxIPFailures is the same per client IP; higher, because many people
	// can share one address.
	MaxIPFailures int
	// BaseDelay is the wait after the first failure past a threshold; it
	// doubles with every further failure up to MaxDelay.
	BaseDelay time.Duration
	MaxDelay  time.Duration
	// Window is how long a counter lives without new failures.
	Window time.Duration
}

// DefaultOptions are the documented defaults.
func DefaultOptions() Options {
	return Options{MaxAccountFailures: 5, MaxIPFailures: 20, BaseDelay: time.Second, MaxDelay: 15 * time.Minute, Window: time.Hour}
}

// Guard decides whether a login attempt may proceed.
type Guard struct {
	store Store
	opts  Options
	now   func() time.Time
}

// New returns a Guard. now may be nil (time.Now).
func New(store Store, opts Options, now func() time.Time) *Guard {
	if now == nil {
		now = time.Now
	}
	return &Guard{store: store, opts: opts, now: now}
}

// accountKey hashes the email so that the table does not collect the
// addresses attackers try.
func accountKey(email string) string {
	sum := sha256.Sum256([]byte(email))
	return "acct:" + hex.EncodeToString(sum[:16])
}

func ipKey(ip string) string { return "ip:" + ip }

// Check returns a RateLimited error with RetryAfter when the account or the
// IP must still wait. It fails closed: a store error refuses the login.
func (g *Guard) Check(ctx context.Context, email, ip string) error {
	now := g.now()
	wait := time.Duration(0)
	for _, k := range g.keys(email, ip) {
		c, err := g.store.GetFailures(ctx, k.key)
		if err != nil {
			return fault.Wrap(fault.Unavailable, "login_guard_unavailable", err)
		}
		if now.Sub(c.LastFailed) > g.opts.Window {
			continue
		}
		if w := g.delay(c.Failures, k.max) - now.Sub(c.LastFailed); w > wait {
			wait = w
		}
	}
	if wait > 0 {
		return &fault.Error{
			Kind: fault.RateLimited, Code: "too_many_login_attempts",
			Detail:     "too many failed sign-in attempts; wait before trying again",
			RetryAfter: wait.Round(time.Second) + time.Second/2,
		}
	}
	return nil
}

type limitKey struct {
	key string
	max int
}

func (g *Guard) keys(email, ip string) []limitKey {
	out := make([]limitKey, 0, 2)
	if email != "" {
		out = append(out, limitKey{accountKey(email), g.opts.MaxAccountFailures})
	}
	if ip != "" {
		out = append(out, limitKey{ipKey(ip), g.opts.MaxIPFailures})
	}
	return out
}

// delay is how long after the last failure the next attempt must wait.
func (g *Guard) delay(failures, max int) time.Duration {
	over := failures - max
	if over < 0 {
		return 0
	}
	d := g.opts.BaseDelay
	for i := 0; i < over && d < g.opts.MaxDelay; i++ {
		d *= 2
	}
	return min(d, g.opts.MaxDelay)
}

// Fail records a failed attempt against the account and the IP.
func (g *Guard) Fail(ctx context.Context, email, ip string) error {
	now := g.now()
	for _, k := range g.keys(email, ip) {
		if _, err := g.store.RecordFailure(ctx, k.key, now, g.opts.Window); err != nil {
			return fault.Wrap(fault.Unavailable, "login_guard_unavailable", err)
		}
	}
	return nil
}

// Succeed clears the account's counter. The IP's counter is kept: one
// correct password must not unlock guessing at other accounts.
func (g *Guard) Succeed(ctx context.Context, email string) error {
	return g.store.ResetFailures(ctx, accountKey(email))
}

// Sweep deletes counters that can no longer delay anyone.
func (g *Guard) Sweep(ctx context.Context) (int, error) {
	return g.store.DeleteStaleFailures(ctx, g.now().Add(-g.opts.Window-g.opts.MaxDelay))
}
