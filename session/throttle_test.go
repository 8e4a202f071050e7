package session_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/tollgate/tollgate/config"
	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/ratelimit"
	"github.com/tollgate/tollgate/session"
)

// throttleEnv is the session service over the embedded store, throttled by
// a real limiter with the default sign-in tiers; it records the tiers that
// refuse.
type throttleEnv struct {
	*env
	mu     sync.Mutex
	denied []string
}

// take returns the login outcomes and the refusing tiers since the last call.
func (e *throttleEnv) take() (outcomes, denied []string) {
	e.mu.Lock()
	d := e.denied
	e.denied = nil
	e.mu.Unlock()
	e.outcomes.mu.Lock()
	defer e.outcomes.mu.Unlock()
	o := e.outcomes.list
	e.outcomes.list = nil
	return o, d
}

// work returns the password hashes computed since the last call: real and
// dummy.
func (e *throttleEnv) work() (verify, dummies int) {
	v, d := int(e.hasher.verify.Load()), int(e.hasher.dummy.Load())
	e.hasher.reset()
	return v, d
}

// newThrottleEnv is a sign-in service throttled by the default sign-in tiers on
// backend (in process when nil), with active users emails whose password is
// testPassword, but for disabled@example.com, who is disabled.
func newThrottleEnv(t *testing.T, backend ratelimit.Backend, emails ...string) *throttleEnv {
	t.Helper()
	policies, err := config.Defaults().RateLimitPolicies()
	if err != nil {
		t.Fatal(err)
	}
	if backend == nil {
		backend = ratelimit.NewLocal(ratelimit.LocalOptions{})
	}
	te := &throttleEnv{}
	te.env = newEnv(t, func(e *env, d *session.Deps) {
		d.Log = nil // the default, which logs nowhere: nothing here reads the log
		d.Throttle = ratelimit.NewLimiter(ratelimit.LimiterDeps{
			Backend: backend, Policies: policies, Now: e.clock.Now,
			Denied: func(name string) {
				te.mu.Lock()
				te.denied = append(te.denied, name)
				te.mu.Unlock()
			},
		}, ratelimit.LimiterOptions{})
	})
	for _, email := range emails {
		u := te.user(t, email)
		if email == "disabled@example.com" {
			te.setUserStatus(t, u.ID, identity.UserDisabled)
		}
	}
	return te
}

// login is n sign-ins (1 when n is 0) of email from ip, with the right
// testPassword or not, after the clock moved by after. want is "ok",
// "invalid_credentials", or the tier that refuses each.
type login struct {
	after     time.Duration
	ip, email string
	n         int
	right     bool
	want      string
}

func (e *throttleEnv) run(t *testing.T, i int, l login) {
	t.Helper()
	e.clock.Advance(l.after)
	pw := "not the testPassword at all"
	if l.right {
		pw = testPassword
	}
	for j := range max(l.n, 1) {
		_, err := e.svc.Login(context.Background(), session.LoginRequest{Email: l.email, Password: pw, Client: session.Client{IP: l.ip}})
		verify, dummies := e.work()
		outcomes, denied := e.take()
		var ee *ratelimit.ExceededError
		switch {
		case l.want == "ok" && err == nil, l.want == "invalid_credentials" && fault.KindOf(err) == fault.Unauthenticated:
			// Every attempt admitted computes one hash, a dummy one for an
			// unknown account.
			if verify+dummies != 1 || len(denied) != 0 {
				t.Fatalf("step %d, attempt %d (%+v): %d hashes, %d dummies, denied %v", i, j+1, l, verify, dummies, denied)
			}
		case errors.As(err, &ee) && slices.Equal(ee.Policies, []string{l.want}):
			// A refused attempt computes none, known account or not.
			if verify+dummies != 0 || !slices.Equal(denied, []string{l.want}) || !slices.Equal(outcomes, []string{"rate_limited"}) {
				t.Fatalf("step %d, attempt %d (%+v): refused after %d hashes, %d dummies; denied %v, outcomes %v", i, j+1, l, verify, dummies, denied, outcomes)
			}
		default:
			t.Fatalf("step %d, attempt %d (%+v): err = %v, want %s", i, j+1, l, err, l.want)
		}
	}
}

