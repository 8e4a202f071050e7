// Package redis is the Redis backend of ratelimit: every check is one atomic
// Lua script, one round trip, so any number of Tollgate instances share one
// limit per key.
//
// Why not github.com/go-redis/redis_rate: it implements GCRA only (no
// sliding window, so it could not pass the ratelimit conformance suite); its
// scripts always read the server's TIME, so tests cannot drive the clock;
// and it computes in floating-point seconds, so it cannot agree to the
// nanosecond with ratelimit.DecideGCRA. (Its keys are "<prefix><key>" with
// no hash tag. With one key per check that is harmless on Cluster; the hash
// tag here is for keeping any future per-key keys on one slot.)
//
// Each check is one EVALSHA (EVAL on a cold script cache) of a script that
// reads the key's state, decides exactly as ratelimit.DecideGCRA or
// DecideWindow would, writes the new state with a TTL and replies with the
// state it read; Allow then derives the Result from the Go functions
// themselves, so Remaining, ResetAfter and RetryAfter cannot drift from
// Local. A peek runs the same script with a flag that stops it writing; a
// reset is one DEL. Units: nanoseconds throughout, carried in the scripts as
// two exact limbs because Lua numbers are doubles (see scripts.go).
package redis

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/tollgate/tollgate/cursor"
	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/ratelimit"
)

// Options configure a Backend.
type Options struct {
	// Prefix starts every key (default "tollgate"), so that one Redis can
	// serve several deployments.
	Prefix string
	// UseServerTime makes the scripts read Redis's own clock (TIME) and
	// ignore the now passed to Allow, so that instances with skewed clocks
	// agree. Production should set it; tests leave it false to control
	// time.
	UseServerTime bool
}

// Backend is a ratelimit.Backend on Redis (standalone, Sentinel or Cluster).
type Backend struct {
	client     goredis.UniversalClient
	prefix     string
	serverTime bool
}

var _ ratelimit.Backend = (*Backend)(nil)

// New returns a Backend using client, which the caller owns and closes.
func New(client goredis.UniversalClient, opts Options) *Backend {
	if opts.Prefix == "" {
		opts.Prefix = "tollgate"
	}
	return &Backend{client: client, prefix: opts.Prefix, serverTime: opts.UseServerTime}
}

// Key returns the Redis key holding the state of key under the limit named
// name. The whole key is one hash tag, so that everything about one key —
// today one string or one hash, tomorrow perhaps more — lands on one Cluster
// slot. (A "}" inside key ends the tag early; the slot is still a function
// of the key alone, which is all that matters.)
func (b *Backend) Key(name, key string) string {
	return "{" + b.prefix + ":" + name + ":" + key + "}"
}

// Allow implements ratelimit.Backend. With UseServerTime, now is ignored and
// Redis's clock is used instead; otherwise now must not be before 1970.
func (b *Backend) Allow(ctx context.Context, l ratelimit.Limit, key string, cost int64, now time.Time) (ratelimit.Result, error) {
	return b.run(ctx, l, key, cost, now, "0")
}

// Peek implements ratelimit.Backend: the same script as Allow with cost 1,
// told to write nothing. now is as for Allow.
func (b *Backend) Peek(ctx context.Context, l ratelimit.Limit, key string, now time.Time) (ratelimit.Result, error) {
	return b.run(ctx, l, key, 1, now, "1")
}

// Reset implements ratelimit.Backend: one DEL of the key's one Redis key
// (atomic on its own; a script would add nothing).
func (b *Backend) Reset(ctx context.Context, l ratelimit.Limit, key string) error {
	if err := l.Validate(); err != nil {
		return err
	}
	if err := ratelimit.ValidateKey(key); err != nil {
		return err
	}
	if err := b.client.Del(ctx, b.Key(l.Name, key)).Err(); err != nil {
		return classify(err)
	}
	return nil
}

