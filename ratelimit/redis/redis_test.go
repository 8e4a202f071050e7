package redis_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	mrand "math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/ratelimit"
	"github.com/tollgate/tollgate/ratelimit/ratelimittest"
	"github.com/tollgate/tollgate/ratelimit/redis"
)

const urlEnv = "TOLLGATE_TEST_REDIS_URL"

// newClient connects to the Redis named by TOLLGATE_TEST_REDIS_URL, skipping
// the test when it is unset and failing it when that Redis is unreachable.
func newClient(tb testing.TB, poolSize int) *goredis.Client {
	tb.Helper()
	url := os.Getenv(urlEnv)
	if url == "" {
		tb.Skip("TOLLGATE_TEST_REDIS_URL not set: skipping Redis tests")
	}
	opts, err := goredis.ParseURL(url)
	if err != nil {
		tb.Fatalf("parse %s: %v", urlEnv, err)
	}
	if poolSize > 0 {
		opts.PoolSize = poolSize
	}
	client := goredis.NewClient(opts)
	tb.Cleanup(func() { _ = client.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := client.Ping(ctx).Err(); err != nil {
		tb.Fatalf("%s=%s is unreachable: %v", urlEnv, url, err)
	}
	return client
}

// newPrefix returns a prefix no other test uses and deletes every key under
// it when tb ends.
func newPrefix(tb testing.TB, client *goredis.Client) string {
	tb.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	prefix := "tgtest-" + hex.EncodeToString(b[:])
	tb.Cleanup(func() {
		ctx := context.Background()
		keys := scanKeys(tb, client, prefix)
		if len(keys) > 0 {
			if err := client.Del(ctx, keys...).Err(); err != nil {
				tb.Errorf("delete test keys: %v", err)
			}
		}
	})
	return prefix
}

// scanKeys lists the keys a Backend with prefix has written.
func scanKeys(tb testing.TB, client *goredis.Client, prefix string) []string {
	tb.Helper()
	var keys []string
	iter := client.Scan(context.Background(), 0, "{"+prefix+":*", 1000).Iterator()
	for iter.Next(context.Background()) {
		keys = append(keys, iter.Val())
	}
	if err := iter.Err(); err != nil {
		tb.Fatalf("scan: %v", err)
	}
	return keys
}

func TestConformance(t *testing.T) {
	client := newClient(t, 0)
	ratelimittest.Run(t, func(t *testing.T) ratelimit.Backend {
		return redis.New(client, redis.Options{Prefix: newPrefix(t, client)})
	})
}

var (
	gcraLimit   = ratelimit.Limit{Name: "api", Strategy: ratelimit.GCRA, Rate: 10, Period: time.Minute, Burst: 5}
	windowLimit = ratelimit.Limit{Name: "login", Strategy: ratelimit.SlidingWindow, Rate: 10, Period: time.Minute}
)

func TestKeysCarryHashTagAndTTL(t *testing.T) {
	client := newClient(t, 0)
	prefix := newPrefix(t, client)
	b := redis.New(client, redis.Options{Prefix: prefix})
	ctx := context.Background()
	now := time.Now()

	// An untrusted key with Lua and Redis metacharacters travels as KEYS,
	// never as script text.
	evil := `x"]]..redis.call('FLUSHALL')--{y}`
	for _, l := range []ratelimit.Limit{gcraLimit, windowLimit} {
		for _, key := range []string{"10.0.0.1", evil} {
			if _, err := b.Allow(ctx, l, key, 3, now); err != nil {
				t.Fatalf("%s %q: %v", l.Strategy, key, err)
			}
		}
	}

	keys := scanKeys(t, client, prefix)
	want := []string{
		"{" + prefix + ":api:10.0.0.1}", "{" + prefix + ":api:" + evil + "}",
		"{" + prefix + ":login:10.0.0.1}", "{" + prefix + ":login:" + evil + "}",
	}
	slices.Sort(keys)
	slices.Sort(want)
	if !slices.Equal(keys, want) {
		t.Fatalf("keys = %q, want %q", keys, want)
	}
	for _, k := range keys {
		if !strings.HasPrefix(k, "{") || !strings.Contains(k, "}") {
			t.Errorf("key %q has no hash tag", k)
		}
		ttl, err := client.PTTL(ctx, k).Result()
		if err != nil {
			t.Fatal(err)
		}
		// GCRA: TAT − now = 3 emissions of 6s; window: 2 periods.
		max := 2 * time.Minute
		if strings.Contains(k, ":api:") {
			max = 18 * time.Second
		}
		if ttl <= 0 || ttl > max {
			t.Errorf("key %q: PTTL %v, want in (0, %v]", k, ttl, max)
		}
	}
}

// countHook counts the commands a client sends.
type countHook struct {
	mu   sync.Mutex
	cmds []string
}

func (h *countHook) DialHook(next goredis.DialHook) goredis.DialHook { return next }
func (h *countHook) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []goredis.Cmder) error {
		h.mu.Lock()
		for _, c := range cmds {
			h.cmds = append(h.cmds, c.Name())
		}
		h.mu.Unlock()
		return next(ctx, cmds)
	}
}
func (h *countHook) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook {
	return func(ctx context.Context, cmd goredis.Cmder) error {
		h.mu.Lock()
		h.cmds = append(h.cmds, cmd.Name())
		h.mu.Unlock()
		return next(ctx, cmd)
	}
}

