package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/ids"
)

// BenchmarkUsageHTTPBatch posts batches of 1,000 new usage events with an
// API key to a server on each backend, end to end (loopback HTTP,
// authentication, rate limits, decoding, one transaction per batch), and
// reports events/s and the process's CPU time per event (user and system,
// the server's work and, on SQLite, the database's, measured around each
// request only), steadier than wall time on a shared machine. See
// BENCHMARKS.md.
func BenchmarkUsageHTTPBatch(b *testing.B) {
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			ts := newTestServer(b, be.open(b))
			owner := ts.user("owner@bench.example", false)
			tn, err := ts.app.Identity.CreateTenant(context.Background(), owner.ActorID(), identity.NewTenant{Slug: "bench"})
			if err != nil {
				b.Fatal(err)
			}
			tok := ts.login(owner.Email, tn.ID).str("access_token")
			r := ts.do("POST", "/v1/api-keys", tok, map[string]any{"name": "meter", "scopes": []string{"usage:write"}})
			if r.status != http.StatusCreated {
				b.Fatalf("create key: %s", r.raw)
			}
			h := http.Header{"X-Api-Key": {r.str("key")}, "Content-Type": {"application/cloudevents-batch+json"}}
			const batch = 1000
			now := time.Now().UTC()
			var cpu time.Duration
			for b.Loop() {
				b.StopTimer()
				events := make([]map[string]any, batch)
				for i := range events {
					tm := now.Add(-time.Duration(i%60) * time.Second)
					events[i] = map[string]any{
						"specversion": "1.0", "id": ids.NewAt(tm), "source": "//bench", "type": "usage.llm",
						"subject": fmt.Sprintf("agent:%d", i%20), "time": tm.Format(time.RFC3339Nano),
						"data": map[string]any{"model": fmt.Sprintf("m%d", i%4), "input_tokens": i, "output_tokens": 1},
					}
				}
				body, _ := json.Marshal(events)
				b.StartTimer()
				cpu0 := cpuTime()
				r := ts.send("POST", "/v1/usage/events", h, body)
				cpu += cpuTime() - cpu0
				if r.status != http.StatusAccepted || r.body["accepted"] != float64(batch) {
					b.Fatalf("post: %d %.300s", r.status, r.raw)
				}
			}
			b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "events/s")
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N*batch), "cpu-ns/event")
		})
	}
}
