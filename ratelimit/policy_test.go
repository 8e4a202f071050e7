package ratelimit_test

import (
	"strings"
	"testing"
	"time"

	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/ratelimit"
)

// gcra and window build the Limit a spec should parse to.
func gcra(name string, rate int64, period time.Duration, burst int64) ratelimit.Limit {
	return ratelimit.Limit{Name: name, Strategy: ratelimit.GCRA, Rate: rate, Period: period, Burst: burst}
}

func window(name string, rate int64, period time.Duration) ratelimit.Limit {
	return ratelimit.Limit{Name: name, Strategy: ratelimit.SlidingWindow, Rate: rate, Period: period}
}

// validSpecs are specs that parse, with the Policy and the canonical form
// (String) they must give. They also seed FuzzParsePolicy.
var validSpecs = []struct {
	spec      string
	want      ratelimit.Policy
	canonical string
}{
	{"100/1m", ratelimit.Policy{Limit: gcra("api", 100, time.Minute, 0)}, "100/1m"},
	{"1000/m sliding_window", ratelimit.Policy{Limit: window("api", 1000, time.Minute)}, "1000/1m sliding_window"},
	{"10/1m burst=5 fail=closed", ratelimit.Policy{Limit: gcra("api", 10, time.Minute, 5), FailClosed: true}, "10/1m burst=5 fail=closed"},
	{"5/1h gcra fail=open", ratelimit.Policy{Limit: gcra("api", 5, time.Hour, 0)}, "5/1h"},
	{"off", ratelimit.Policy{Limit: ratelimit.Limit{Name: "api", Strategy: ratelimit.GCRA}, Off: true}, "off"},
	// Periods.
	{"1/1ms", ratelimit.Policy{Limit: gcra("api", 1, time.Millisecond, 0)}, "1/1ms"},
	{"3/90s", ratelimit.Policy{Limit: gcra("api", 3, 90*time.Second, 0)}, "3/90s"},
	{"3/1m30s", ratelimit.Policy{Limit: gcra("api", 3, 90*time.Second, 0)}, "3/90s"},
	{"7/1h", ratelimit.Policy{Limit: gcra("api", 7, time.Hour, 0)}, "7/1h"},
	{"7/60m", ratelimit.Policy{Limit: gcra("api", 7, time.Hour, 0)}, "7/1h"},
	{"7/24h", ratelimit.Policy{Limit: gcra("api", 7, 24*time.Hour, 0)}, "7/24h"},
	{"7/1440m", ratelimit.Policy{Limit: gcra("api", 7, 24*time.Hour, 0)}, "7/24h"},
	{"9/s", ratelimit.Policy{Limit: gcra("api", 9, time.Second, 0)}, "9/1s"},
	{"9/h", ratelimit.Policy{Limit: gcra("api", 9, time.Hour, 0)}, "9/1h"},
	{"9/1500ms", ratelimit.Policy{Limit: gcra("api", 9, 1500*time.Millisecond, 0)}, "9/1500ms"},
	{"9/1.5s", ratelimit.Policy{Limit: gcra("api", 9, 1500*time.Millisecond, 0)}, "9/1500ms"},
	{"9/1500us", ratelimit.Policy{Limit: gcra("api", 9, 1500*time.Microsecond, 0)}, "9/1.5ms"},
	// Bounds.
	{"1000000000/24h", ratelimit.Policy{Limit: gcra("api", ratelimit.MaxRate, 24*time.Hour, 0)}, "1000000000/24h"},
	{"1/1s burst=1000000000", ratelimit.Policy{Limit: gcra("api", 1, time.Second, ratelimit.MaxBurst)}, "1/1s burst=1000000000"},
	// Options in any order; defaults written out are dropped from the
	// canonical form.
	{"10/1m fail=closed burst=5 gcra", ratelimit.Policy{Limit: gcra("api", 10, time.Minute, 5), FailClosed: true}, "10/1m burst=5 fail=closed"},
	{"10/1m fail=closed sliding_window", ratelimit.Policy{Limit: window("api", 10, time.Minute), FailClosed: true}, "10/1m sliding_window fail=closed"},
	{"10/1m burst=10", ratelimit.Policy{Limit: gcra("api", 10, time.Minute, 10)}, "10/1m burst=10"},
	// Whitespace.
	{"  100/1m  ", ratelimit.Policy{Limit: gcra("api", 100, time.Minute, 0)}, "100/1m"},
	{"100/1m\tsliding_window", ratelimit.Policy{Limit: window("api", 100, time.Minute)}, "100/1m sliding_window"},
	{"\n10/1m   burst=5\t fail=closed \r\n", ratelimit.Policy{Limit: gcra("api", 10, time.Minute, 5), FailClosed: true}, "10/1m burst=5 fail=closed"},
	{" off\t", ratelimit.Policy{Limit: ratelimit.Limit{Name: "api", Strategy: ratelimit.GCRA}, Off: true}, "off"},
	// Exactly MaxSpecLen bytes is still accepted.
	{"100/1m" + strings.Repeat(" ", ratelimit.MaxSpecLen-len("100/1m")), ratelimit.Policy{Limit: gcra("api", 100, time.Minute, 0)}, "100/1m"},
}