// TestLoginThrottlesFailures: sign-in throttling at the default tiers counts
// failed attempts, per (account, address), per account and per address.
func TestLoginThrottlesFailures(t *testing.T) {
	const x, y, owner = "203.0.113.7", "198.51.100.20", "owner@example.com"
	const ok, bad = "ok", "invalid_credentials"
	colleagues := make([]string, 8)
	for i := range colleagues {
		colleagues[i] = fmt.Sprintf("colleague%d@example.com", i)
	}
	cases := []struct {
		name   string
		logins []login
	}{
		{"eight colleagues behind one NAT sign in, typos and all", func() []login {
			var out []login
			for round := range 3 {
				for i, c := range colleagues {
					if i == round {
						out = append(out, login{ip: x, email: c, n: 2, want: bad})
					}
					out = append(out, login{after: time.Second, ip: x, email: c, right: true, want: ok})
				}
			}
			return out
		}()},
		{"a CI loop signs in 30 times in a minute as one account", []login{
			{ip: x, email: "ci@example.com", n: 30, after: 0, right: true, want: ok},
			{after: 59 * time.Second, ip: x, email: "ci@example.com", n: 30, right: true, want: ok},
		}},
		{"five wrong guesses from X do not block the owner from Y", []login{
			{ip: x, email: owner, n: 5, want: bad},
			{ip: y, email: owner, right: true, want: ok},
			{ip: y, email: owner, n: 4, want: bad},
			{ip: y, email: owner, right: true, want: ok},
		}},
		{"five wrong guesses from X block X, the right password too, however the address is written, until a slot refills", []login{
			{ip: x, email: owner, n: 5, want: bad},
			{ip: x, email: owner, want: ratelimit.TierLoginAccountIP},
			{ip: x, email: owner, right: true, want: ratelimit.TierLoginAccountIP},
			{ip: x, email: " Owner@EXAMPLE.com", right: true, want: ratelimit.TierLoginAccountIP},
			{after: 3*time.Minute - time.Second, ip: x, email: owner, right: true, want: ratelimit.TierLoginAccountIP},
			{ip: x, email: colleagues[0], right: true, want: ok},
			{after: time.Second, ip: x, email: owner, right: true, want: ok},
		}},
		{"a success from (account, IP) resets that pair", []login{
			{ip: x, email: owner, n: 4, want: bad},
			{ip: x, email: owner, right: true, want: ok},
			{ip: x, email: owner, n: 5, want: bad},
			{ip: x, email: owner, right: true, want: ratelimit.TierLoginAccountIP},
		}},
		{"failures across many IPs hit the account-wide tier", func() []login {
			var out []login
			for i := range 20 {
				out = append(out, login{ip: fmt.Sprintf("192.0.2.%d", i+1), email: owner, n: 5, want: bad})
			}
			return append(out,
				login{ip: "192.0.2.99", email: owner, want: ratelimit.TierLoginAccount},
				login{ip: y, email: owner, right: true, want: ratelimit.TierLoginAccount},
				login{ip: y, email: colleagues[0], right: true, want: ok},
				login{after: 72 * time.Second, ip: y, email: owner, right: true, want: ok},
			)
		}()},
		{"failures at many accounts from one IP hit the per-IP tier", func() []login {
			var out []login
			for i := range 20 {
				out = append(out, login{ip: x, email: fmt.Sprintf("sprayed%d@example.com", i), want: bad})
			}
			return append(out,
				login{ip: x, email: owner, right: true, want: ratelimit.TierLogin},
				login{ip: y, email: owner, right: true, want: ok},
				login{after: 6 * time.Second, ip: x, email: owner, right: true, want: ok},
			)
		}()},
		{"unknown and disabled accounts count and answer as wrong passwords do", []login{
			{ip: x, email: "ghost@example.com", n: 5, want: bad},
			{ip: x, email: "ghost@example.com", want: ratelimit.TierLoginAccountIP},
			{ip: x, email: "disabled@example.com", right: true, n: 5, want: bad},
			{ip: x, email: "disabled@example.com", right: true, want: ratelimit.TierLoginAccountIP},
			{ip: x, email: owner, n: 5, want: bad},
			{ip: x, email: owner, want: ratelimit.TierLoginAccountIP},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			emails := append([]string{owner, "ci@example.com", "disabled@example.com"}, colleagues...)
			e := newThrottleEnv(t, nil, emails...)
			for i, l := range c.logins {
				e.run(t, i, l)
			}
		})
	}
}

// down is a backend that cannot be reached.
type down struct{}

func errDown() error {
	return fault.Wrap(fault.Unavailable, "ratelimit_unavailable", errors.New("dial tcp: connection refused"))
}

func (down) Allow(context.Context, ratelimit.Limit, string, int64, time.Time) (ratelimit.Result, error) {
	return ratelimit.Result{}, errDown()
}

func (down) Peek(context.Context, ratelimit.Limit, string, time.Time) (ratelimit.Result, error) {
	return ratelimit.Result{}, errDown()
}

func (down) Reset(context.Context, ratelimit.Limit, string) error { return errDown() }

// TestLoginBackendDown: the sign-in tiers fail closed by default, so with
// the counters unreachable every sign-in is refused as Unavailable before
// any password is checked, whether or not the account exists.
func TestLoginBackendDown(t *testing.T) {
	e := newThrottleEnv(t, down{}, "owner@example.com")
	for _, email := range []string{"owner@example.com", "ghost@example.com"} {
		_, err := e.svc.Login(context.Background(), session.LoginRequest{
			Email: email, Password: testPassword, Client: session.Client{IP: "203.0.113.7"},
		})
		if fault.KindOf(err) != fault.Unavailable || !errors.Is(err, &fault.Error{Code: "ratelimit_unavailable"}) {
			t.Fatalf("%s: err = %v, want Unavailable ratelimit_unavailable", email, err)
		}
		if v, d := e.work(); v+d != 0 {
			t.Fatalf("%s: %d hashes, %d dummies with the counters down", email, v, d)
		}
	}
}
