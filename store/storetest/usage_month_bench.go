package storetest

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	tgids "github.com/tollgate/tollgate/ids"
	"github.com/tollgate/tollgate/store"
	"github.com/tollgate/tollgate/usage"
)

// MonthEventsEnv names the number of raw events BenchUsageQueryMonth
// seeds; unset, the benchmark skips, since seeding 10,000,000 takes a
// long while.
const MonthEventsEnv = "TOLLGATE_BENCH_USAGE_MONTH_EVENTS"

// BenchUsageQueryMonth seeds one tenant-month of LLM events (20 subjects,
// 4 models, evenly over 30 days; every 80 consecutive events hold each
// subject and model once, so that 3,456,000 events fill every (minute,
// subject, model) roll-up row, as 10,000,000 would) through RecordUsage in
// batches of 1,000, as ingestion writes them, then times the month's query
// at hourly resolution, without and with group_by model, as usage.Service
// plans it: from the minute roll-ups alone (before the hour roll-ups) and
// from the hour roll-ups, the two plans taking turns within each
// iteration so that both see the same machine. It reports p50 and p99 of
// each plan and their ratio. When settle is not nil, it is run after the
// timings (PostgreSQL: VACUUM ANALYZE, what autovacuum gives a month no
// longer written) and the query is timed again under "settled/". See
// BENCHMARKS.md.
func BenchUsageQueryMonth(b *testing.B, s store.Store, settle func(context.Context) error) {
	n, _ := strconv.Atoi(os.Getenv(MonthEventsEnv))
	if n <= 0 {
		b.Skip(MonthEventsEnv + " not set: skipping the tenant-month query benchmark")
	}
	if err := s.CreateTenant(b.Context(), tenant("t1", "slug-t1"), membership("t1", "user:1", "owner")); err != nil {
		b.Fatal(err)
	}
	month := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	span := 30 * 24 * time.Hour
	meters := usage.ShippedMeters().For("t1", usage.TypeLLM)
	const batch = 1000
	began := time.Now()
	// Two writers on disjoint halves of the batches, as two consumer
	// workers would be; batches are time-ordered, as events arrive.
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for w := range 2 {
		wg.Go(func() {
			records := make([]usage.Record, 0, batch)
			for first := w * batch; first < n; first += 2 * batch {
				records = records[:0]
				for i := first; i < min(first+batch, n); i++ {
					tm := month.Add(time.Duration(int64(span) / int64(n) * int64(i)))
					raw := ev{"t1", "svc/agents", tgids.NewAt(tm), usage.TypeLLM, fmt.Sprintf("agent:%d", i%20), 0,
						map[string]any{"model": fmt.Sprintf("m%d", i/20%4), "input_tokens": i % 1000, "output_tokens": 1}}.jsonAt(tm)
					e, err := usage.Decode(raw)
					if err != nil {
						errs <- err
						return
					}
					cs, err := usage.Contributions(&e, meters)
					if err != nil {
						errs <- err
						return
					}
					records = append(records, usage.Record{Event: e, Contributions: cs})
				}
				if _, err := s.RecordUsage(b.Context(), records); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		b.Fatal(err)
	}
	b.Logf("seeded %d events in %v (%.0f events/s)", n, time.Since(began).Round(time.Second), float64(n)/time.Since(began).Seconds())
	from, to := month.Unix()/60, month.Add(span).Unix()/60
	benchMonthQueries(b, s, "", from, to)
	if settle != nil {
		if err := settle(b.Context()); err != nil {
			b.Fatal(err)
		}
		benchMonthQueries(b, s, "settled/", from, to)
	}
}

// benchMonthQueries times the month's hourly query over [from, to),
// without and with group_by model, from minutes and from hours in turn.
func benchMonthQueries(b *testing.B, s store.Store, prefix string, from, to int64) {
	for _, c := range []struct {
		name   string
		byDims bool
	}{{"hourly", false}, {"hourly_by_model", true}} {
		b.Run(prefix+c.name, func(b *testing.B) {
			q := usage.StoreQuery{TenantID: "t1", Meter: "llm_input_tokens", Aggregation: usage.Sum,
				FromMinute: from, ToMinute: to, WindowMinutes: 60, ByDims: c.byDims}
			plans := []usage.MinuteRange{{}, usage.HourRange(from, to, 60, 0)}
			lat := make([][]time.Duration, len(plans))
			var want string
			for b.Loop() {
				for i, hours := range plans {
					q.Hours = hours
					start := time.Now()
					parts, err := s.ReadUsage(b.Context(), q)
					lat[i] = append(lat[i], time.Since(start))
					if err != nil || len(parts) == 0 {
						b.Fatalf("%d partials, %v", len(parts), err)
					}
					// Both plans answer alike.
					if got := fmt.Sprint(len(parts), partsTotal(parts)); i == 0 {
						want = got
					} else if got != want {
						b.Fatalf("hours answer %s, minutes %s", got, want)
					}
				}
			}
			var p50 [2]float64
			for i, name := range []string{"minutes", "hours"} {
				slices.Sort(lat[i])
				p50[i] = float64(lat[i][len(lat[i])/2].Microseconds()) / 1e3
				b.ReportMetric(p50[i], name+"-p50-ms")
				b.ReportMetric(float64(lat[i][len(lat[i])*99/100].Microseconds())/1e3, name+"-p99-ms")
			}
			b.ReportMetric(p50[0]/p50[1], "p50-speedup")
		})
	}
}

// partsTotal is the sum of the partials' values.
func partsTotal(parts []usage.Partial) float64 {
	total := 0.0
	for _, p := range parts {
		total += p.Value
	}
	return total
}