func (h *countHook) take() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	c := h.cmds
	h.cmds = nil
	return c
}

func TestOneRoundTripPerCheck(t *testing.T) {
	client := newClient(t, 0)
	hook := &countHook{}
	client.AddHook(hook)
	b := redis.New(client, redis.Options{Prefix: newPrefix(t, client)})
	ctx := context.Background()
	now := time.Now()

	for _, l := range []ratelimit.Limit{gcraLimit, windowLimit} {
		// The first run may be EVALSHA, NOSCRIPT, then EVAL; after that
		// the script is cached.
		if _, err := b.Allow(ctx, l, "warm", 1, now); err != nil {
			t.Fatal(err)
		}
		hook.take()
		const n = 20 // more than the quota, so denials are counted too
		for i := range n {
			if _, err := b.Allow(ctx, l, "k", 1, now.Add(time.Duration(i)*time.Millisecond)); err != nil {
				t.Fatal(err)
			}
		}
		cmds := hook.take()
		if len(cmds) != n {
			t.Errorf("%s: %d checks sent %d commands %v, want %d", l.Strategy, n, len(cmds), cmds, n)
		}
		for _, c := range cmds {
			if c != "evalsha" {
				t.Errorf("%s: sent %q, want only evalsha", l.Strategy, c)
				break
			}
		}
	}

	// Bad input is refused before any round trip.
	if _, err := b.Allow(ctx, gcraLimit, "", 1, now); fault.KindOf(err) != fault.Invalid {
		t.Errorf("empty key: err = %v, want Invalid", err)
	}
	if _, err := b.Allow(ctx, gcraLimit, "k", 6, now); fault.KindOf(err) != fault.Invalid {
		t.Errorf("cost above burst: err = %v, want Invalid", err)
	}
	if cmds := hook.take(); len(cmds) != 0 {
		t.Errorf("invalid requests sent %v", cmds)
	}
}

func TestStrategyChangeStartsOver(t *testing.T) {
	client := newClient(t, 0)
	b := redis.New(client, redis.Options{Prefix: newPrefix(t, client)})
	ctx := context.Background()
	now := time.Now()
	g := ratelimit.Limit{Name: "same", Strategy: ratelimit.GCRA, Rate: 1, Period: time.Hour, Burst: 1}
	w := ratelimit.Limit{Name: "same", Strategy: ratelimit.SlidingWindow, Rate: 1, Period: time.Hour}
	for i, l := range []ratelimit.Limit{g, w, g, w} {
		r, err := b.Allow(ctx, l, "k", 1, now)
		if err != nil || !r.Allowed {
			t.Fatalf("step %d (%s): %+v, %v; want allowed on fresh state", i, l.Strategy, r, err)
		}
	}
}

