package postgres_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/store/postgres/pgtest"
	"github.com/tollgate/tollgate/store/storetest"
)

func BenchmarkGetUser(b *testing.B) {
	s := pgtest.Open(b)
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

func BenchmarkLogin(b *testing.B) { storetest.BenchLogin(b, pgtest.Open(b)) }

func BenchmarkAuditAppend(b *testing.B) {
	for _, batch := range []int{100, 1000} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) { storetest.BenchAuditAppend(b, pgtest.Open(b), batch) })
	}
}

// BenchmarkAuditVerify: TOLLGATE_BENCH_AUDIT_EVENTS=1000000 for the
// issue's figure.
func BenchmarkAuditVerify(b *testing.B) { storetest.BenchAuditVerify(b, pgtest.Open(b)) }

// BenchmarkUsageRecord: decoding and recording batches of new usage events
// (raw rows, minute and hour roll-ups in one transaction); see BENCHMARKS.md.
func BenchmarkUsageRecord(b *testing.B) {
	for _, batch := range []int{100, 1000} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) { storetest.BenchUsageRecord(b, pgtest.Open(b), batch) })
	}
}

// BenchmarkUsageQueryMonth: one tenant-month of raw events (how many:
// storetest.MonthEventsEnv) on a private server whose data directory is
// kept between runs, queried at hourly resolution as seeded and after
// VACUUM ANALYZE; see BENCHMARKS.md.
func BenchmarkUsageQueryMonth(b *testing.B) {
	storetest.BenchUsageQueryMonth(b, "postgres", "migrations", func(b *testing.B, dir string) storetest.MonthStore {
		p := pgtest.StartKept(b, filepath.Join(dir, "data"))
		s := pgtest.OpenAt(b, p.URL)
		return storetest.MonthStore{Store: s,
			Settle:    func(ctx context.Context) error { return s.Exec(ctx, "VACUUM ANALYZE") },
			ServerCPU: func() time.Duration { return p.CPU(b) }}
	})
}

// BenchmarkWebhookThroughput: audit events to signed deliveries on a
// loopback receiver; see BENCHMARKS.md.
func BenchmarkWebhookThroughput(b *testing.B) {
	storetest.BenchWebhookThroughput(b, pgtest.Open(b), 5000)
}

// BenchmarkWebhookBacklog: the webhook API's store calls with a backlog of
// pending deliveries; TOLLGATE_BENCH_WEBHOOK_BACKLOG sets its size
// (default 100000).
func BenchmarkWebhookBacklog(b *testing.B) {
	for _, n := range []int{0, storetest.WebhookBacklog()} {
		b.Run(fmt.Sprintf("backlog=%d", n), func(b *testing.B) { storetest.BenchWebhookBacklog(b, pgtest.Open(b), n) })
	}
}

// BenchmarkAuditDecisions: the decision log's appends, many streams per
// batch; see BENCHMARKS.md.
func BenchmarkAuditDecisions(b *testing.B) { storetest.BenchAuditDecisions(b, pgtest.Open(b)) }
