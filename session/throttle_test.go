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
	"github.com/tollgate/tollgate/cursor"
	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/ids"
	"github.com/tollgate/tollgate/internal/testclock"
	"github.com/tollgate/tollgate/ratelimit"
	"github.com/tollgate/tollgate/session"
	"github.com/tollgate/tollgate/token"
)

const testSecret = "correct horse battery staple"

// accounts holds users by e-mail; everything sign-in does not read is left
// to the embedded nil interface.
type accounts struct {
	session.Accounts
	users map[string]identity.User
}

func (a *accounts) GetUserByEmail(_ context.Context, email string) (identity.User, error) {
	if u, ok := a.users[email]; ok {
		return u, nil
	}
	return identity.User{}, fault.NotFoundf("user_not_found", "no such user")
}

func (a *accounts) ListTenantsOf(context.Context, string, cursor.Page) ([]identity.TenantMembership, error) {
	return nil, nil
}

type sessions struct{ session.Store }

func (sessions) CreateSession(context.Context, session.Session, []byte) error { return nil }

type noRoles struct{}

func (noRoles) RolePermissions(context.Context, string, []string) ([]string, error) { return nil, nil }

type signer struct{}

func (signer) Sign(token.Claims) (string, error) { return "access-token", nil }

// fakeHasher "hashes" p as "hash:"+p and counts the work it does.
type fakeHasher struct {
	mu              sync.Mutex
	verify, dummies int
}

func (h *fakeHasher) Verify(_ context.Context, plain, encoded string) (bool, bool, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.verify++
	return encoded == "hash:"+plain, false, nil
}

func (h *fakeHasher) VerifyDummy(context.Context, string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.dummies++
}

func (h *fakeHasher) Hash(_ context.Context, plain string) (string, error) {
	return "hash:" + plain, nil
}

// work returns the hashes computed since the last call: real and dummy.
func (h *fakeHasher) work() (verify, dummies int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	v, d := h.verify, h.dummies
	h.verify, h.dummies = 0, 0
	return v, d
}

type throttleEnv struct {
	svc      *session.Service
	hasher   *fakeHasher
	clock    *testclock.Clock
	mu       sync.Mutex
	outcomes []string
	denied   []string
}

func (e *throttleEnv) take() (outcomes, denied []string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	o, d := e.outcomes, e.denied
	e.outcomes, e.denied = nil, nil
	return o, d
}

// newThrottleEnv is a sign-in service throttled by the default sign-in tiers on
// backend (in process when nil), with the users emails.
func newThrottleEnv(t *testing.T, backend ratelimit.Backend, emails ...string) *throttleEnv {
	t.Helper()
	policies, err := config.Defaults().RateLimitPolicies()
	if err != nil {
		t.Fatal(err)
	}
	if backend == nil {
		backend = ratelimit.NewLocal(ratelimit.LocalOptions{})
	}
	e := &throttleEnv{hasher: &fakeHasher{}, clock: testclock.New(time.Unix(1_800_000_000, 0))}
	lim := ratelimit.NewLimiter(ratelimit.LimiterDeps{
		Backend: backend, Policies: policies, Now: e.clock.Now,
		Denied: func(name string) {
			e.mu.Lock()
			e.denied = append(e.denied, name)
			e.mu.Unlock()
		},
	}, ratelimit.LimiterOptions{})
	users := map[string]identity.User{}
	for _, email := range emails {
		users[email] = identity.User{ID: ids.New(), Email: email, Status: identity.UserActive, PasswordHash: "hash:" + testSecret}
	}
	if u, ok := users["disabled@example.com"]; ok {
		u.Status = identity.UserDisabled
		users[u.Email] = u
	}
	e.svc = session.NewService(session.Deps{
		Sessions: sessions{}, Identities: &accounts{users: users}, Roles: noRoles{}, Hasher: e.hasher, Keys: signer{},
		Throttle: lim, Now: e.clock.Now,
		LoginOutcome: func(o string) {
			e.mu.Lock()
			e.outcomes = append(e.outcomes, o)
			e.mu.Unlock()
		},
	}, session.Options{AccessTTL: time.Minute, RefreshTTL: time.Hour})
	return e
}

// login is n sign-ins (1 when n is 0) of email from ip, with the right
// testSecret or not, after the clock moved by after. want is "ok",
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
	pw := "not the testSecret at all"
	if l.right {
		pw = testSecret
	}
	for j := range max(l.n, 1) {
		_, err := e.svc.Login(context.Background(), session.LoginRequest{Email: l.email, Password: pw, Client: session.Client{IP: l.ip}})
		verify, dummies := e.hasher.work()
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
		{"five wrong guesses from X block X, the right testSecret too, until a slot refills", []login{
			{ip: x, email: owner, n: 5, want: bad},
			{ip: x, email: owner, want: ratelimit.TierLoginAccountIP},
			{ip: x, email: owner, right: true, want: ratelimit.TierLoginAccountIP},
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
// any testSecret is checked, whether or not the account exists.
func TestLoginBackendDown(t *testing.T) {
	e := newThrottleEnv(t, down{}, "owner@example.com")
	for _, email := range []string{"owner@example.com", "ghost@example.com"} {
		_, err := e.svc.Login(context.Background(), session.LoginRequest{
			Email: email, Password: testSecret, Client: session.Client{IP: "203.0.113.7"},
		})
		if fault.KindOf(err) != fault.Unavailable || !errors.Is(err, &fault.Error{Code: "ratelimit_unavailable"}) {
			t.Fatalf("%s: err = %v, want Unavailable ratelimit_unavailable", email, err)
		}
		if v, d := e.hasher.work(); v+d != 0 {
			t.Fatalf("%s: %d hashes, %d dummies with the counters down", email, v, d)
		}
	}
}