func TestServerTime(t *testing.T) {
	client := newClient(t, 0)
	b := redis.New(client, redis.Options{Prefix: newPrefix(t, client), UseServerTime: true})
	ctx := context.Background()

	// One request per hour, no burst. If the script used the caller's
	// clock, the second request (a century later) would be allowed.
	l := ratelimit.Limit{Name: "hourly", Strategy: ratelimit.GCRA, Rate: 1, Period: time.Hour, Burst: 1}
	w := ratelimit.Limit{Name: "hourly-w", Strategy: ratelimit.SlidingWindow, Rate: 1, Period: time.Hour}
	for _, l := range []ratelimit.Limit{l, w} {
		r1, err := b.Allow(ctx, l, "k", 1, time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC))
		if err != nil || !r1.Allowed {
			t.Fatalf("%s first: %+v, %v", l.Strategy, r1, err)
		}
		r2, err := b.Allow(ctx, l, "k", 1, time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC))
		if err != nil {
			t.Fatal(err)
		}
		if r2.Allowed || r2.RetryAfter <= 0 || r2.RetryAfter > time.Hour {
			t.Errorf("%s second: %+v, want denied with 0 < RetryAfter ≤ 1h", l.Strategy, r2)
		}
	}
	// And the state is anchored to the server's clock: the GCRA key
	// expires within the hour, not decades away.
	ttl, err := client.PTTL(ctx, b.Key("hourly", "k")).Result()
	if err != nil || ttl <= 0 || ttl > time.Hour {
		t.Errorf("PTTL = %v, %v; want in (0, 1h]", ttl, err)
	}
}

func TestUnreachableIsUnavailable(t *testing.T) {
	// Port 1 on loopback refuses connections; no Redis is needed.
	client := goredis.NewClient(&goredis.Options{
		Addr: "127.0.0.1:1", DialTimeout: 200 * time.Millisecond, MaxRetries: -1,
	})
	defer client.Close()
	b := redis.New(client, redis.Options{})
	ctx := context.Background()

	_, err := b.Allow(ctx, gcraLimit, "k", 1, time.Now())
	if fault.KindOf(err) != fault.Unavailable || !errors.Is(err, &fault.Error{Code: "ratelimit_unavailable"}) {
		t.Fatalf("err = %v, want Unavailable ratelimit_unavailable", err)
	}
	if _, err := b.Peek(ctx, gcraLimit, "k", time.Now()); fault.KindOf(err) != fault.Unavailable {
		t.Fatalf("peek: err = %v, want Unavailable", err)
	}
	if err := b.Reset(ctx, gcraLimit, "k"); fault.KindOf(err) != fault.Unavailable || !errors.Is(err, &fault.Error{Code: "ratelimit_unavailable"}) {
		t.Fatalf("reset: err = %v, want Unavailable ratelimit_unavailable", err)
	}
	// Validation comes first: a bad limit is Invalid even with Redis down.
	bad := gcraLimit
	bad.Name = "Bad Name"
	if _, err := b.Allow(ctx, bad, "k", 1, time.Now()); fault.KindOf(err) != fault.Invalid {
		t.Errorf("bad limit with Redis down: err = %v, want Invalid", err)
	}
}

