package ratelimit_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/ratelimit"
)

// signInTiers are the sign-in tiers at their documented defaults.
var signInTiers = map[string]string{
	ratelimit.TierLogin:          "10/1m burst=20 fail=closed",
	ratelimit.TierLoginAccount:   "50/1h burst=100 fail=closed",
	ratelimit.TierLoginAccountIP: "5/15m fail=closed",
}

// attempt is n sign-in attempts (1 when n is 0) with the right password or
// not, after the clock moved by after; want is "" when each must be
// admitted, else the tier that must refuse each.
type attempt struct {
	after       time.Duration
	ip, account string
	n           int
	right       bool
	want        string
	// retry, when set, is the Retry-After the refusal must carry.
	retry time.Duration
}

// signIn runs one attempt as session.Login does: BeginLogin, then (with no
// password to check) LoginSucceeded or LoginFailed.
func signIn(ctx context.Context, l *ratelimit.Limiter, a ratelimit.LoginAttempt, right bool) error {
	if err := l.BeginLogin(ctx, a); err != nil {
		return err
	}
	if right {
		l.LoginSucceeded(ctx, a)
	} else {
		l.LoginFailed(ctx, a)
	}
	return nil
}

// fromMany is n attempts at account from n/per addresses, per from each.
func fromMany(n, per int, account string) []attempt {
	out := make([]attempt, 0, n/per)
	for i := range n / per {
		out = append(out, attempt{ip: fmt.Sprintf("192.0.2.%d", i+1), account: account, n: per})
	}
	return out
}

