package ratelimit

import (
	"math"
	"testing"
	"time"
)

const sec = int64(time.Second)

func TestDecideGCRA(t *testing.T) {
	l := Limit{Name: "t", Strategy: GCRA, Rate: 10, Period: time.Second, Burst: 5}
	T := int64(100 * time.Millisecond)
	now := int64(1_800_000_000) * sec
	for _, c := range []struct {
		name      string
		l         Limit
		tat, cost int64
		wantTAT   int64
		want      Result
	}{
		{"fresh", l, 0, 1, now + T, Result{Allowed: true, Quota: 5, Remaining: 4, ResetAfter: time.Duration(T)}},
		{"past tat", l, now - 10*sec, 1, now + T, Result{Allowed: true, Quota: 5, Remaining: 4, ResetAfter: time.Duration(T)}},
		{"last slot", l, now + 4*T, 1, now + 5*T, Result{Allowed: true, Quota: 5, Remaining: 0, ResetAfter: time.Duration(5 * T)}},
		{"full", l, now + 5*T, 1, now + 5*T, Result{Quota: 5, ResetAfter: time.Duration(5 * T), RetryAfter: time.Duration(T)}},
		{"cost", l, now + 2*T, 3, now + 5*T, Result{Allowed: true, Quota: 5, ResetAfter: time.Duration(5 * T)}},
		{"cost denied", l, now + 3*T, 3, now + 3*T, Result{Quota: 5, Remaining: 2, ResetAfter: time.Duration(3 * T), RetryAfter: time.Duration(T)}},
		{"tat beyond burst (limit shrank)", l, now + 9*T, 1, now + 9*T, Result{Quota: 5, ResetAfter: time.Duration(9 * T), RetryAfter: time.Duration(5 * T)}},
		{"far future tat", l, math.MaxInt64, 1, math.MaxInt64, Result{Quota: 5, ResetAfter: time.Duration(maxSpan), RetryAfter: time.Duration(maxSpan + T - 5*T)}},
		{"interval rounds down", Limit{Name: "t", Strategy: GCRA, Rate: 3, Period: time.Second}, 0, 1, now + 333333333, Result{Allowed: true, Quota: 3, Remaining: 2, ResetAfter: 333333333}},
		{"interval at least 1ns", Limit{Name: "t", Strategy: GCRA, Rate: 1e9, Period: time.Millisecond}, 0, 1, now + 1, Result{Allowed: true, Quota: 1e9, Remaining: 1e9 - 1, ResetAfter: 1}},
		{"saturated burst window", Limit{Name: "t", Strategy: GCRA, Rate: 1, Period: 24 * time.Hour, Burst: 1e9}, 0, 1, now + int64(24*time.Hour), Result{Allowed: true, Quota: 1e9, Remaining: (maxSpan - int64(24*time.Hour)) / int64(24*time.Hour), ResetAfter: 24 * time.Hour}},
	} {
		gotTAT, got := DecideGCRA(c.l, c.tat, now, c.cost)
		if gotTAT != c.wantTAT || got != c.want {
			t.Errorf("%s: got tat now%+d %+v, want now%+d %+v", c.name, gotTAT-now, got, c.wantTAT-now, c.want)
		}
	}
}

