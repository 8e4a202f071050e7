package sqlite_test

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/store/sqlite"
	"github.com/tollgate/tollgate/store/storetest"
)

func BenchmarkGetUser(b *testing.B) {
	s := open(b)
	now := time.Now()
	u := identity.User{ID: "u1", Email: "alice@example.com", Status: identity.UserActive, CreatedAt: now, UpdatedAt: now}
	if err := s.CreateUser(b.Context(), u); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := s.GetUser(b.Context(), "u1"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLogin(b *testing.B) { storetest.BenchLogin(b, open(b)) }

func BenchmarkAuditAppend(b *testing.B) {
	for _, batch := range []int{100, 1000} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) { storetest.BenchAuditAppend(b, open(b), batch) })
	}
}

// BenchmarkAuditVerify: TOLLGATE_BENCH_AUDIT_EVENTS=1000000 for the
// issue's figure.
func BenchmarkAuditVerify(b *testing.B) { storetest.BenchAuditVerify(b, open(b)) }

// BenchmarkUsageRecord: decoding and recording batches of new usage events
// (raw rows, minute and hour roll-ups in one transaction); see BENCHMARKS.md.
func BenchmarkUsageRecord(b *testing.B) {
	for _, batch := range []int{100, 1000} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) { storetest.BenchUsageRecord(b, open(b), batch) })
	}
}

// BenchmarkUsageQueryMonth: one tenant-month of raw events (how many:
// storetest.MonthEventsEnv) in a database file kept between runs, queried
// at hourly resolution; see BENCHMARKS.md.
func BenchmarkUsageQueryMonth(b *testing.B) {
	storetest.BenchUsageQueryMonth(b, "sqlite", "migrations", func(b *testing.B, dir string) storetest.MonthStore {
		s, err := sqlite.Open(b.Context(), filepath.Join(dir, "tollgate.db"))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = s.Close() })
		if err := s.Migrate(b.Context()); err != nil {
			b.Fatal(err)
		}
		return storetest.MonthStore{Store: s}
	})
}

// BenchmarkWebhookThroughput: audit events to signed deliveries on a
// loopback receiver; see BENCHMARKS.md.
func BenchmarkWebhookThroughput(b *testing.B) {
	storetest.BenchWebhookThroughput(b, open(b), 5000)
}

// BenchmarkWebhookBacklog: the webhook API's store calls with a backlog of
// pending deliveries; TOLLGATE_BENCH_WEBHOOK_BACKLOG sets its size
// (default 100000).
func BenchmarkWebhookBacklog(b *testing.B) {
	for _, n := range []int{0, storetest.WebhookBacklog()} {
		b.Run(fmt.Sprintf("backlog=%d", n), func(b *testing.B) { storetest.BenchWebhookBacklog(b, open(b), n) })
	}
}

// BenchmarkAuditDecisions: the decision log's appends, many streams per
// batch; see BENCHMARKS.md.
func BenchmarkAuditDecisions(b *testing.B) { storetest.BenchAuditDecisions(b, open(b)) }