func TestLoginTiers(t *testing.T) {
	const x, y, owner, other = "203.0.113.7", "198.51.100.20", "acct:owner", "acct:other"
	cases := []struct {
		name     string
		attempts []attempt
	}{
		{"eight colleagues behind one address all sign in, typos included", func() []attempt {
			var out []attempt
			for round := range 3 {
				for i := range 8 {
					acct := fmt.Sprintf("acct:colleague%d", i)
					if i == round {
						out = append(out, attempt{ip: x, account: acct, n: 2})
					}
					out = append(out, attempt{after: time.Second, ip: x, account: acct, right: true})
				}
			}
			return out
		}()},
		{"a CI job signs in 30 times a minute, and for an hour", []attempt{
			{ip: x, account: "acct:ci", n: 30, right: true},
			{after: time.Minute, ip: x, account: "acct:ci", n: 1800, right: true},
		}},
		{"a stranger's guesses do not lock the owner out of another address", []attempt{
			{ip: x, account: owner, n: 5},
			{ip: x, account: owner, want: ratelimit.TierLoginAccountIP, retry: 3 * time.Minute},
			{ip: y, account: owner, right: true},
			{ip: y, account: owner, n: 4},
			{ip: y, account: owner, right: true},
		}},
		{"five wrong guesses block that address, right password included, until one refills", []attempt{
			{ip: x, account: owner, n: 5},
			{ip: x, account: owner, want: ratelimit.TierLoginAccountIP},
			{ip: x, account: owner, right: true, want: ratelimit.TierLoginAccountIP, retry: 3 * time.Minute},
			{after: 3*time.Minute - time.Nanosecond, ip: x, account: owner, right: true, want: ratelimit.TierLoginAccountIP, retry: time.Nanosecond},
			{ip: x, account: other, n: 5}, // other accounts from there are not affected
			{after: time.Nanosecond, ip: x, account: owner, right: true},
			// The success forgave the pair's failures.
			{ip: x, account: owner, n: 5},
			{ip: x, account: owner, want: ratelimit.TierLoginAccountIP},
		}},
		{"a success resets the (account, address) pair and nothing else", []attempt{
			{ip: x, account: owner, n: 4},
			{ip: x, account: owner, right: true},
			{ip: x, account: owner, n: 4},
			{ip: x, account: owner, right: true},
			{ip: x, account: owner, n: 5},
			{ip: x, account: owner, right: true, want: ratelimit.TierLoginAccountIP},
			// 13 failures from x so far; 7 more reach the address's burst.
			{ip: x, account: other, n: 5},
			{ip: x, account: "acct:third", n: 2},
			{ip: x, account: "acct:third", right: true, want: ratelimit.TierLogin, retry: 6 * time.Second},
		}},
		{"guesses from many addresses reach the account-wide tier", append(fromMany(100, 5, owner),
			attempt{ip: "192.0.2.200", account: owner, want: ratelimit.TierLoginAccount, retry: 72 * time.Second},
			attempt{ip: y, account: owner, right: true, want: ratelimit.TierLoginAccount},
			attempt{ip: y, account: other, right: true},
			attempt{after: 72 * time.Second, ip: y, account: owner, right: true},
			// The success spent nothing and reset only its pair: the
			// refilled slot is one more guess for anyone, then the account
			// is exhausted again.
			attempt{ip: "192.0.2.201", account: owner},
			attempt{ip: "192.0.2.202", account: owner, want: ratelimit.TierLoginAccount},
		)},
		{"guesses at many accounts from one address reach the per-address tier", func() []attempt {
			var out []attempt
			for i := range 20 {
				out = append(out, attempt{ip: x, account: fmt.Sprintf("acct:sprayed%d", i)})
			}
			return append(out,
				attempt{ip: x, account: "acct:sprayed99", want: ratelimit.TierLogin, retry: 6 * time.Second},
				attempt{ip: x, account: owner, right: true, want: ratelimit.TierLogin},
				attempt{ip: y, account: owner, right: true},
				attempt{after: 6 * time.Second, ip: x, account: owner, right: true},
			)
		}()},
		{"without a client address only the account-wide tier applies", []attempt{
			{account: owner, n: 100},
			{account: owner, want: ratelimit.TierLoginAccount},
			{account: other, n: 50},
			{account: other, right: true},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newLimiterEnv(t, nil, signInTiers)
			ctx := context.Background()
			for i, a := range c.attempts {
				e.clock.Advance(a.after)
				for j := range max(a.n, 1) {
					err := signIn(ctx, e.l, ratelimit.LoginAttempt{Account: a.account, IP: a.ip}, a.right)
					denied := e.takeDenied()
					if a.want == "" {
						if err != nil || len(denied) != 0 {
							t.Fatalf("step %d, attempt %d (%+v): %v, denied %v; want admitted", i, j+1, a, err, denied)
						}
						continue
					}
					var ee *ratelimit.ExceededError
					if !errors.As(err, &ee) || !slices.Equal(ee.Policies, []string{a.want}) || !slices.Equal(denied, []string{a.want}) {
						t.Fatalf("step %d, attempt %d (%+v): %v, denied %v; want refused by %s", i, j+1, a, err, denied, a.want)
					}
					if a.retry != 0 && ee.RetryAfter != a.retry {
						t.Fatalf("step %d: Retry-After %v, want %v", i, ee.RetryAfter, a.retry)
					}
				}
			}
			if f := e.takeFailures(); len(f) != 0 {
				t.Fatalf("backend failures: %v", f)
			}
		})
	}
}

