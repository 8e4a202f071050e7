package storetest

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/tollgate/tollgate/loginguard"
	"github.com/tollgate/tollgate/store"
)

const window = 15 * time.Minute

func counter(n int, last time.Time) loginguard.Counter {
	return loginguard.Counter{Failures: n, LastFailed: us(last)}
}

func loginFailureTests() []test {
	return []test{
		{"Unknown", func(t *testing.T, s store.Store) {
			check(t, "GetFailures", ok(s.GetFailures(t.Context(), "acct:nobody@example.com"))(t), loginguard.Counter{})
		}},
		{"Count", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			k := "acct:alice@example.com"
			for i := 1; i <= 3; i++ {
				when := at(time.Duration(i) * time.Minute)
				check(t, "RecordFailure", ok(s.RecordFailure(ctx, k, when, window))(t), counter(i, when))
			}
			check(t, "GetFailures", ok(s.GetFailures(ctx, k))(t), counter(3, at(3*time.Minute)))
			// Keys count separately.
			check(t, "other key", ok(s.RecordFailure(ctx, "ip:192.0.2.1", at(0), window))(t), counter(1, at(0)))
			check(t, "GetFailures", ok(s.GetFailures(ctx, k))(t), counter(3, at(3*time.Minute)))
		}},
		{"WindowReset", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			k := "acct:alice@example.com"
			first := us(at(0))
			ok(s.RecordFailure(ctx, k, first, window))(t)
			// Exactly one window later is still inside it.
			check(t, "at window", ok(s.RecordFailure(ctx, k, first.Add(window), window))(t), counter(2, first.Add(window)))
			// Older than the window: the count starts over.
			later := first.Add(2*window + time.Microsecond)
			check(t, "past window", ok(s.RecordFailure(ctx, k, later, window))(t), counter(1, later))
			check(t, "next", ok(s.RecordFailure(ctx, k, later.Add(time.Second), window))(t), counter(2, later.Add(time.Second)))
		}},
		{"Reset", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			k := "acct:alice@example.com"
			ok(s.RecordFailure(ctx, k, at(0), window))(t)
			ok(s.RecordFailure(ctx, "ip:192.0.2.1", at(0), window))(t)
			must(t, s.ResetFailures(ctx, k))
			check(t, "after reset", ok(s.GetFailures(ctx, k))(t), loginguard.Counter{})
			check(t, "other key", ok(s.GetFailures(ctx, "ip:192.0.2.1"))(t), counter(1, at(0)))
			must(t, s.ResetFailures(ctx, k))
			check(t, "counts from one again", ok(s.RecordFailure(ctx, k, at(time.Second), window))(t), counter(1, at(time.Second)))
		}},
		{"DeleteStale", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			ok(s.RecordFailure(ctx, "a", at(0), window))(t)
			ok(s.RecordFailure(ctx, "b", at(time.Hour), window))(t)
			ok(s.RecordFailure(ctx, "c", at(2*time.Hour), window))(t)
			if n := ok(s.DeleteStaleFailures(ctx, us(at(time.Hour))))(t); n != 1 {
				t.Errorf("DeleteStaleFailures = %d, want 1", n)
			}
			check(t, "a", ok(s.GetFailures(ctx, "a"))(t), loginguard.Counter{})
			check(t, "b", ok(s.GetFailures(ctx, "b"))(t), counter(1, at(time.Hour)))
			if n := ok(s.DeleteStaleFailures(ctx, at(3*time.Hour)))(t); n != 2 {
				t.Errorf("DeleteStaleFailures = %d, want 2", n)
			}
		}},
		{"Concurrent", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			const n = 10
			var wg sync.WaitGroup
			start := make(chan struct{})
			counts := make([]int, n)
			errs := make([]error, n)
			for i := range n {
				wg.Go(func() {
					<-start
					var c loginguard.Counter
					c, errs[i] = s.RecordFailure(ctx, "ip:192.0.2.1", at(time.Second), window)
					counts[i] = c.Failures
				})
			}
			warmUp(t, s)
			close(start)
			wg.Wait()
			for _, err := range errs {
				must(t, err)
			}
			// Every increment landed, and each caller saw a distinct count.
			slices.Sort(counts)
			want := make([]int, n)
			for i := range want {
				want[i] = i + 1
			}
			check(t, "returned counts", counts, want)
			check(t, "GetFailures", ok(s.GetFailures(ctx, "ip:192.0.2.1"))(t), counter(n, at(time.Second)))
		}},
	}
}
