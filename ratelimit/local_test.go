package ratelimit_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"testing"

	"github.com/tollgate/tollgate/ratelimit"
	"github.com/tollgate/tollgate/ratelimit/ratelimittest"
)

func TestLocalConformance(t *testing.T) {
	ratelimittest.Run(t, func(t *testing.T) ratelimit.Backend {
		return ratelimit.NewLocal(ratelimit.LocalOptions{})
	})
}

func TestLocalEviction(t *testing.T) {
	b := ratelimit.NewLocal(ratelimit.LocalOptions{MaxKeys: 1000})
	l := ratelimit.Limit{Name: "evict", Strategy: ratelimit.GCRA, Rate: 1, Period: time.Hour}
	now := ratelimittest.Base
	for i := 0; i < 10_000; i++ {
		ratelimittest.Allow(t, b, l, fmt.Sprint("k", i), 1, now)
		if n := b.Len(); n > 1000 {
			t.Fatalf("%d keys stored, bound 1000", n)
		}
	}
	// Idle keys go first: after the hour, keys inserted now evict idle
	// ones, so a key used just before stays.
	later := now.Add(2 * time.Hour)
	ratelimittest.Allow(t, b, l, "hot", 1, later)
	for i := 0; i < 500; i++ {
		ratelimittest.Allow(t, b, l, fmt.Sprint("new", i), 1, later)
	}
	if ratelimittest.Allow(t, b, l, "hot", 1, later).Allowed {
		t.Fatal("hot key was evicted while idle keys remained")
	}
}

func TestLocalSweep(t *testing.T) {
	b := ratelimit.NewLocal(ratelimit.LocalOptions{})
	g := ratelimit.Limit{Name: "g", Strategy: ratelimit.GCRA, Rate: 10, Period: time.Second}
	w := ratelimit.Limit{Name: "w", Strategy: ratelimit.SlidingWindow, Rate: 10, Period: time.Minute}
	now := ratelimittest.Base
	for i := 0; i < 100; i++ {
		ratelimittest.Allow(t, b, g, fmt.Sprint(i), 1, now)
		ratelimittest.Allow(t, b, w, fmt.Sprint(i), 1, now)
	}
	if n := b.Sweep(now); n != 0 {
		t.Fatalf("Sweep at once dropped %d", n)
	}
	if n := b.Sweep(now.Add(100 * time.Millisecond)); n != 100 { // GCRA: TAT = now+100ms
		t.Fatalf("Sweep after the GCRA reset dropped %d, want 100", n)
	}
	if n := b.Sweep(now.Add(2*time.Minute - 1)); n != 0 { // window: curr weighs until the end of the next window
		t.Fatalf("Sweep before the window reset dropped %d", n)
	}
	if n := b.Sweep(now.Add(2 * time.Minute)); n != 100 {
		t.Fatalf("Sweep after the window reset dropped %d, want 100", n)
	}
	if b.Len() != 0 {
		t.Fatalf("%d keys left", b.Len())
	}
}

func TestLocalAllowDoesNotAllocate(t *testing.T) {
	b := ratelimit.NewLocal(ratelimit.LocalOptions{})
	ctx := context.Background()
	for _, l := range []ratelimit.Limit{
		{Name: "g", Strategy: ratelimit.GCRA, Rate: 1e9, Period: time.Second},
		{Name: "w", Strategy: ratelimit.SlidingWindow, Rate: 1e9, Period: time.Second},
	} {
		now := ratelimittest.Base
		_, _ = b.Allow(ctx, l, "key", 1, now)
		if n := testing.AllocsPerRun(1000, func() { _, _ = b.Allow(ctx, l, "key", 1, now) }); n != 0 {
			t.Errorf("%s: %v allocations per Allow", l.Strategy, n)
		}
	}
}

func BenchmarkLocalAllow(b *testing.B) {
	lb := ratelimit.NewLocal(ratelimit.LocalOptions{})
	l := ratelimit.Limit{Name: "bench", Strategy: ratelimit.GCRA, Rate: 1e9, Period: time.Second}
	ctx, now := context.Background(), ratelimittest.Base
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := lb.Allow(ctx, l, "key", 1, now.Add(time.Duration(i))); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLocalAllowParallel(b *testing.B) {
	for _, s := range []ratelimit.Strategy{ratelimit.GCRA, ratelimit.SlidingWindow} {
		b.Run(string(s), func(b *testing.B) {
			lb := ratelimit.NewLocal(ratelimit.LocalOptions{})
			l := ratelimit.Limit{Name: "bench", Strategy: s, Rate: 100, Period: time.Second}
			const nkeys = 100_000
			keys := make([]string, nkeys)
			for i := range keys {
				keys[i] = fmt.Sprintf("tenant-%d", i)
			}
			ctx, now := context.Background(), ratelimittest.Base
			for _, k := range keys {
				_, _ = lb.Allow(ctx, l, k, 1, now)
			}
			var seq atomic.Uint64
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				i := seq.Add(1) * 7919
				for pb.Next() {
					i++
					if _, err := lb.Allow(ctx, l, keys[i%nkeys], 1, now.Add(time.Duration(i))); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "checks/s")
		})
	}
}
