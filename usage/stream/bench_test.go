package stream_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/tollgate/tollgate/ids"
)

// BenchmarkNATSToStore publishes b.N batches of 1,000 new events to the
// stream (untimed), then times one replica's consumer recording them all,
// until nothing is pending, and reports events/s. See BENCHMARKS.md.
func BenchmarkNATSToStore(b *testing.B) {
	natsURL(b)
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			f := newFixture(b, be.open(b))
			f.opts.Batch = 1000
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
			began := time.Now()
			f.run(b, c)
			f.drained(b)
			elapsed := time.Since(began)
			if got := f.total(b); got != float64(n) {
				b.Fatalf("recorded %v of %d", got, n)
			}
			b.ReportMetric(float64(n)/elapsed.Seconds(), "events/s")
		})
	}
}
