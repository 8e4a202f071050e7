package storetest

import (
	"os"
	"strconv"
	"testing"

	"github.com/tollgate/tollgate/audit"
	"github.com/tollgate/tollgate/store"
)

// BenchAuditEnv sizes BenchAuditVerify's stream; the default keeps the
// suite quick, and BENCHMARKS.md gives the 1,000,000-event run.
const BenchAuditEnv = "TOLLGATE_BENCH_AUDIT_EVENTS"

// BenchAuditAppend appends batches of batch events to one stream, the
// case that cannot spread over streams, and reports events/s.
func BenchAuditAppend(b *testing.B, s store.Store, batch int) {
	evs := auditEvents("t1", 0, batch)
	for b.Loop() {
		if _, err := s.AppendAudit(b.Context(), evs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "events/s")
}

// BenchAuditVerify verifies one stream of $TOLLGATE_BENCH_AUDIT_EVENTS
// events (default 100,000), reading it from the store, and reports
// events/s.
func BenchAuditVerify(b *testing.B, s store.Store) {
	n := 100_000
	if v, err := strconv.Atoi(os.Getenv(BenchAuditEnv)); err == nil && v > 0 {
		n = v
	}
	evs := auditEvents("t1", 0, audit.MaxBatch)
	for done := 0; done < n; done += len(evs) {
		if _, err := s.AppendAudit(b.Context(), evs[:min(len(evs), n-done)]); err != nil {
			b.Fatal(err)
		}
	}
	for b.Loop() {
		r, err := audit.Verify(b.Context(), s, "t1", audit.VerifyOptions{ReadAhead: VerifyReadAhead})
		if err != nil || r.Break != nil || r.Events != int64(n) {
			b.Fatalf("verify: %v %v", r, err)
		}
	}
	b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "events/s")
}

// VerifyReadAhead is what the CLI's verify uses.
const VerifyReadAhead = 4