func TestDecideWindow(t *testing.T) {
	l := Limit{Name: "t", Strategy: SlidingWindow, Rate: 10, Period: time.Minute}
	P := int64(time.Minute)
	ws := int64(1_800_000_000) * sec // aligned
	for _, c := range []struct {
		name  string
		s     WindowState
		at    int64 // offset from ws
		cost  int64
		wantS WindowState
		want  Result
	}{
		{"fresh", WindowState{}, 10 * sec, 1, WindowState{ws, 0, 1}, Result{Allowed: true, Quota: 10, Remaining: 9, ResetAfter: 110 * time.Second}},
		{"roll to next", WindowState{ws - P, 3, 6}, 30 * sec, 1, WindowState{ws, 6, 1}, Result{Allowed: true, Quota: 10, Remaining: 6, ResetAfter: 90 * time.Second}},
		{"roll past two", WindowState{ws - 2*P, 3, 6}, 30 * sec, 1, WindowState{ws, 0, 1}, Result{Allowed: true, Quota: 10, Remaining: 9, ResetAfter: 90 * time.Second}},
		{"denied in window", WindowState{ws, 10, 3}, 15 * sec, 1, WindowState{ws, 10, 3}, Result{Quota: 10, ResetAfter: 105 * time.Second, RetryAfter: 3*time.Second + 1}},
		{"denied to next window", WindowState{ws, 0, 10}, 1 * sec, 1, WindowState{ws, 0, 10}, Result{Quota: 10, ResetAfter: 119 * time.Second, RetryAfter: 59*time.Second + 1}},
		{"only prev left", WindowState{ws - P, 0, 1}, 0, 10, WindowState{ws, 1, 0}, Result{Quota: 10, Remaining: 9, ResetAfter: time.Minute, RetryAfter: time.Millisecond}},
		{"clock behind", WindowState{ws + P, 0, 10}, 30 * sec, 1, WindowState{ws + P, 0, 10}, Result{Quota: 10, ResetAfter: 150 * time.Second, RetryAfter: 90*time.Second + 1}},
		{"negative now", WindowState{Start: -5 * P}, -ws - 1, 1, WindowState{-P, 0, 1}, Result{Allowed: true, Quota: 10, Remaining: 9, ResetAfter: time.Minute + 1}},
	} {
		gotS, got := DecideWindow(l, c.s, ws+c.at, c.cost)
		if gotS != c.wantS || got != c.want {
			t.Errorf("%s: got %+v %+v, want %+v %+v", c.name, gotS, got, c.wantS, c.want)
		}
	}
}

func TestWindowLargeValues(t *testing.T) {
	// prev × (P − e) overflows int64: 1e9 × 86,400e9.
	l := Limit{Name: "t", Strategy: SlidingWindow, Rate: 1e9, Period: 24 * time.Hour}
	P := int64(24 * time.Hour)
	// 1e9 × 0.75 = 750,000,000 weighs a quarter into the next window.
	s, r := DecideWindow(l, WindowState{Start: 0, Curr: 1e9}, P+P/4, 1)
	if s.Prev != 1e9 || !r.Allowed || r.Remaining != 249_999_999 {
		t.Fatalf("got %+v %+v", s, r)
	}
	if s, r = DecideWindow(l, s, P+P/4, 249_999_999); !r.Allowed || r.Remaining != 0 || s.Curr != 250_000_000 {
		t.Fatalf("got %+v %+v", s, r)
	}
}

// The retry from windowRetry is the first instant the request fits: a
// brute-force check over a small period.
func TestWindowRetryExhaustive(t *testing.T) {
	const p = 20
	for rate := int64(1); rate <= 6; rate++ {
		for prev := int64(0); prev <= rate; prev++ {
			for curr := int64(0); curr <= rate; curr++ {
				for cost := int64(1); cost <= rate; cost++ {
					for e := int64(0); e < p; e++ {
						fits := func(at int64) bool { // at is relative to the window start
							pv, cu := prev, curr
							if at >= p {
								pv, cu, at = curr, 0, at-p
							}
							if at >= p {
								pv = 0
							}
							return (pv*(p-at))/p+cu+cost <= rate
						}
						if fits(e) {
							continue
						}
						d := windowRetry(rate, p, e, prev, curr, cost)
						if !fits(e+d) || (d > 1 && fits(e+d-1)) {
							t.Fatalf("rate %d prev %d curr %d cost %d e %d: d %d", rate, prev, curr, cost, e, d)
						}
					}
				}
			}
		}
	}
}

func TestValidate(t *testing.T) {
	ok := Limit{Name: "a-b_1", Strategy: GCRA, Rate: 1, Period: time.Millisecond}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	if q := (Limit{Strategy: GCRA, Rate: 5, Burst: 2}).Quota(); q != 2 {
		t.Errorf("GCRA quota %d", q)
	}
	if q := (Limit{Strategy: GCRA, Rate: 5}).Quota(); q != 5 {
		t.Errorf("GCRA quota %d", q)
	}
	if q := (Limit{Strategy: SlidingWindow, Rate: 5, Burst: 9}).Quota(); q != 5 {
		t.Errorf("window quota %d", q)
	}
	if err := ValidateKey("é 192.0.2.1 {x}"); err != nil {
		t.Error(err)
	}
	if n := testing.AllocsPerRun(100, func() { _ = ValidateRequest(ok, "some-key", 1) }); n != 0 {
		t.Errorf("ValidateRequest allocates %v times", n)
	}
}

