package usage

import (
	"syscall"
	"testing"
	"time"
)

// BenchmarkDecode decodes and validates one LLM event as the NATS and HTTP
// paths receive it, and reports the process's CPU time per event besides
// wall time, which a busy machine inflates; see BENCHMARKS.md (usage
// ingestion).
func BenchmarkDecode(b *testing.B) {
	raw := []byte(`{"specversion":"1.0","id":"0193b2d7-6a4e-7c1a-9f3e-2b8d4c6a1e5f","source":"//bench","type":"usage.llm","tenant":"t1",` +
		`"subject":"agent:7","time":"2025-03-14T15:00:07Z","data":{"input_tokens":1,"model":"m3","output_tokens":12}}`)
	b.ReportAllocs()
	cpu0 := cpuTime()
	for b.Loop() {
		if _, err := Decode(raw); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/op")
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