// TestLoginTiersBackendDown: with the counters unreachable, BeginLogin
// refuses as Unavailable under fail=closed and admits under fail=open;
// counting a failure or a success cannot fail the sign-in, and every
// failure is reported.
func TestLoginTiersBackendDown(t *testing.T) {
	open := map[string]string{
		ratelimit.TierLogin: "10/1m", ratelimit.TierLoginAccount: "100/1h", ratelimit.TierLoginAccountIP: "5/15m",
	}
	a := ratelimit.LoginAttempt{Account: "acct:owner", IP: "203.0.113.7"}
	cases := []struct {
		name     string
		policies map[string]string
		run      func(ctx context.Context, l *ratelimit.Limiter) error
		wantErr  bool
		failures []failure
	}{
		{"begin, fail=closed", signInTiers, func(ctx context.Context, l *ratelimit.Limiter) error { return l.BeginLogin(ctx, a) },
			true, []failure{{ratelimit.TierLogin, false}}},
		{"begin, fail=open", open, func(ctx context.Context, l *ratelimit.Limiter) error { return l.BeginLogin(ctx, a) },
			false, []failure{{ratelimit.TierLogin, true}, {ratelimit.TierLoginAccount, true}, {ratelimit.TierLoginAccountIP, true}}},
		{"failed", signInTiers, func(ctx context.Context, l *ratelimit.Limiter) error { l.LoginFailed(ctx, a); return nil },
			// The attempt was answered: nothing was refused for want of
			// the counters.
			false, []failure{{ratelimit.TierLogin, true}, {ratelimit.TierLoginAccount, true}}},
		{"succeeded", signInTiers, func(ctx context.Context, l *ratelimit.Limiter) error { l.LoginSucceeded(ctx, a); return nil },
			false, []failure{{ratelimit.TierLoginAccountIP, true}}},
		{"tiers off", map[string]string{ratelimit.TierLogin: "off", ratelimit.TierLoginAccount: "off", ratelimit.TierLoginAccountIP: "off"},
			func(ctx context.Context, l *ratelimit.Limiter) error {
				l.LoginFailed(ctx, a)
				l.LoginSucceeded(ctx, a)
				return l.BeginLogin(ctx, a)
			}, false, nil},
		{"tiers not configured", nil, func(ctx context.Context, l *ratelimit.Limiter) error {
			l.LoginFailed(ctx, a)
			l.LoginSucceeded(ctx, a)
			return l.BeginLogin(ctx, a)
		}, false, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := &stubBackend{}
			s.returns(ratelimit.Result{}, errDown)
			e := newLimiterEnv(t, s, c.policies)
			err := c.run(context.Background(), e.l)
			if c.wantErr != (err != nil) || err != nil && !isFault(err, fault.Unavailable, "ratelimit_unavailable") {
				t.Fatalf("err = %v, want an error: %v", err, c.wantErr)
			}
			if f := e.takeFailures(); !slices.Equal(f, c.failures) {
				t.Fatalf("failures %v, want %v", f, c.failures)
			}
			if d := e.takeDenied(); len(d) != 0 {
				t.Fatalf("denied %v", d)
			}
		})
	}
}

// ctxBackend is Local answering as a remote backend does once the caller's
// context has ended.
type ctxBackend struct{ *ratelimit.Local }

func (b ctxBackend) Allow(ctx context.Context, l ratelimit.Limit, key string, cost int64, now time.Time) (ratelimit.Result, error) {
	if err := ctx.Err(); err != nil {
		return ratelimit.Result{}, fault.Wrap(fault.Unavailable, "ratelimit_unavailable", err)
	}
	return b.Local.Allow(ctx, l, key, cost, now)
}

func (b ctxBackend) Reset(ctx context.Context, l ratelimit.Limit, key string) error {
	if err := ctx.Err(); err != nil {
		return fault.Wrap(fault.Unavailable, "ratelimit_unavailable", err)
	}
	return b.Local.Reset(ctx, l, key)
}

// TestLoginCountsOutliveTheClient: a failure is charged, and a success
// resets, even when the client hung up while its password was checked.
func TestLoginCountsOutliveTheClient(t *testing.T) {
	e := newLimiterEnv(t, ctxBackend{ratelimit.NewLocal(ratelimit.LocalOptions{})}, signInTiers)
	hungUp := func() context.Context {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		return ctx
	}
	ctx := context.Background()
	owner := ratelimit.LoginAttempt{Account: "acct:owner", IP: "203.0.113.7"}
	for range 4 {
		if err := e.l.BeginLogin(ctx, owner); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.l.BeginLogin(ctx, owner); err != nil {
		t.Fatal(err)
	}
	e.l.LoginSucceeded(hungUp(), owner)
	for i := range 20 {
		a := ratelimit.LoginAttempt{Account: fmt.Sprintf("acct:%d", i), IP: owner.IP}
		if err := e.l.BeginLogin(ctx, a); err != nil {
			t.Fatal(err)
		}
		e.l.LoginFailed(hungUp(), a)
	}
	// The address's 20 failures were counted...
	err := e.l.BeginLogin(ctx, ratelimit.LoginAttempt{Account: "acct:x", IP: owner.IP})
	var ee *ratelimit.ExceededError
	if !errors.As(err, &ee) || ee.Policies[0] != ratelimit.TierLogin {
		t.Fatalf("21st failure: %v, want refused by login", err)
	}
	// ...and the owner's pair was reset: five more would be admitted.
	e.clock.Advance(time.Minute)
	for range 5 {
		if err := e.l.BeginLogin(ctx, owner); err != nil {
			t.Fatal(err)
		}
	}
	if f := e.takeFailures(); len(f) != 0 {
		t.Fatalf("backend failures: %v", f)
	}
}
