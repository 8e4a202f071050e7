package redis_test

import (
	"context"
	"errors"
	"io"
	"maps"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/ratelimit"
	"github.com/tollgate/tollgate/ratelimit/redis"
)

// forwarder is a TCP proxy to a real Redis that can be taken down: while
// down it closes every connection it has and every one it accepts, as a
// Redis that crashed and restarts would look to a client.
type forwarder struct {
	ln     net.Listener
	target string
	// accepted counts the connections clients opened, up or down.
	accepted atomic.Int64

	mu    sync.Mutex
	down  bool
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

func newForwarder(t *testing.T, target string) *forwarder {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &forwarder{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	f.wg.Add(1)
	go f.serve()
	t.Cleanup(f.close)
	return f
}

func (f *forwarder) Addr() string { return f.ln.Addr().String() }

func (f *forwarder) serve() {
	defer f.wg.Done()
	for {
		c, err := f.ln.Accept()
		if err != nil {
			return // closed
		}
		f.accepted.Add(1)
		f.mu.Lock()
		down := f.down
		f.mu.Unlock()
		if down {
			_ = c.Close()
			continue
		}
		f.wg.Add(1)
		go f.pipe(c)
	}
}

// pipe connects c to the target until either side closes.
func (f *forwarder) pipe(c net.Conn) {
	defer f.wg.Done()
	r, err := net.DialTimeout("tcp", f.target, time.Second)
	if err != nil {
		_ = c.Close()
		return
	}
	f.mu.Lock()
	if f.down { // taken down while dialling
		f.mu.Unlock()
		_ = c.Close()
		_ = r.Close()
		return
	}
	f.conns[c], f.conns[r] = struct{}{}, struct{}{}
	f.mu.Unlock()

	done := make(chan struct{}, 2)
	cp := func(dst, src net.Conn) {
		_, _ = io.Copy(dst, src)
		done <- struct{}{}
	}
	go cp(r, c)
	go cp(c, r)
	<-done
	// One direction ended: close both, which ends the other.
	f.mu.Lock()
	delete(f.conns, c)
	delete(f.conns, r)
	f.mu.Unlock()
	_ = c.Close()
	_ = r.Close()
	<-done
}

// Down closes every open connection and refuses new ones.
func (f *forwarder) Down() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.down = true
	for c := range f.conns {
		_ = c.Close()
	}
}

// Up accepts connections again.
func (f *forwarder) Up() {
	f.mu.Lock()
	f.down = false
	f.mu.Unlock()
}

func (f *forwarder) close() {
	_ = f.ln.Close()
	f.Down()
	f.wg.Wait()
}

// outageClock is the breaker's clock, moved by hand.
type outageClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *outageClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *outageClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// TestOutageAndRecovery takes Redis away from a running Limiter and brings it
// back: fail-open and fail-closed policies answer as configured during the
// outage, the breaker stops further checks from dialling, and after the
// cooldown the same client reaches Redis again.
func TestOutageAndRecovery(t *testing.T) {
	parse := func(name, spec string) ratelimit.Policy {
		p, err := ratelimit.ParsePolicy(name, spec)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	o := newOutageRig(t, map[string]ratelimit.Policy{
		"open":   parse("open", "10/1m"),
		"closed": parse("closed", "10/1m sliding_window fail=closed"),
	})
	direct, prefix, fwd, backend, breaker, breakerClock, limiter := o.direct, o.prefix, o.fwd, o.backend, o.breaker, o.clock, o.limiter
	takeFailures, cooldown := o.takeFailures, outageCooldown

	ctx := context.Background()
	const key = "client-1"
	counted := func(name string, wantRemaining int64) {
		t.Helper()
		d, err := limiter.CheckNamed(ctx, "", name, key, 1)
		if err != nil || !d.Result.Allowed || d.Unchecked || d.Result.Remaining != wantRemaining {
			t.Fatalf("%s: %+v, %v; want counted with %d remaining", name, d, err, wantRemaining)
		}
	}
	openLetThrough := func() {
		t.Helper()
		d, err := limiter.CheckNamed(ctx, "", "open", key, 1)
		if err != nil || !d.Result.Allowed || !d.Unchecked {
			t.Fatalf("open during the outage: %+v, %v; want allowed, unchecked", d, err)
		}
	}
	closedRefused := func() {
		t.Helper()
		_, err := limiter.CheckNamed(ctx, "", "closed", key, 1)
		if fault.KindOf(err) != fault.Unavailable || !errors.Is(err, &fault.Error{Code: "ratelimit_unavailable"}) {
			t.Fatalf("closed during the outage: err = %v, want Unavailable ratelimit_unavailable", err)
		}
	}

	// Up: both policies count in Redis.
	counted("open", 9)
	counted("closed", 9)
	for _, name := range []string{"open", "closed"} {
		// CheckNamed prefixes the key with its (here empty) tenant and "/".
		if n, err := direct.Exists(ctx, backend.Key(name, "/"+key)).Result(); err != nil || n != 1 {
			t.Fatalf("key of %s not in Redis: %d, %v", name, n, err)
		}
	}
	if breaker.Open() {
		t.Fatal("breaker open while Redis is up")
	}

	// Down. The first check finds the connection gone and opens the
	// breaker.
	fwd.Down()
	openLetThrough()
	if !breaker.Open() {
		t.Fatal("breaker not open after Redis went down")
	}
	closedRefused()
	dials := fwd.accepted.Load()
	for range 10 {
		openLetThrough()
		closedRefused()
	}
	if n := fwd.accepted.Load() - dials; n != 0 {
		t.Fatalf("with the breaker open, checks opened %d connections", n)
	}
	if f := takeFailures(); f[failureKey{"open", true}] != 11 || f[failureKey{"closed", false}] != 11 || len(f) != 2 {
		t.Fatalf("Failed calls %v, want 11 open (let through) and 11 closed (refused)", f)
	}

	// After the cooldown, with Redis still down, one probe dials, fails and
	// re-arms the breaker.
	breakerClock.Advance(cooldown)
	openLetThrough()
	if fwd.accepted.Load() == dials {
		t.Fatal("the probe after the cooldown did not dial")
	}
	dials = fwd.accepted.Load()
	closedRefused()
	openLetThrough()
	if n := fwd.accepted.Load() - dials; n != 0 {
		t.Fatalf("after a failed probe, checks opened %d connections", n)
	}
	if f := takeFailures(); f[failureKey{"open", true}] != 2 || f[failureKey{"closed", false}] != 1 {
		t.Fatalf("Failed calls %v", f)
	}

	// Up again: nothing changes until the cooldown passes...
	fwd.Up()
	openLetThrough()
	closedRefused()
	if n := fwd.accepted.Load() - dials; n != 0 {
		t.Fatalf("before the cooldown, checks opened %d connections", n)
	}
	takeFailures()

	// ...then the next check reaches Redis on the same client, and counting
	// resumes where it stopped: nothing during the outage was counted.
	breakerClock.Advance(cooldown)
	counted("open", 8)
	if breaker.Open() {
		t.Fatal("breaker still open after a successful probe")
	}
	counted("closed", 8)
	counted("open", 7)
	if f := takeFailures(); len(f) != 0 {
		t.Fatalf("Failed calls after recovery: %v", f)
	}

	// Every key the test wrote expires on its own (newPrefix deletes them
	// too).
	for _, k := range scanKeys(t, direct, prefix) {
		if ttl, err := direct.PTTL(ctx, k).Result(); err != nil || ttl <= 0 || ttl > 2*time.Minute {
			t.Errorf("key %q: PTTL %v, %v; want in (0, 2m]", k, ttl, err)
		}
	}
}

type failureKey struct {
	name       string
	letThrough bool
}

// outageCooldown is the breaker's cooldown in the outage tests.
const outageCooldown = 5 * time.Second

// outageRig is a Limiter on Redis reached through a forwarder that can cut
// it off: a client of the forwarder, configured from the same URL (fresh
// options: an initialised client's Options carry a Dialer bound to the real
// address) but with short timeouts and no retries (go-redis: -1, not 0,
// disables them); a breaker on a clock the test moves; and the backend
// failures the limiter reports. The limits' clock stands still, so that
// counts do not refill during a test; Redis still expires the keys on its
// own clock.
type outageRig struct {
	direct  *goredis.Client
	prefix  string
	fwd     *forwarder
	backend *redis.Backend
	breaker *ratelimit.Breaker
	clock   *outageClock
	limiter *ratelimit.Limiter

	mu       sync.Mutex
	failures map[failureKey]int
}

func newOutageRig(t *testing.T, policies map[string]ratelimit.Policy) *outageRig {
	t.Helper()
	o := &outageRig{direct: newClient(t, 0), failures: map[failureKey]int{}}
	o.prefix = newPrefix(t, o.direct)
	o.fwd = newForwarder(t, o.direct.Options().Addr)
	opts, err := goredis.ParseURL(os.Getenv(urlEnv))
	if err != nil {
		t.Fatal(err)
	}
	opts.Addr = o.fwd.Addr()
	opts.DialTimeout, opts.ReadTimeout, opts.WriteTimeout = 200*time.Millisecond, 200*time.Millisecond, 200*time.Millisecond
	opts.MaxRetries, opts.PoolSize, opts.MinIdleConns = -1, 2, 0
	client := goredis.NewClient(opts)
	t.Cleanup(func() { _ = client.Close() })

	o.backend = redis.New(client, redis.Options{Prefix: o.prefix})
	o.clock = &outageClock{t: time.Now()}
	o.breaker = ratelimit.NewBreaker(o.backend, outageCooldown, o.clock.Now)
	limitsNow := time.Now()
	o.limiter = ratelimit.NewLimiter(ratelimit.LimiterDeps{
		Backend: o.breaker, Tenants: noTenants{}, Policies: policies,
		Failed: func(name string, letThrough bool) {
			o.mu.Lock()
			o.failures[failureKey{name, letThrough}]++
			o.mu.Unlock()
		},
		Now: func() time.Time { return limitsNow },
	}, ratelimit.LimiterOptions{})
	return o
}

// takeFailures returns the failures reported since the last call.
func (o *outageRig) takeFailures() map[failureKey]int {
	o.mu.Lock()
	defer o.mu.Unlock()
	f := o.failures
	o.failures = map[failureKey]int{}
	return f
}

// noTenants is a TenantStore without overrides; the test checks without a
// tenant, so it is never read.
type noTenants struct{}

func (noTenants) TenantRateLimits(_ context.Context, tenantID string) (ratelimit.TenantLimits, error) {
	return ratelimit.TenantLimits{TenantID: tenantID, Limits: map[string]string{}}, nil
}

func (noTenants) SetTenantRateLimits(context.Context, ratelimit.TenantLimits) error {
	return errors.New("noTenants: read only")
}

// TestOutageSignIn takes Redis away from the sign-in tiers: with them
// failing closed (their default) BeginLogin refuses as Unavailable without
// dialling once the breaker is open, charging a failure and resetting a
// pair fail quietly and are counted, and once Redis is back the counts are
// where the outage found them.
func TestOutageSignIn(t *testing.T) {
	policies := map[string]ratelimit.Policy{}
	for name, spec := range map[string]string{
		ratelimit.TierLogin:          "10/1m burst=20 fail=closed",
		ratelimit.TierLoginAccount:   "50/1h burst=100 fail=closed",
		ratelimit.TierLoginAccountIP: "5/15m fail=closed",
	} {
		p, err := ratelimit.ParsePolicy(name, spec)
		if err != nil {
			t.Fatal(err)
		}
		policies[name] = p
	}
	o := newOutageRig(t, policies)
	direct, fwd, backend, breaker, breakerClock, limiter := o.direct, o.fwd, o.backend, o.breaker, o.clock, o.limiter
	takeFailures, cooldown := o.takeFailures, outageCooldown

	ctx := context.Background()
	a := ratelimit.LoginAttempt{Account: "acct:owner", IP: "203.0.113.7"}
	pairKey := backend.Key(ratelimit.TierLoginAccountIP, a.Account+"@"+a.IP)
	exists := func(k string) bool {
		t.Helper()
		n, err := direct.Exists(ctx, k).Result()
		if err != nil {
			t.Fatal(err)
		}
		return n == 1
	}
	unavailable := func(err error) bool {
		return fault.KindOf(err) == fault.Unavailable && errors.Is(err, &fault.Error{Code: "ratelimit_unavailable"})
	}

	// Up: four failures are counted on every tier.
	for range 4 {
		if err := limiter.BeginLogin(ctx, a); err != nil {
			t.Fatal(err)
		}
		limiter.LoginFailed(ctx, a)
	}
	for _, k := range []string{pairKey, backend.Key(ratelimit.TierLogin, a.IP), backend.Key(ratelimit.TierLoginAccount, a.Account)} {
		if !exists(k) {
			t.Fatalf("key %q not in Redis", k)
		}
	}

	// Down: the first peek fails and opens the breaker; after it nothing
	// dials, sign-ins are refused, and the charges and resets that fail
	// are counted, not returned.
	fwd.Down()
	if err := limiter.BeginLogin(ctx, a); !unavailable(err) {
		t.Fatalf("BeginLogin during the outage: %v, want Unavailable ratelimit_unavailable", err)
	}
	if !breaker.Open() {
		t.Fatal("breaker not open after Redis went down")
	}
	dials := fwd.accepted.Load()
	for range 3 {
		if err := limiter.BeginLogin(ctx, a); !unavailable(err) {
			t.Fatalf("BeginLogin during the outage: %v", err)
		}
		limiter.LoginFailed(ctx, a)
		limiter.LoginSucceeded(ctx, a)
	}
	if n := fwd.accepted.Load() - dials; n != 0 {
		t.Fatalf("with the breaker open, sign-ins opened %d connections", n)
	}
	// The peeks of login refused sign-ins; the charges (login_account's
	// peek never ran: login's failed first) and resets refused nothing.
	want := map[failureKey]int{
		{ratelimit.TierLogin, false}: 1 + 3, {ratelimit.TierLogin, true}: 3,
		{ratelimit.TierLoginAccount, true}: 3, {ratelimit.TierLoginAccountIP, true}: 3,
	}
	if f := takeFailures(); !maps.Equal(f, want) {
		t.Fatalf("Failed calls %v, want %v", f, want)
	}

	// Back: counting resumes where it stopped. The pair has one failure
	// left, the reset during the outage did nothing, and a success now
	// removes its key.
	fwd.Up()
	breakerClock.Advance(cooldown)
	if err := limiter.BeginLogin(ctx, a); err != nil {
		t.Fatalf("fifth attempt after recovery: %v", err)
	}
	limiter.LoginFailed(ctx, a)
	var ee *ratelimit.ExceededError
	if err := limiter.BeginLogin(ctx, a); !errors.As(err, &ee) || ee.Policies[0] != ratelimit.TierLoginAccountIP {
		t.Fatalf("sixth attempt: %v, want refused by login_account_ip", err)
	}
	limiter.LoginSucceeded(ctx, a)
	if exists(pairKey) {
		t.Fatal("the pair's key outlived a success")
	}
	if err := limiter.BeginLogin(ctx, a); err != nil {
		t.Fatalf("after the success: %v", err)
	}
	if f := takeFailures(); len(f) != 0 {
		t.Fatalf("Failed calls after recovery: %v", f)
	}
}