// TestPeekWritesNothingAndResetDeletes: a peek is one EVALSHA that leaves
// Redis as it found it — no key created, no state rolled to a new window, no
// TTL moved, a key of the other strategy left in place — and a reset is one
// DEL of the check's own hash-tagged key.
func TestPeekWritesNothingAndResetDeletes(t *testing.T) {
	client := newClient(t, 0)
	hook := &countHook{}
	client.AddHook(hook)
	prefix := newPrefix(t, client)
	b := redis.New(client, redis.Options{Prefix: prefix})
	ctx := context.Background()
	now := ratelimittest.Base.Add(10 * time.Second)

	dump := func(k string) (string, time.Duration) {
		t.Helper()
		v, err := client.Dump(ctx, k).Result()
		if err != nil && !errors.Is(err, goredis.Nil) {
			t.Fatal(err)
		}
		ttl, err := client.PTTL(ctx, k).Result()
		if err != nil {
			t.Fatal(err)
		}
		return v, ttl
	}
	for _, c := range []struct {
		name string
		l    ratelimit.Limit
		// later is when the stored state would refill, or roll to a new
		// window in which the request is still denied (+50s is the next
		// window's start, where the previous one weighs fully).
		later time.Duration
	}{
		{"gcra", gcraLimit, 30 * time.Second},
		{"window", windowLimit, 50 * time.Second},
	} {
		t.Run(c.name, func(t *testing.T) {
			k := b.Key(c.l.Name, "peeked")
			if _, err := b.Peek(ctx, c.l, "peeked", now); err != nil { // warms the script cache
				t.Fatal(err)
			}
			hook.take()
			if r, err := b.Peek(ctx, c.l, "peeked", now); err != nil || !r.Allowed {
				t.Fatalf("peek of a fresh key: %+v, %v", r, err)
			}
			if cmds := hook.take(); !slices.Equal(cmds, []string{"evalsha"}) {
				t.Fatalf("a peek sent %v, want one evalsha", cmds)
			}
			if n, _ := client.Exists(ctx, k).Result(); n != 0 {
				t.Fatal("a peek created the key")
			}
			for range 12 {
				if _, err := b.Allow(ctx, c.l, "peeked", 1, now); err != nil {
					t.Fatal(err)
				}
			}
			v0, ttl0 := dump(k)
			for _, at := range []time.Duration{0, c.later, time.Hour} {
				if _, err := b.Peek(ctx, c.l, "peeked", now.Add(at)); err != nil {
					t.Fatal(err)
				}
				if v, ttl := dump(k); v != v0 || ttl > ttl0 || ttl < ttl0-time.Second {
					t.Fatalf("a peek at +%v changed the key: PTTL %v → %v", at, ttl0, ttl)
				}
			}
			// A peek under the other strategy starts over, as Allow would,
			// but leaves the key alone.
			other := c.l
			other.Strategy, other.Burst = ratelimit.GCRA, 0
			if c.l.Strategy == ratelimit.GCRA {
				other.Strategy = ratelimit.SlidingWindow
			}
			if r, err := b.Peek(ctx, other, "peeked", now); err != nil || !r.Allowed || r.Remaining != other.Quota()-1 {
				t.Fatalf("peek under the other strategy: %+v, %v", r, err)
			}
			if v, _ := dump(k); v != v0 {
				t.Fatal("a peek under the other strategy changed the key")
			}

			hook.take()
			if err := b.Reset(ctx, c.l, "peeked"); err != nil {
				t.Fatal(err)
			}
			if cmds := hook.take(); !slices.Equal(cmds, []string{"del"}) {
				t.Fatalf("a reset sent %v, want one del", cmds)
			}
			if n, _ := client.Exists(ctx, k).Result(); n != 0 {
				t.Fatal("the key outlived its reset")
			}
		})
	}
	// Bad input is refused before any round trip.
	hook.take()
	if _, err := b.Peek(ctx, gcraLimit, "", now); fault.KindOf(err) != fault.Invalid {
		t.Errorf("peek of an empty key: err = %v, want Invalid", err)
	}
	if err := b.Reset(ctx, gcraLimit, ""); fault.KindOf(err) != fault.Invalid {
		t.Errorf("reset of an empty key: err = %v, want Invalid", err)
	}
	if cmds := hook.take(); len(cmds) != 0 {
		t.Errorf("invalid requests sent %v", cmds)
	}
}

// BenchmarkRedisAllow measures checks/s and per-check latency with 32
// concurrent callers over many keys; bare_incr_script is the ceiling of this
// client, Redis and concurrency: a one-INCR script, also one EVALSHA.
func BenchmarkRedisAllow(b *testing.B) {
	const callers = 32
	client := newClient(b, callers)
	prefix := newPrefix(b, client)
	backend := redis.New(client, redis.Options{Prefix: prefix})

	keys := make([]string, 10_000)
	for i := range keys {
		keys[i] = "client-" + hex.EncodeToString([]byte{byte(i >> 8), byte(i)})
	}
	bareKeys := make([]string, len(keys))
	for i, k := range keys {
		bareKeys[i] = "{" + prefix + ":bare:" + k + "}"
	}
	bare := goredis.NewScript(`return redis.call('INCR', KEYS[1])`)

	limits := map[string]ratelimit.Limit{
		"gcra":           {Name: "bench", Strategy: ratelimit.GCRA, Rate: 100, Period: time.Second, Burst: 100},
		"sliding_window": {Name: "benchw", Strategy: ratelimit.SlidingWindow, Rate: 100, Period: time.Second},
	}
	for _, name := range []string{"gcra", "sliding_window", "bare_incr_script"} {
		b.Run(name, func(b *testing.B) {
			check := func(ctx context.Context, i int) error {
				if name == "bare_incr_script" {
					return bare.Run(ctx, client, []string{bareKeys[i]}).Err()
				}
				_, err := backend.Allow(ctx, limits[name], keys[i], 1, time.Now())
				return err
			}
			// Warm the script cache and the pool.
			if err := check(context.Background(), 0); err != nil {
				b.Fatal(err)
			}
			var (
				mu   sync.Mutex
				lats []time.Duration
				seq  atomic.Int64
			)
			b.SetParallelism((callers + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				ctx := context.Background()
				i := int(seq.Add(7919))
				local := make([]time.Duration, 0, 1024)
				for pb.Next() {
					i = (i + 1) % len(keys)
					t0 := time.Now()
					if err := check(ctx, i); err != nil {
						b.Error(err)
						return
					}
					local = append(local, time.Since(t0))
				}
				mu.Lock()
				lats = append(lats, local...)
				mu.Unlock()
			})
			elapsed := time.Since(start)
			b.StopTimer()
			if len(lats) == 0 {
				return
			}
			slices.Sort(lats)
			pct := func(p float64) float64 {
				return float64(lats[int(p*float64(len(lats)-1))].Microseconds()) / 1000
			}
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "checks/s")
			b.ReportMetric(pct(0.50), "p50-ms")
			b.ReportMetric(pct(0.99), "p99-ms")
		})
	}
}

