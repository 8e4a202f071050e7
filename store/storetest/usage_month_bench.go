package storetest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/tollgate/tollgate/identity"
	tgids "github.com/tollgate/tollgate/ids"
	"github.com/tollgate/tollgate/store"
	"github.com/tollgate/tollgate/usage"
)

// MonthEventsEnv names the number of raw events BenchUsageQueryMonth
// seeds; unset, the benchmark skips, since seeding 10,000,000 takes a
// long while.
const MonthEventsEnv = "TOLLGATE_BENCH_USAGE_MONTH_EVENTS"

// MonthCacheEnv names the directory the seeded months are kept in between
// runs; unset, it is tollgate-bench in the user's cache directory
// (~/.cache/tollgate-bench). Run as root, PostgreSQL's data directory must
// be reachable by the postgres user, which /root is not: set it then.
const MonthCacheEnv = "TOLLGATE_BENCH_CACHE"

// monthGenerator names what seedMonth writes; raise it when that changes,
// so that kept months are seeded again.
const monthGenerator = 1

// MonthStore is a backend's store over a database kept in a directory
// between runs.
type MonthStore struct {
	Store store.Store
	// Settle makes a month just seeded what autovacuum makes of a month no
	// longer written (PostgreSQL: VACUUM ANALYZE); nil when nothing does.
	Settle func(context.Context) error
	// ServerCPU is the database server's processor time so far; nil when
	// the database runs in this process.
	ServerCPU func() time.Duration
}

// The seeded month: tenant t1, 20 subjects, 4 models, 30 days.
var (
	monthStart = time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	monthSpan  = 30 * 24 * time.Hour
)

// BenchUsageQueryMonth times one tenant-month of LLM events at hourly
// resolution through usage.Service.Query, the method and plan GET
// /v1/usage uses: tenant-wide, grouped by model, grouped by actor and for
// one actor. The month (MonthEventsEnv events, 20 subjects × 4 models,
// evenly over 30 days, written through RecordUsage in batches of 1,000 by
// two writers, as ingestion writes them) is kept in a directory of the
// cache (MonthCacheEnv) named after backend and the number of events, and
// seeded again only when its seed marker — the number of events, the
// generator and the newest migration in the directory migrations — does
// not match. A run that seeds times the queries on the month as seeded
// ("as-seeded/…"), then settles it; every run times it settled. Each query
// reports p50 and p99 latency and the CPU one query costs: this process's
// (decoding, merging; with SQLite, the database too) and the database
// server's. See BENCHMARKS.md.
func BenchUsageQueryMonth(b *testing.B, backend, migrations string, open func(b *testing.B, dir string) MonthStore) {
	n, _ := strconv.Atoi(os.Getenv(MonthEventsEnv))
	if n <= 0 {
		b.Skip(MonthEventsEnv + " not set: skipping the tenant-month query benchmark")
	}
	root := os.Getenv(MonthCacheEnv)
	if root == "" {
		cache, err := os.UserCacheDir()
		if err != nil {
			b.Fatal(err)
		}
		root = filepath.Join(cache, "tollgate-bench")
	}
	dir := filepath.Join(root, fmt.Sprintf("usage-month-%d", n), backend)
	markerPath := dir + ".seed"
	marker := fmt.Sprintf("events=%d generator=%d schema=%s\n", n, monthGenerator, newestMigration(b, migrations))
	got, _ := os.ReadFile(markerPath)
	fresh := string(got) != marker
	if fresh {
		b.Logf("seeding %s: marker %q, want %q", dir, got, marker)
		if err := os.RemoveAll(dir); err != nil {
			b.Fatal(err)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	ms := open(b, dir)
	if fresh {
		seedMonth(b, ms.Store, n)
		benchMonthQueries(b, ms, n, "as-seeded/")
		if ms.Settle != nil {
			if err := ms.Settle(b.Context()); err != nil {
				b.Fatal(err)
			}
		}
		if err := os.WriteFile(markerPath, []byte(marker), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	benchMonthQueries(b, ms, n, "")
}

// newestMigration is the name of the last migration file in dir.
func newestMigration(b *testing.B, dir string) string {
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) == 0 {
		b.Fatalf("migrations in %s: %v", dir, err)
	}
	return entries[len(entries)-1].Name()
}

// seedMonth records n events of t1 over the month: event i at
// monthStart + i × monthSpan/n, of subject i mod 20 and model i/20 mod 4
// (every 80 consecutive events hold each subject and model once), with
// i mod 1000 input tokens.
func seedMonth(b *testing.B, s store.Store, n int) {
	if err := s.CreateTenant(b.Context(), tenant("t1", "slug-t1"), membership("t1", "user:1", "owner")); err != nil {
		b.Fatal(err)
	}
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
					tm := monthStart.Add(time.Duration(int64(monthSpan) / int64(n) * int64(i)))
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
}

// benchMonthQueries times the month's hourly queries, each checked
// against the seed's own totals.
func benchMonthQueries(b *testing.B, ms MonthStore, n int, prefix string) {
	svc := usage.NewService(usage.Deps{Store: ms.Store, Authorizer: permitAll{}}, usage.Options{})
	const actorN = 7
	actor := fmt.Sprintf("agent:%d", actorN)
	var total, actorTotal float64
	for i := range n {
		total += float64(i % 1000)
		if i%20 == actorN {
			actorTotal += float64(i % 1000)
		}
	}
	hours := int(monthSpan / time.Hour)
	base := usage.Query{TenantID: "t1", Meter: "llm_input_tokens", From: monthStart, To: monthStart.Add(monthSpan), Window: usage.WindowHour}
	for _, c := range []struct {
		name  string
		edit  func(q *usage.Query)
		rows  int
		total float64
	}{
		{"hourly", func(*usage.Query) {}, hours, total},
		{"hourly_by_model", func(q *usage.Query) { q.GroupBy = []string{"model"} }, hours * 4, total},
		{"hourly_by_actor", func(q *usage.Query) { q.GroupBy = []string{usage.GroupSubject} }, hours * 20, total},
		{"hourly_one_actor", func(q *usage.Query) { q.Subject = actor }, hours, actorTotal},
	} {
		b.Run(prefix+c.name, func(b *testing.B) {
			q := base
			c.edit(&q)
			var lat []time.Duration
			var server time.Duration
			if ms.ServerCPU != nil {
				server = ms.ServerCPU()
			}
			process := processCPU()
			for b.Loop() {
				start := time.Now()
				a, err := svc.Query(b.Context(), identity.ActorContext{}, q)
				lat = append(lat, time.Since(start))
				if err != nil {
					b.Fatal(err)
				}
				sum := 0.0
				for _, r := range a.Rows {
					sum += r.Value
				}
				if len(a.Rows) != c.rows || sum != c.total {
					b.Fatalf("%d rows totalling %v, want %d totalling %v", len(a.Rows), sum, c.rows, c.total)
				}
			}
			perQuery := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1e3 / float64(len(lat)) }
			b.ReportMetric(perQuery(processCPU()-process), "process-cpu-ms/op")
			if ms.ServerCPU != nil {
				b.ReportMetric(perQuery(ms.ServerCPU()-server), "server-cpu-ms/op")
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1e3, "p50-ms")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1e3, "p99-ms")
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
