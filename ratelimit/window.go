package ratelimit

import (
	"math/bits"
	"time"
)

// WindowState is the sliding-window state of one key. Start is the start of
// the window Curr counts, in nanoseconds since the Unix epoch: a multiple
// of Period (windows are aligned to the epoch, so every key and every
// backend agree on them). Prev is the count of the window before it. The
// zero value is a key never seen.
type WindowState struct {
	Start      int64
	Prev, Curr int64
}

// maxCount bounds the counts DecideWindow accepts (larger ones are treated
// as maxCount); real counts never exceed Rate ≤ MaxRate.
const maxCount int64 = 1 << 40

// DecideWindow is the sliding-window decision on plain values; Local and the
// Redis script compute exactly this. now is in nanoseconds since the Unix
// epoch and cost ≥ 1. It returns the state to store (rolled forward to
// now's window even when the request is denied; the counts only grow when
// it is allowed) and the Result. With P = Period:
//
//	ws = ⌊now/P⌋×P                         (now's window, floor division)
//	roll: if s.Start < ws:
//	        Prev = Curr if s.Start+P == ws, else 0;  Curr = 0;  Start = ws
//	      if s.Start > ws (a caller's clock behind the one that rolled):
//	        the decision is made at s.Start, and RetryAfter and ResetAfter
//	        are measured from the caller's now (so they include the skew)
//	e         = max(now, Start) − Start    (0 ≤ e < P)
//	weighted  = ⌊Prev×(P−e)/P⌋             (exact, 128-bit product)
//	estimated = weighted + Curr
//	allowed   = estimated + cost ≤ Rate;   if allowed: Curr += cost, estimated += cost
//	Remaining = max(0, Rate − estimated)
//	ResetAfter = Start+2P−now if Curr > 0; else Start+P−now if Prev > 0; else 0
//	RetryAfter = 0 when allowed, else max(1ms, d) for the smallest d > 0
//	             at which the request fits (see windowRetry)
func DecideWindow(l Limit, s WindowState, now, cost int64) (WindowState, Result) {
	p := int64(l.Period)
	ws := now - now%p
	if now%p < 0 {
		ws -= p
	}
	s.Prev = clampCount(s.Prev)
	s.Curr = clampCount(s.Curr)
	switch {
	case s.Start < ws:
		if s.Start+p == ws {
			s.Prev = s.Curr
		} else {
			s.Prev = 0
		}
		s.Curr = 0
		s.Start = ws
	}
	var e, skew int64
	if now < s.Start {
		skew = s.Start - now
	} else {
		e = now - s.Start
	}
	est := mulDivFloor(s.Prev, p-e, p) + s.Curr
	r := Result{Quota: l.Rate}
	if est+cost <= l.Rate {
		r.Allowed = true
		s.Curr += cost
		est += cost
	} else {
		d := windowRetry(l.Rate, p, e, s.Prev, s.Curr, cost) + skew
		r.RetryAfter = time.Duration(max(d, int64(time.Millisecond)))
	}
	if est < l.Rate {
		r.Remaining = l.Rate - est
	}
	switch {
	case s.Curr > 0:
		r.ResetAfter = time.Duration(s.Start + 2*p - now)
	case s.Prev > 0:
		r.ResetAfter = time.Duration(s.Start + p - now)
	}
	return s, r
}

// windowRetry returns the smallest d > 0 such that a request of cost,
// denied at e into a window of length p with counts prev and curr, fits at
// e+d. The estimate never grows as time passes without consumption (the
// previous window's weight decays, and at a boundary the estimate drops
// from ⌊Prev×w⌋+Curr to Curr), so the first instant it fits is the answer:
//
//  1. Within this window, if room = rate−curr−cost ≥ 0 and prev > 0: fits
//     when ⌊prev×(p−e')/p⌋ ≤ room ⟺ prev×(p−e') < (room+1)×p ⟺
//     p−e' ≤ x = ⌈(room+1)×p/prev⌉−1. If x ≥ 1, e' = p−x and d = e'−e.
//  2. Otherwise in the next window, where curr becomes the previous count:
//     with room = rate−cost, x = ⌈(room+1)×p/curr⌉−1 (x = p if curr = 0);
//     d = (p−e) + max(0, p−x).
//
// A cost above rate never fits; it returns 2p−e, two windows on.
func windowRetry(rate, p, e, prev, curr, cost int64) int64 {
	if room := rate - curr - cost; room >= 0 && prev > 0 {
		if x := mulDivCeil(room+1, p, prev) - 1; x >= 1 {
			if x >= p-e { // fits already: only for inconsistent input
				return 1
			}
			return p - x - e
		}
	}
	room := rate - cost
	if room < 0 {
		return 2*p - e
	}
	x := p
	if curr > 0 {
		x = min(mulDivCeil(room+1, p, curr)-1, p)
	}
	return (p - e) + (p - x)
}

// IdleAt returns when a key with state s under a window of period is back
// to its full quota (its ResetAfter reaches 0): a state older than that can
// be dropped, and it is the TTL for a stored copy.
func (s WindowState) IdleAt(period time.Duration) int64 {
	switch p := int64(period); {
	case s.Curr > 0:
		return s.Start + 2*p
	case s.Prev > 0:
		return s.Start + p
	}
	return s.Start
}

func clampCount(n int64) int64 {
	return min(max(n, 0), maxCount)
}

// mulDivFloor returns ⌊a×b/c⌋ for a, b ≥ 0 and c > 0 without overflow in the
// product, saturating at MaxInt64.
func mulDivFloor(a, b, c int64) int64 {
	hi, lo := bits.Mul64(uint64(a), uint64(b))
	if hi >= uint64(c) {
		return 1<<63 - 1
	}
	q, _ := bits.Div64(hi, lo, uint64(c))
	if q > 1<<63-1 {
		return 1<<63 - 1
	}
	return int64(q)
}

// mulDivCeil returns ⌈a×b/c⌉ for a, b ≥ 0 and c > 0, saturating at
// MaxInt64.
func mulDivCeil(a, b, c int64) int64 {
	hi, lo := bits.Mul64(uint64(a), uint64(b))
	if hi >= uint64(c) {
		return 1<<63 - 1
	}
	q, rem := bits.Div64(hi, lo, uint64(c))
	if rem != 0 {
		q++
	}
	if q > 1<<63-1 {
		return 1<<63 - 1
	}
	return int64(q)
}