// invalidSpecs must each be refused as Invalid.
var invalidSpecs = []struct {
	name, spec string
}{
	{"api", ""},
	{"api", " \t\n"},
	{"api", "100/1m" + strings.Repeat(" ", ratelimit.MaxSpecLen-len("100/1m")+1)},
	{"api", strings.Repeat("1", ratelimit.MaxSpecLen+1) + "/1m"},
	{"api", "100"},
	{"api", "100 /1m"},
	{"api", "/1m"},
	{"api", "100/"},
	{"api", "x/1m"},
	{"api", "1.5/1m"},
	{"api", "100/xyz"},
	{"api", "100/1"},
	{"api", "100/ms"},
	{"api", "0/1m"},
	{"api", "-1/1m"},
	{"api", "1000000001/1s"},
	{"api", "99999999999999999999/1s"},
	{"api", "1/999us"},
	{"api", "1/0s"},
	{"api", "1/-1m"},
	{"api", "1/24h0m0.000000001s"},
	{"api", "1/25h"},
	{"api", "100/1m burst=0"},
	{"api", "100/1m burst=-1"},
	{"api", "100/1m burst=x"},
	{"api", "100/1m burst="},
	{"api", "100/1m burst"},
	{"api", "100/1m burst=1000000001"},
	{"api", "100/1m sliding_window burst=5"},
	{"api", "100/1m burst=5 sliding_window"},
	{"api", "100/1m foo"},
	{"api", "100/1m leaky_bucket"},
	{"api", "100/1m GCRA"},
	{"api", "100/1m gcra=false"},
	{"api", "100/1m sliding_window=no"},
	{"api", "100/1m burst=5 burst=6"},
	{"api", "100/1m burst=5 burst=5"},
	{"api", "100/1m gcra sliding_window"},
	{"api", "100/1m gcra gcra"},
	{"api", "100/1m fail=open fail=closed"},
	{"api", "100/1m fail=maybe"},
	{"api", "100/1m fail="},
	{"api", "100/1m fail"},
	{"api", "100/1m fail=CLOSED"},
	{"api", "off off"},
	{"api", "off fail=closed"},
	{"api", "OFF"},
	// Bad names, with a spec and with off.
	{"", "100/1m"},
	{"Api", "100/1m"},
	{"a b", "100/1m"},
	{"a.b", "100/1m"},
	{strings.Repeat("a", ratelimit.MaxNameLen+1), "100/1m"},
	{"", "off"},
	{"API", "off"},
}

func TestParsePolicyValid(t *testing.T) {
	for _, c := range validSpecs {
		p, err := ratelimit.ParsePolicy("api", c.spec)
		if err != nil {
			t.Errorf("ParsePolicy(%q): %v", c.spec, err)
			continue
		}
		if p != c.want {
			t.Errorf("ParsePolicy(%q) = %+v, want %+v", c.spec, p, c.want)
		}
		if s := p.String(); s != c.canonical {
			t.Errorf("ParsePolicy(%q).String() = %q, want %q", c.spec, s, c.canonical)
		}
	}
}

