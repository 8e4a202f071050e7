package ratelimit

import (
	"time"
	"unicode/utf8"

	"github.com/tollgate/tollgate/cursor"
	"github.com/tollgate/tollgate/fault"
)

// Bounds on a Limit. They keep every product in the decision math within
// int64 nanoseconds once saturated (see gcra.go) and keys small enough to
// store by the million.
const (
	MaxNameLen = 64
	MaxKeyLen  = 256
	MaxRate    = 1_000_000_000
	MaxBurst   = 1_000_000_000
	MinPeriod  = time.Millisecond
	MaxPeriod  = 24 * time.Hour
)

// Validate reports whether l is well formed. Backends call it on every Allow;
// it does not allocate unless it fails.
func (l Limit) Validate() error {
	if n := len(l.Name); n < 1 || n > MaxNameLen {
		return fault.Invalidf("name", cursor.CodeInvalidLimit, "limit name must be 1 to %d bytes", MaxNameLen)
	}
	for i := 0; i < len(l.Name); i++ {
		c := l.Name[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '_' && c != '-' {
			return fault.Invalidf("name", cursor.CodeInvalidLimit, "limit name may contain only a-z, 0-9, _ and -")
		}
	}
	switch l.Strategy {
	case GCRA, SlidingWindow:
	default:
		return fault.Invalidf("strategy", cursor.CodeInvalidLimit, "unknown strategy %q", string(l.Strategy))
	}
	if l.Rate < 1 || l.Rate > MaxRate {
		return fault.Invalidf("rate", cursor.CodeInvalidLimit, "rate must be between 1 and %d", MaxRate)
	}
	if l.Period < MinPeriod || l.Period > MaxPeriod {
		return fault.Invalidf("period", cursor.CodeInvalidLimit, "period must be between %s and %s", MinPeriod, MaxPeriod)
	}
	if l.Burst < 0 || l.Burst > MaxBurst {
		return fault.Invalidf("burst", cursor.CodeInvalidLimit, "burst must be between 0 (meaning rate) and %d", MaxBurst)
	}
	return nil
}

// Quota is the most a key can have available at once: Burst (or Rate when
// Burst is 0) for GCRA, Rate for SlidingWindow.
func (l Limit) Quota() int64 {
	if l.Strategy == GCRA && l.Burst > 0 {
		return l.Burst
	}
	return l.Rate
}

// ValidateCost reports whether cost can ever be allowed under l: 1 ≤ cost ≤
// Quota. A larger cost is an error, not a denial, because no amount of
// waiting would admit it.
func (l Limit) ValidateCost(cost int64) error {
	if cost < 1 {
		return fault.Invalidf("cost", CodeInvalidCost, "cost must be at least 1")
	}
	if q := l.Quota(); cost > q {
		return fault.Invalidf("cost", CodeInvalidCost, "cost %d exceeds the quota %d of limit %q", cost, q, l.Name)
	}
	return nil
}

// ValidateKey reports whether key is usable as a rate-limit key: 1 to
// MaxKeyLen bytes without control characters (C0, DEL or C1), so that keys
// are safe in logs and in Redis key names.
func ValidateKey(key string) error {
	if n := len(key); n < 1 || n > MaxKeyLen {
		return fault.Invalidf("key", cursor.CodeInvalidLimit, "key must be 1 to %d bytes", MaxKeyLen)
	}
	for i := 0; i < len(key); {
		c := key[i]
		if c < utf8.RuneSelf {
			if c < 0x20 || c == 0x7f {
				return fault.Invalidf("key", cursor.CodeInvalidLimit, "key must not contain control characters")
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(key[i:])
		if r >= 0x80 && r <= 0x9f {
			return fault.Invalidf("key", cursor.CodeInvalidLimit, "key must not contain control characters")
		}
		i += size
	}
	return nil
}

// ValidateRequest runs every check a backend needs before deciding: the
// limit, the key, then the cost. Backends call it first in Allow.
func ValidateRequest(l Limit, key string, cost int64) error {
	if err := l.Validate(); err != nil {
		return err
	}
	if err := ValidateKey(key); err != nil {
		return err
	}
	return l.ValidateCost(cost)
}
