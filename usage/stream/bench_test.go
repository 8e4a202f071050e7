package stream_test

import (
	"encoding/json"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/tollgate/tollgate/ids"
	"github.com/tollgate/tollgate/store"
	"github.com/tollgate/tollgate/store/postgres/pgtest"
	"github.com/tollgate/tollgate/store/sqlite/sqlitetest"
)

// benchBackends are the stores BenchmarkNATSToStore records into, each
// with the CPU time its database server has used (none for SQLite, which
// runs in process). PostgreSQL is a private server, so that its CPU is the
// benchmark's alone.
var benchBackends = []struct {
	name string
	open func(b *testing.B) (store.Store, func() time.Duration)
}{
	{"sqlite", func(b *testing.B) (store.Store, func() time.Duration) {
		return sqlitetest.Open(b), func() time.Duration { return 0 }
	}},
	{"postgres", func(b *testing.B) (store.Store, func() time.Duration) {
		pgtest.URL(b)
		pg := pgtest.StartPrivate(b)
		st := pgtest.OpenAt(b, pg.URL)
		return st, func() time.Duration { return pg.CPU(b) }
	}},
}

// BenchmarkNATSToStore publishes b.N batches of 1,000 new events to the
// stream of a private nats-server (untimed), then times one replica's
// consumer recording them all, until nothing is pending. It reports
// events/s, the largest lag the consumer itself reported (Pending, what an
// operator alerts on) and the CPU per event of the three processes the
// target needs: this one (decoding, the consumer, the client side of the
// store), the database server and the NATS server; their sum, and the
// ceiling of events/s two cores (2e6 CPU-µs/s) give at that sum. On a
// shared machine the CPU figures, unlike events/s, do not depend on what
// else runs. See BENCHMARKS.md.
func BenchmarkNATSToStore(b *testing.B) {
	for _, be := range benchBackends {
		for _, workers := range []int{2, 4} {
			b.Run(fmt.Sprintf("%s/workers=%d", be.name, workers), func(b *testing.B) {
				st, serverCPU := be.open(b)
				ns := startPrivateNATS(b)
				f := newFixtureAt(b, st, ns.url)
				f.opts.Batch = 1000
				f.opts.Workers = workers
				const batch = 1000
				// The stream exists from here; the consumer runs later.
				c := f.connect(b)
				n := 0
				for b.Loop() {
					b.StopTimer()
					start := time.Date(2025, 3, 14, 15, 0, 0, 0, time.UTC)
					for i := range batch {
						tm := start.Add(time.Duration(i%60) * time.Second)
						data, _ := json.Marshal(map[string]any{
							"specversion": "1.0", "id": ids.NewAt(tm), "source": "//bench", "type": "usage.llm", "tenant": "t1",
							"subject": fmt.Sprintf("agent:%d", i%20), "time": tm.Format(time.RFC3339Nano),
							"data": map[string]any{"model": fmt.Sprintf("m%d", i%4), "input_tokens": 1},
						})
						if _, err := f.js.PublishAsync(f.subject+".llm", data); err != nil {
							b.Fatal(err)
						}
					}
					<-f.js.PublishAsyncComplete()
					n += batch
					b.StartTimer()
				}
				// b.Loop timed only publishing's bookkeeping: what counts is the
				// consumer over everything published, timed here.
				lag := make(chan int64)
				stop := make(chan struct{})
				go func() {
					var most int64
					t := time.NewTicker(10 * time.Millisecond)
					defer t.Stop()
					for {
						most = max(most, c.Pending())
						select {
						case <-stop:
							lag <- most
							return
						case <-t.C:
						}
					}
				}()
				cpu0, db0, nats0 := processCPU(), serverCPU(), ns.CPU(b)
				began := time.Now()
				f.run(b, c)
				f.drained(b)
				elapsed := time.Since(began)
				cpu, db, nats := processCPU()-cpu0, serverCPU()-db0, ns.CPU(b)-nats0
				close(stop)
				if got := f.total(b); got != float64(n) {
					b.Fatalf("recorded %v of %d", got, n)
				}
				perEvent := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e3 / float64(n) }
				sum := perEvent(cpu + db + nats)
				b.ReportMetric(float64(n)/elapsed.Seconds(), "events/s")
				b.ReportMetric(float64(<-lag), "lag-max")
				b.ReportMetric(perEvent(cpu), "proc-cpu-µs/event")
				b.ReportMetric(perEvent(db), "db-cpu-µs/event")
				b.ReportMetric(perEvent(nats), "nats-cpu-µs/event")
				b.ReportMetric(sum, "sum-cpu-µs/event")
				b.ReportMetric(2e6/sum, "ceiling-events/s")
			})
		}
	}
}

// processCPU is the user and system time this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