func TestParsePolicyInvalid(t *testing.T) {
	for _, c := range invalidSpecs {
		p, err := ratelimit.ParsePolicy(c.name, c.spec)
		if err == nil {
			t.Errorf("ParsePolicy(%q, %q) = %+v, want an error", c.name, c.spec, p)
			continue
		}
		if k := fault.KindOf(err); k != fault.Invalid {
			t.Errorf("ParsePolicy(%q, %q): kind %v (%v), want invalid", c.name, c.spec, k, err)
		}
	}
}

func TestParsePolicyErrorFields(t *testing.T) {
	for _, c := range []struct {
		name, spec, field, code string
	}{
		{"api", "100/1m fail=maybe", "rate_limit", "invalid_rate_limit"},
		{"api", "", "rate_limit", "invalid_rate_limit"},
		{"api", "0/1m", "rate_limit", "invalid_rate_limit"},
		{"api", "1/25h", "rate_limit", "invalid_rate_limit"},
		{"Bad", "100/1m", "rate_limit", "invalid_rate_limit"},
		{"Bad", "off", "rate_limit", "invalid_rate_limit"},
	} {
		_, err := ratelimit.ParsePolicy(c.name, c.spec)
		fe, ok := err.(*fault.Error)
		if !ok {
			t.Errorf("ParsePolicy(%q, %q): %T %v, want *fault.Error", c.name, c.spec, err, err)
			continue
		}
		if fe.Field != c.field || string(fe.Code) != c.code || fe.Detail == "" {
			t.Errorf("ParsePolicy(%q, %q): field %q code %q detail %q, want field %q code %q and a detail",
				c.name, c.spec, fe.Field, fe.Code, fe.Detail, c.field, c.code)
		}
	}
}

func TestPolicyStringRoundTrip(t *testing.T) {
	policies := []ratelimit.Policy{
		{Off: true, Limit: ratelimit.Limit{Name: "tenant", Strategy: ratelimit.GCRA}},
		{Limit: gcra("tenant", 1, time.Millisecond, 0)},
		{Limit: gcra("tenant", 1, time.Millisecond+time.Nanosecond, 0)},
		{Limit: gcra("x-y_z9", 3, 7*time.Second+3, 2), FailClosed: true},
		{Limit: gcra("a", ratelimit.MaxRate, 24*time.Hour, ratelimit.MaxBurst), FailClosed: true},
		{Limit: window("search", 10, 90*time.Second)},
		{Limit: window("search", 10, 23*time.Hour+59*time.Minute+59*time.Second+999999999), FailClosed: true},
	}
	for _, c := range validSpecs {
		policies = append(policies, c.want)
	}
	for _, p := range policies {
		s := p.String()
		if len(s) > ratelimit.MaxSpecLen {
			t.Errorf("%+v: String() %q is longer than MaxSpecLen", p, s)
		}
		got, err := ratelimit.ParsePolicy(p.Limit.Name, s)
		if err != nil {
			t.Errorf("%+v: ParsePolicy(String() = %q): %v", p, s, err)
			continue
		}
		if got != p {
			t.Errorf("ParsePolicy(%q) = %+v, want %+v", s, got, p)
		}
	}
}

