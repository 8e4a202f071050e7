package ratelimit

import (
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/tollgate/tollgate/fault"
)

// Policy is a limit as an operator writes it: the Limit, or Off (no limit),
// and what to do when the backend cannot be reached.
type Policy struct {
	Limit Limit
	// Off means the limit is not applied at all.
	Off bool
	// FailClosed refuses requests while the backend is unavailable;
	// otherwise they are let through (and counted in a metric).
	FailClosed bool
}

// MaxSpecLen bounds a policy spec before it is parsed.
const MaxSpecLen = 128

// ParsePolicy reads a policy spec for the limit called name:
//
//	off
//	<rate>/<period> [gcra|sliding_window] [burst=<n>] [fail=open|closed]
//
// period is a Go duration ("1m", "90s", "1h") or a bare unit meaning one of
// it ("s", "m", "h"). The strategy defaults to gcra, the burst to rate and
// fail to open. Examples: "100/1m", "1000/m sliding_window",
// "10/1m burst=5 fail=closed".
func ParsePolicy(name, spec string) (Policy, error) {
	if len(spec) > MaxSpecLen {
		return Policy{}, specErr("a rate-limit spec is at most %d bytes", MaxSpecLen)
	}
	fields := strings.Fields(spec)
	if len(fields) == 0 {
		return Policy{}, specErr(`empty rate-limit spec; write "<rate>/<period>" such as "100/1m", or "off"`)
	}
	p := Policy{Limit: Limit{Name: name, Strategy: GCRA}}
	if len(fields) == 1 && fields[0] == "off" {
		p.Off = true
		return p, validName(name)
	}
	rate, period, ok := strings.Cut(fields[0], "/")
	if !ok {
		return Policy{}, specErr("%q is not <rate>/<period>, such as 100/1m", fields[0])
	}
	var err error
	if p.Limit.Rate, err = strconv.ParseInt(rate, 10, 64); err != nil {
		return Policy{}, specErr("rate %q is not a whole number", rate)
	}
	if p.Limit.Period, err = parsePeriod(period); err != nil {
		return Policy{}, err
	}
	seen := map[string]bool{}
	for _, opt := range fields[1:] {
		key, val, hasVal := strings.Cut(opt, "=")
		// Only the bare word names a strategy: "sliding_window=no" is not
		// a way to ask for a sliding window.
		if !hasVal && (key == string(GCRA) || key == string(SlidingWindow)) {
			key, val, hasVal = "strategy", key, true
		}
		if seen[key] {
			return Policy{}, specErr("%s is given twice", key)
		}
		seen[key] = true
		switch {
		case key == "strategy":
			p.Limit.Strategy = Strategy(val)
		case key == "burst" && hasVal:
			if p.Limit.Burst, err = strconv.ParseInt(val, 10, 64); err != nil || p.Limit.Burst < 1 {
				return Policy{}, specErr("burst %q is not a positive whole number", val)
			}
		case key == "fail" && (val == "open" || val == "closed"):
			p.FailClosed = val == "closed"
		case key == "fail":
			return Policy{}, specErr("fail must be open or closed, not %q", val)
		default:
			return Policy{}, specErr("unknown option %q; expected gcra, sliding_window, burst=<n> or fail=open|closed", opt)
		}
	}
	if p.Limit.Burst > 0 && p.Limit.Strategy == SlidingWindow {
		return Policy{}, specErr("burst applies to gcra only; a sliding window's burst is its rate")
	}
	if err := p.Limit.Validate(); err != nil {
		return Policy{}, asSpecErr(err)
	}
	return p, nil
}

func validName(name string) error {
	return asSpecErr(Limit{Name: name, Strategy: GCRA, Rate: 1, Period: time.Second}.Validate())
}

// asSpecErr reports a Limit's validation error against the spec, not
// against a field (rate, period) the caller never sent.
func asSpecErr(err error) error {
	var fe *fault.Error
	if errors.As(err, &fe) {
		return specErr("%s", fe.Detail)
	}
	return err
}

func specErr(format string, args ...any) error {
	return fault.Invalidf("rate_limit", CodeInvalidRateLimit, format, args...)
}

func parsePeriod(s string) (time.Duration, error) {
	switch s {
	case "s":
		return time.Second, nil
	case "m":
		return time.Minute, nil
	case "h":
		return time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, specErr("period %q is not a duration such as 1m, 90s or 1h", s)
	}
	return d, nil
}

// String is the canonical spec of p; ParsePolicy(name, p.String()) == p.
func (p Policy) String() string {
	if p.Off {
		return "off"
	}
	var b strings.Builder
	b.WriteString(strconv.FormatInt(p.Limit.Rate, 10))
	b.WriteByte('/')
	b.WriteString(FormatPeriod(p.Limit.Period))
	if p.Limit.Strategy != GCRA {
		b.WriteString(" " + string(p.Limit.Strategy))
	}
	if p.Limit.Burst > 0 {
		b.WriteString(" burst=" + strconv.FormatInt(p.Limit.Burst, 10))
	}
	if p.FailClosed {
		b.WriteString(" fail=closed")
	}
	return b.String()
}

// FormatPeriod writes d in the largest whole unit: 1h, 15m, 90s, 1500ms
// (d.String() when no unit divides it).
func FormatPeriod(d time.Duration) string {
	for _, u := range []struct {
		d      time.Duration
		suffix string
	}{{time.Hour, "h"}, {time.Minute, "m"}, {time.Second, "s"}, {time.Millisecond, "ms"}} {
		if d > 0 && d%u.d == 0 {
			return strconv.FormatInt(int64(d/u.d), 10) + u.suffix
		}
	}
	return d.String()
}

// Window is how long it takes an idle key to regain its whole quota: the
// "w" of the RateLimit-Policy header. For a sliding window it is the period;
// for GCRA it is the time to refill the burst at the limit's rate.
func (l Limit) Window() time.Duration {
	if l.Rate < 1 {
		return 0 // an Off policy's empty limit
	}
	if l.Strategy == GCRA {
		return time.Duration(satMul(l.Quota(), l.Interval()))
	}
	return l.Period
}
