package usage

import (
	"fmt"
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

// BenchmarkDecodeBatch decodes a batch of 1,000 LLM events as the HTTP
// path receives it and reports CPU time per event; see BENCHMARKS.md
// (issue 13 re-measured).
func BenchmarkDecodeBatch(b *testing.B) {
	var body []byte
	for i := range MaxBatch {
		if i > 0 {
			body = append(body, ',')
		}
		body = fmt.Appendf(body, `{"specversion":"1.0","id":"0193b2d7-6a4e-7c1a-9f3e-%012d","source":"//bench","type":"usage.llm",`+
			`"subject":"agent:%d","time":"2025-03-14T15:00:07Z","data":{"input_tokens":%d,"model":"m%d","output_tokens":1}}`, i, i%20, i, i%4)
	}
	body = append(append([]byte{'['}, body...), ']')
	b.ReportAllocs()
	cpu0 := cpuTime()
	for b.Loop() {
		if _, err := DecodeBatch(body); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.N*MaxBatch), "cpu-ns/event")
}