// TestScriptsMatchGoMath drives both scripts with random requests — extreme
// limits, instants up to the year 2100, clocks going backwards — and
// compares every Result with ratelimit.DecideGCRA / DecideWindow applied to
// state kept in Go. A script that decided or stored differently shows here
// (and, for the decision, as an Internal error from Allow).
func TestScriptsMatchGoMath(t *testing.T) {
	client := newClient(t, 0)
	b := redis.New(client, redis.Options{Prefix: newPrefix(t, client)})
	ctx := context.Background()
	rng := mrand.New(mrand.NewPCG(1, 2))

	limits := []ratelimit.Limit{
		{Name: "g1", Strategy: ratelimit.GCRA, Rate: 7, Period: time.Minute},
		{Name: "g2", Strategy: ratelimit.GCRA, Rate: 1, Period: 24 * time.Hour, Burst: 1_000_000_000},         // τ saturates at 2^61
		{Name: "g3", Strategy: ratelimit.GCRA, Rate: 1_000_000_000, Period: 999 * time.Millisecond, Burst: 3}, // T rounds up to 1ns
		{Name: "g4", Strategy: ratelimit.GCRA, Rate: 3, Period: 24 * time.Hour, Burst: 200},                   // τ ≈ 5.8e15 ns > 2^53
		{Name: "w1", Strategy: ratelimit.SlidingWindow, Rate: 10, Period: time.Minute},
		{Name: "w2", Strategy: ratelimit.SlidingWindow, Rate: 1_000_000_000, Period: 24 * time.Hour}, // Prev×(P−e) ≈ 8.6e22
		{Name: "w3", Strategy: ratelimit.SlidingWindow, Rate: 3, Period: 7*time.Second + 3},
	}
	for _, l := range limits {
		bases := []int64{ratelimittest.Base.UnixNano(), time.Date(2100, 1, 1, 0, 0, 0, 123456789, time.UTC).UnixNano()}
		for _, base := range bases {
			key := ratelimittest.Key()
			var tat int64
			var ws ratelimit.WindowState
			now := base
			for i := range 600 {
				// Mostly forward, sometimes back (callers' clocks disagree).
				// Back only for long periods: Redis expires keys in real
				// time, and a TTL of 1ms may pass during the test while
				// this clock runs backwards.
				step := rng.Int64N(int64(l.Period)/int64(l.Quota())*3 + 2)
				if l.Period >= time.Minute && rng.IntN(10) == 0 {
					step = -rng.Int64N(int64(l.Period))
				}
				now += step
				cost := 1 + rng.Int64N(l.Quota())
				if rng.IntN(2) == 0 {
					cost = 1
				}
				var want ratelimit.Result
				switch l.Strategy {
				case ratelimit.GCRA:
					tat, want = ratelimit.DecideGCRA(l, tat, now, cost)
				default:
					ws, want = ratelimit.DecideWindow(l, ws, now, cost)
					if ws.Prev == 0 && ws.Curr == 0 { // idle: the script deletes it
						ws = ratelimit.WindowState{}
					}
				}
				got, err := b.Allow(ctx, l, key, cost, time.Unix(0, now))
				if err != nil {
					t.Fatalf("%s step %d: %v", l.Name, i, err)
				}
				if got != want {
					t.Fatalf("%s step %d (now %d, cost %d): got %+v, want %+v", l.Name, i, now, cost, got, want)
				}
			}
		}
	}
}