func TestFormatPeriod(t *testing.T) {
	for _, c := range []struct {
		d    time.Duration
		want string
	}{
		{time.Millisecond, "1ms"},
		{999 * time.Millisecond, "999ms"},
		{1500 * time.Millisecond, "1500ms"},
		{time.Second, "1s"},
		{90 * time.Second, "90s"},
		{time.Minute, "1m"},
		{15 * time.Minute, "15m"},
		{61 * time.Minute, "61m"},
		{150 * time.Minute, "150m"},
		{time.Hour, "1h"},
		{24 * time.Hour, "24h"},
		{48 * time.Hour, "48h"},
		{1500 * time.Microsecond, "1.5ms"},
		{time.Nanosecond, "1ns"},
		{time.Second + time.Nanosecond, "1.000000001s"},
		{0, "0s"},
		{-time.Minute, "-1m0s"},
	} {
		if got := ratelimit.FormatPeriod(c.d); got != c.want {
			t.Errorf("FormatPeriod(%v) = %q, want %q", c.d, got, c.want)
		}
		if c.d > 0 {
			if back, err := time.ParseDuration(ratelimit.FormatPeriod(c.d)); err != nil || back != c.d {
				t.Errorf("FormatPeriod(%v) = %q parses back as %v, %v", c.d, ratelimit.FormatPeriod(c.d), back, err)
			}
		}
	}
}

func TestLimitWindow(t *testing.T) {
	for _, c := range []struct {
		l    ratelimit.Limit
		want time.Duration
	}{
		// GCRA: Quota × Interval.
		{gcra("g", 100, time.Minute, 0), time.Minute},                       // 100 × 600ms
		{gcra("g", 100, time.Minute, 5), 3 * time.Second},                   // 5 × 600ms
		{gcra("g", 10, time.Second, 50), 5 * time.Second},                   // burst above rate: 50 × 100ms
		{gcra("g", 3, time.Second, 0), 999999999},                           // interval rounds down to 333333333ns
		{gcra("g", 1_000_000_000, time.Millisecond, 0), 1e9},                // interval at least 1ns
		{gcra("g", 1, 24*time.Hour, 1_000_000_000), time.Duration(1 << 61)}, // saturates
		// Sliding window: the period, whatever the burst.
		{window("w", 10, time.Minute), time.Minute},
		{window("w", 7, 1500*time.Millisecond), 1500 * time.Millisecond},
		{ratelimit.Limit{Name: "w", Strategy: ratelimit.SlidingWindow, Rate: 10, Period: time.Hour, Burst: 3}, time.Hour},
	} {
		if got := c.l.Window(); got != c.want {
			t.Errorf("%+v: Window() = %v, want %v", c.l, got, c.want)
		}
	}
}

func FuzzParsePolicy(f *testing.F) {
	for _, c := range validSpecs {
		f.Add("api", c.spec)
	}
	for _, c := range invalidSpecs {
		f.Add(c.name, c.spec)
	}
	f.Add("tenant", "100/1m sliding_window fail=closed")
	f.Add("a", "1/1h30m15s burst=7")
	f.Add("a", "+5/+1m")
	f.Fuzz(func(t *testing.T, name, spec string) {
		p, err := ratelimit.ParsePolicy(name, spec)
		if err != nil {
			if k := fault.KindOf(err); k != fault.Invalid {
				t.Fatalf("ParsePolicy(%q, %q): kind %v (%v), want invalid", name, spec, k, err)
			}
			return
		}
		if p.Limit.Name != name {
			t.Fatalf("ParsePolicy(%q, %q): name %q", name, spec, p.Limit.Name)
		}
		if !p.Off {
			if err := p.Limit.Validate(); err != nil {
				t.Fatalf("ParsePolicy(%q, %q) = %+v, whose limit does not validate: %v", name, spec, p, err)
			}
		}
		s := p.String()
		if len(s) > ratelimit.MaxSpecLen {
			t.Fatalf("ParsePolicy(%q, %q): String() %q longer than MaxSpecLen", name, spec, s)
		}
		again, err := ratelimit.ParsePolicy(name, s)
		if err != nil {
			t.Fatalf("ParsePolicy(%q, %q) = %+v, but its String() %q does not parse: %v", name, spec, p, s, err)
		}
		if again != p {
			t.Fatalf("ParsePolicy(%q, %q) = %+v, but its String() %q parses as %+v", name, spec, p, s, again)
		}
		if s2 := again.String(); s2 != s {
			t.Fatalf("String() is not canonical: %q, then %q", s, s2)
		}
	})
}
