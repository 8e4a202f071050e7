package ratelimit

import (
	"math/bits"
	"time"
)

// maxSpan caps every duration the decision math builds from a limit
// (2^61 ns, about 73 years). With now below 2^62 ns (the year 2116) no sum
// in the math overflows int64. Only absurd limits reach the cap — a burst
// window T×Quota over 73 years, such as 1 per day with a burst of 30,000 —
// and for them the cap acts as a smaller burst.
const maxSpan int64 = 1 << 61

// Interval is the GCRA emission interval T = Period/Rate in nanoseconds,
// rounded down, and at least 1ns. T×Rate can thus fall short of Period by
// up to Rate−1 ns; the Redis script must round the same way.
func (l Limit) Interval() int64 {
	t := int64(l.Period) / l.Rate
	if t < 1 {
		t = 1
	}
	return t
}

// DecideGCRA is the GCRA decision on plain values; Local and the Redis
// script compute exactly this. tat is the key's theoretical arrival time
// and now the current time, both in nanoseconds since the Unix epoch (0 for
// a key never seen); cost ≥ 1. It returns the tat to store, which equals
// the given one when the request is denied, and the Result.
//
// With T = Interval(), increment = T×cost, burst offset τ = T×Quota (both
// saturating at maxSpan) and backlog = max(tat, now) − now:
//
//	newBacklog = backlog + increment      (newTAT = now + newBacklog)
//	allowed    = newBacklog ≤ τ           (i.e. newTAT − τ ≤ now)
//	allowed:  tat' = now + newBacklog
//	          Remaining  = ⌊(τ − newBacklog)/T⌋
//	          ResetAfter = newBacklog
//	          RetryAfter = 0
//	denied:   tat' = tat
//	          Remaining  = max(0, ⌊(τ − backlog)/T⌋)
//	          ResetAfter = backlog
//	          RetryAfter = newBacklog − τ
//
// Working with backlog (relative to now) rather than absolute times keeps
// every intermediate value within [0, 2^62]. Absolute times in nanoseconds
// exceed 2^53, so a port to float64 arithmetic (Lua numbers) must subtract
// now before converting, or it loses exactness.
func DecideGCRA(l Limit, tat, now, cost int64) (newTAT int64, r Result) {
	t := l.Interval()
	inc, tau := l.GCRASpans(cost)
	var backlog int64
	if tat > now {
		backlog = tat - now
		if backlog < 0 || backlog > maxSpan { // overflow, or a far-future tat
			backlog = maxSpan
		}
	}
	nb := backlog + inc
	r.Quota = l.Quota()
	if nb <= tau {
		r.Allowed = true
		r.Remaining = (tau - nb) / t
		r.ResetAfter = time.Duration(nb)
		return now + nb, r
	}
	if backlog < tau {
		r.Remaining = (tau - backlog) / t
	}
	r.ResetAfter = time.Duration(backlog)
	r.RetryAfter = time.Duration(nb - tau)
	return tat, r
}

// satMul returns a×b for a, b ≥ 0, saturated at maxSpan (negative inputs
// count as 0).
func satMul(a, b int64) int64 {
	if a <= 0 || b <= 0 {
		return 0
	}
	hi, lo := bits.Mul64(uint64(a), uint64(b))
	if hi != 0 || lo > uint64(maxSpan) {
		return maxSpan
	}
	return int64(lo)
}

// GCRASpans returns the increment T×cost and the burst offset T×Quota in
// nanoseconds, saturated as DecideGCRA uses them, for backends that run the
// decision elsewhere (the Redis script) and must agree with it exactly.
func (l Limit) GCRASpans(cost int64) (increment, burstOffset int64) {
	t := l.Interval()
	return satMul(t, cost), satMul(t, l.Quota())
}