// run runs the script of l's strategy; peek is "1" for a peek, "0" for a
// check.
func (b *Backend) run(ctx context.Context, l ratelimit.Limit, key string, cost int64, now time.Time, peek string) (ratelimit.Result, error) {
	if err := ratelimit.ValidateRequest(l, key, cost); err != nil {
		return ratelimit.Result{}, err
	}
	var nowNS int64
	if !b.serverTime {
		if nowNS = now.UnixNano(); nowNS < 0 {
			return ratelimit.Result{}, fault.Invalidf("now", cursor.CodeInvalidLimit, "now must not be before 1970")
		}
	}
	st := "0"
	if b.serverTime {
		st = "1"
	}
	keys := []string{b.Key(l.Name, key)}

	switch l.Strategy {
	case ratelimit.GCRA:
		inc, tau := l.GCRASpans(cost)
		v, err := gcraScript.Run(ctx, b.client, keys, st, nowNS/nano, nowNS%nano,
			inc/nano, inc%nano, tau/nano, tau%nano, peek).Int64Slice()
		if err != nil {
			return ratelimit.Result{}, classify(err)
		}
		if len(v) != 5 {
			return ratelimit.Result{}, badReply(len(v))
		}
		_, r := ratelimit.DecideGCRA(l, v[3]*nano+v[4], v[1]*nano+v[2], cost)
		if r.Allowed != (v[0] == 1) {
			return ratelimit.Result{}, disagree(l, r.Allowed)
		}
		return r, nil

	case ratelimit.SlidingWindow:
		p := int64(l.Period)
		v, err := windowScript.Run(ctx, b.client, keys, st, nowNS/nano, nowNS%nano,
			p, l.Rate, cost, peek).Int64Slice()
		if err != nil {
			return ratelimit.Result{}, classify(err)
		}
		if len(v) != 6 {
			return ratelimit.Result{}, badReply(len(v))
		}
		s := ratelimit.WindowState{Start: v[3] * p, Prev: v[4], Curr: v[5]}
		_, r := ratelimit.DecideWindow(l, s, v[1]*nano+v[2], cost)
		if r.Allowed != (v[0] == 1) {
			return ratelimit.Result{}, disagree(l, r.Allowed)
		}
		return r, nil
	}
	// Unreachable: ValidateRequest checked the strategy.
	return ratelimit.Result{}, fault.Invalidf("strategy", cursor.CodeInvalidLimit, "unknown strategy %q", string(l.Strategy))
}

const nano = int64(time.Second)

func badReply(n int) error {
	return fault.Wrap(fault.Internal, ratelimit.CodeRatelimitBackendError,
		fmt.Errorf("ratelimit/redis: script replied with %d values", n))
}

// disagree reports a script whose decision differs from the Go math: a bug
// in one of them, never a client's fault.
func disagree(l ratelimit.Limit, goAllowed bool) error {
	return fault.Wrap(fault.Internal, ratelimit.CodeRatelimitBackendError,
		fmt.Errorf("ratelimit/redis: %s script and Go math disagree (Go allowed=%v)", l.Strategy, goAllowed))
}

// classify turns a go-redis error into a fault: anything that is not a reply
// from a healthy server (dial and I/O errors, timeouts, a closed client or
// pool, a server still loading or without a master) means the store cannot
// be reached now; a genuine error reply (a script bug) is Internal.
func classify(err error) error {
	var re goredis.Error
	if errors.As(err, &re) {
		msg := re.Error()
		for _, p := range []string{"LOADING", "READONLY", "MASTERDOWN", "CLUSTERDOWN", "TRYAGAIN", "BUSY"} {
			if strings.HasPrefix(msg, p) {
				return fault.Wrap(fault.Unavailable, ratelimit.CodeRatelimitUnavailable, err)
			}
		}
		return fault.Wrap(fault.Internal, ratelimit.CodeRatelimitBackendError, err)
	}
	return fault.Wrap(fault.Unavailable, ratelimit.CodeRatelimitUnavailable, err)
}