func FuzzGCRA(f *testing.F) {
	f.Add(int64(10), int64(1_000_000_000), int64(5), int64(0), int64(1), int64(0))
	f.Add(int64(1), int64(86_400_000_000_000), int64(1_000_000_000), int64(5), int64(3), int64(1))
	f.Fuzz(func(t *testing.T, rate, period, burst, tatOff, cost, step int64) {
		l := Limit{Name: "f", Strategy: GCRA, Rate: rate, Period: time.Duration(period), Burst: burst}
		if l.Validate() != nil || l.ValidateCost(cost) != nil {
			return
		}
		now := int64(1_800_000_000) * sec
		tat := now + tatOff%(1<<50)
		// Requests at one instant never get more than Quota in total.
		var used int64
		for i := 0; i < 64; i++ {
			newTAT, r := DecideGCRA(l, tat, now, cost)
			if r.Remaining < 0 || r.RetryAfter < 0 || r.ResetAfter < 0 || r.Quota != l.Quota() {
				t.Fatalf("bad result %+v", r)
			}
			if r.Allowed != (r.RetryAfter == 0) {
				t.Fatalf("Allowed %v with RetryAfter %v", r.Allowed, r.RetryAfter)
			}
			if !r.Allowed {
				if newTAT != tat {
					t.Fatalf("denied request moved tat")
				}
				// Allowed exactly at RetryAfter, not 1ns before.
				if _, r2 := DecideGCRA(l, tat, now+int64(r.RetryAfter), cost); !r2.Allowed {
					t.Fatalf("denied at RetryAfter %v", r.RetryAfter)
				}
				if _, r2 := DecideGCRA(l, tat, now+int64(r.RetryAfter)-1, cost); r2.Allowed {
					t.Fatalf("allowed 1ns before RetryAfter %v", r.RetryAfter)
				}
				break
			}
			if tatOff <= 0 {
				used += cost
				if used > l.Quota() {
					t.Fatalf("%d allowed at one instant, quota %d", used, l.Quota())
				}
			}
			tat = newTAT
		}
		_ = step
	})
}

func FuzzWindow(f *testing.F) {
	f.Add(int64(10), int64(60_000_000_000), int64(0), int64(0), int64(0), int64(1), int64(15_000_000_000))
	f.Add(int64(1_000_000_000), int64(86_400_000_000_000), int64(1_000_000_000), int64(7), int64(-1), int64(3), int64(1))
	f.Add(int64(999999968), int64(86_400_000_000_000), int64(1_000_000_000), int64(7), int64(34), int64(3), int64(1)) // clock behind the stored window
	f.Fuzz(func(t *testing.T, rate, period, prev, curr, startOff, cost, at int64) {
		l := Limit{Name: "f", Strategy: SlidingWindow, Rate: rate, Period: time.Duration(period)}
		if l.Validate() != nil || l.ValidateCost(cost) != nil {
			return
		}
		prev, curr = min(max(prev, 0), rate), min(max(curr, 0), rate)
		if curr > rate-0 && curr+prev > 2*rate {
			return
		}
		p := int64(l.Period)
		base := int64(1_800_000_000) * sec
		base -= base % p
		s := WindowState{Start: base + (startOff%3)*p, Prev: prev, Curr: curr}
		now := base + (at%p+p)%p
		var allowed int64
		fresh := prev == 0 && curr == 0
		for i := 0; i < 64; i++ {
			ns, r := DecideWindow(l, s, now, cost)
			if r.Remaining < 0 || r.RetryAfter < 0 || r.ResetAfter < 0 || r.Quota != rate {
				t.Fatalf("bad result %+v", r)
			}
			if ns.Start%p != 0 || ns.Curr < 0 || ns.Prev < 0 {
				t.Fatalf("bad state %+v", ns)
			}
			if !r.Allowed {
				if r.RetryAfter < time.Millisecond {
					t.Fatalf("RetryAfter %v below 1ms", r.RetryAfter)
				}
				if _, r2 := DecideWindow(l, ns, now+int64(r.RetryAfter), cost); !r2.Allowed {
					t.Fatalf("state %+v now %d: denied at RetryAfter %v", ns, now, r.RetryAfter)
				}
				if r.RetryAfter > time.Millisecond {
					if _, r2 := DecideWindow(l, ns, now+int64(r.RetryAfter)-1, cost); r2.Allowed {
						t.Fatalf("state %+v now %d: allowed 1ns before RetryAfter %v", ns, now, r.RetryAfter)
					}
				}
				break
			}
			allowed += cost
			if fresh && allowed > rate {
				t.Fatalf("%d allowed at one instant, rate %d", allowed, rate)
			}
			s = ns
		}
	})
}
