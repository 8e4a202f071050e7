package storetest

import (
	"fmt"
	"testing"
)

// testAuditConcurrentReplicas races appenders on two Store instances over
// one database, on a stream that exists and on one that each batch may be
// the first to create: every event must land exactly once, in one
// unbroken chain.
func testAuditConcurrentReplicas(t *testing.T, b AuditBackend) {
	const writers, batches, size = 6, 8, 25
	appendAudit(t, b.Store, auditEvents("t1", 0, 1), 1)
	errs := make([]error, writers)
	race(t, writers, func(w int) func() {
		s := b.Store
		if w%2 == 1 {
			s = b.Replica
		}
		return func() {
			for i := range batches {
				base := 1 + (w*batches+i)*size
				evs := auditEvents("t1", base, size)
				// Half the batches also write the new stream t2.
				if i%2 == 0 {
					evs = append(evs, auditEvents("t2", base, 3)...)
				}
				if _, err := s.AppendAudit(t.Context(), evs); err != nil {
					errs[w] = fmt.Errorf("batch %d: %w", i, err)
					return
				}
			}
		}
	}, b.Store, b.Replica)
	for w, err := range errs {
		if err != nil {
			t.Fatalf("writer %d: %v", w, err)
		}
	}
	for tenant, n := range map[string]int{"t1": 1 + writers*batches*size, "t2": writers * batches / 2 * 3} {
		events := readAll(t, b.Store, tenant, 1000)
		if len(events) != n {
			t.Fatalf("%s: %d events, want %d", tenant, len(events), n)
		}
		seen := map[string]bool{}
		for _, e := range events {
			if seen[e.ID] {
				t.Fatalf("%s: event %s stored twice", tenant, e.ID)
			}
			seen[e.ID] = true
		}
		wantVerified(t, verify(t, b.Replica, tenant, nil), int64(n))
		check(t, tenant+" head", ok(b.Replica.AuditHead(t.Context(), tenant))(t).Seq, int64(n))
	}
}
