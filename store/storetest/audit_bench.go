package storetest

import (
	"fmt"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/tollgate/tollgate/audit"
	tgids "github.com/tollgate/tollgate/ids"
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

// BenchAuditDecisions appends what the PDP's decision log writes under
// bench/run-opa.sh: batches of 1,000 authz.decision events spread over 100
// tenants' streams, asked by one service about 1,000 channels, so that
// every batch lands in many streams and scattered index pages. The table
// grows through the run as a server's does. It reports events/s and the
// process's CPU per event (the store's and SQLite's work, I/O included).
func BenchAuditDecisions(b *testing.B, s store.Store) {
	const tenants, channels = 100, 1000
	evs := make([]audit.Event, audit.MaxBatch)
	n := 0
	cpu0 := processCPU()
	for b.Loop() {
		for i := range evs {
			tm := at(time.Duration(n) * time.Microsecond)
			evs[i] = audit.Event{
				ID: tgids.NewAt(tm), Time: tm, TenantID: fmt.Sprintf("tenant-%03d", n*7%tenants),
				ActorID: "svc_bench", CredentialKind: "service", CredentialID: "key_bench",
				Action: audit.ActionDecision, TargetType: "Channel", TargetID: fmt.Sprintf("chan-%04d", n*31%channels),
				Outcome: audit.Denied, Reason: "no permit", ClientIP: "127.0.0.1", UserAgent: "wrk",
				RequestID: fmt.Sprintf("req-%d", n), TraceID: "4bf92f3577b34da6a3ce929d0e0e4736",
				Detail: map[string]string{"action": "READ", "principal": fmt.Sprintf("user-%05d", n%10000),
					"decision_id": fmt.Sprintf("dec-%d", n), "policy_version": "1"},
			}
			n++
		}
		if _, err := s.AppendAudit(b.Context(), evs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64((processCPU()-cpu0).Microseconds())/float64(n), "cpu-µs/event")
}

// processCPU is the process's user and system CPU time so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
