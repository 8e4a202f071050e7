package storetest

import (
	"fmt"
	"testing"
	"time"

	tgids "github.com/tollgate/tollgate/ids"
	"github.com/tollgate/tollgate/store"
	"github.com/tollgate/tollgate/usage"
)

// BenchUsageRecord decodes and records batches of batch new LLM events
// (time-ordered ids, 20 subjects, 4 models, spread over a minute) through
// usage.Service, as the HTTP and NATS paths do, and reports events/s.
func BenchUsageRecord(b *testing.B, s store.Store, batch int) {
	if err := s.CreateTenant(b.Context(), tenant("t1", "slug-t1"), membership("t1", "user:1", "owner")); err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	svc := usage.NewService(usage.Deps{Store: s, Now: func() time.Time { return now.Add(time.Hour) }}, usage.Options{})
	raw := make([][]byte, batch)
	decoded := make([]usage.Decoded, batch)
	for b.Loop() {
		b.StopTimer()
		for i := range raw {
			tm := now.Add(time.Duration(i%60) * time.Second)
			raw[i] = ev{"t1", "svc/agents", tgids.NewAt(tm), usage.TypeLLM, fmt.Sprintf("user:%d", i%20), 0,
				map[string]any{"model": fmt.Sprintf("m%d", i%4), "input_tokens": i, "output_tokens": 1}}.jsonAt(tm)
		}
		b.StartTimer()
		for i, r := range raw {
			e, err := usage.Decode(r)
			decoded[i] = usage.Decoded{Event: e, Err: err}
		}
		res, err := svc.Record(b.Context(), decoded)
		if err != nil || res.Accepted != batch {
			b.Fatalf("record: %+v %v", res.Rejected, err)
		}
	}
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "events/s")
}
