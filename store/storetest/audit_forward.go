package storetest

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tollgate/tollgate/audit"
	"github.com/tollgate/tollgate/store"
)

// testAuditForwardClaimAndAdvance: every stream gets a cursor at 0; a
// leased stream is not claimed again; the cursor moves only for the
// lease's owner, and only forward.
func testAuditForwardClaimAndAdvance(t *testing.T, b AuditBackend) {
	ctx := t.Context()
	s := b.Store
	appendAudit(t, s, append(auditEvents("ta", 0, 5), auditEvents("", 0, 2)...), 100)
	got := ok(s.ClaimAuditForward(ctx, "a", at(0), at(time.Minute), 10))(t)
	slices.SortFunc(got, func(x, y audit.ForwardCursor) int { return strings.Compare(x.TenantID, y.TenantID) })
	check(t, "first claim", got, []audit.ForwardCursor{{TenantID: "", Seq: 0}, {TenantID: "ta", Seq: 0}})
	check(t, "while leased", len(ok(s.ClaimAuditForward(ctx, "b", at(time.Second), at(time.Minute), 10))(t)), 0)
	check(t, "advance by another owner", ok(s.AdvanceAuditForward(ctx, "b", "ta", 5, at(time.Second)))(t), false)
	check(t, "advance by the owner", ok(s.AdvanceAuditForward(ctx, "a", "ta", 3, at(time.Second)))(t), true)
	check(t, "advance again, lease released", ok(s.AdvanceAuditForward(ctx, "a", "ta", 5, at(time.Second)))(t), false)
	check(t, "behind again", ok(s.ClaimAuditForward(ctx, "b", at(2*time.Second), at(time.Minute), 10))(t),
		[]audit.ForwardCursor{{TenantID: "ta", Seq: 3}})
	check(t, "back is not moved", ok(s.AdvanceAuditForward(ctx, "b", "ta", 2, at(3*time.Second)))(t), true)
	check(t, "still at 3", ok(s.ClaimAuditForward(ctx, "c", at(4*time.Second), at(time.Minute), 10))(t),
		[]audit.ForwardCursor{{TenantID: "ta", Seq: 3}})
	check(t, "caught up", ok(s.AdvanceAuditForward(ctx, "c", "ta", 5, at(5*time.Second)))(t), true)
	// The platform stream was never advanced: its lease ends and it is
	// claimed again; ta is caught up.
	check(t, "lease ended", ok(s.ClaimAuditForward(ctx, "d", at(time.Hour), at(2*time.Hour), 10))(t), []audit.ForwardCursor{{TenantID: ""}})
	appendAudit(t, s, auditEvents("ta", 5, 1), 10)
	check(t, "a new event", ok(s.ClaimAuditForward(ctx, "e", at(time.Hour), at(2*time.Hour), 10))(t),
		[]audit.ForwardCursor{{TenantID: "ta", Seq: 5}})
}

// testAuditForwardLeaseTakeover: a lease that is never released ends, and
// the stream is claimed by another owner from the unmoved cursor; the
// first owner can no longer move it.
func testAuditForwardLeaseTakeover(t *testing.T, b AuditBackend) {
	ctx := t.Context()
	s := b.Store
	appendAudit(t, s, auditEvents("ta", 0, 3), 10)
	check(t, "claim", ok(s.ClaimAuditForward(ctx, "a", at(0), at(time.Minute), 10))(t), []audit.ForwardCursor{{TenantID: "ta"}})
	check(t, "before the lease ends", len(ok(b.Replica.ClaimAuditForward(ctx, "b", at(time.Minute-time.Second), at(2*time.Minute), 10))(t)), 0)
	check(t, "after", ok(b.Replica.ClaimAuditForward(ctx, "b", at(time.Minute), at(2*time.Minute), 10))(t), []audit.ForwardCursor{{TenantID: "ta"}})
	check(t, "the first owner lost it", ok(s.AdvanceAuditForward(ctx, "a", "ta", 3, at(time.Minute)))(t), false)
	check(t, "the second owner moves it", ok(b.Replica.AdvanceAuditForward(ctx, "b", "ta", 3, at(time.Minute)))(t), true)
}

// testAuditForwardClaimsNeverShared: forwarders racing on two replicas
// over many streams never hold one stream at once.
func testAuditForwardClaimsNeverShared(t *testing.T, b AuditBackend) {
	ctx := t.Context()
	const streams = 40
	var evs []audit.Event
	for i := range streams {
		evs = append(evs, auditEvents(fmt.Sprintf("t%02d", i), 0, 2)...)
	}
	appendAudit(t, b.Store, evs, 1000)
	warmUp(t, b.Store)
	warmUp(t, b.Replica)
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	for w := range 6 {
		st := []store.Store{b.Store, b.Replica}[w%2]
		wg.Go(func() {
			for {
				curs, err := st.ClaimAuditForward(ctx, fmt.Sprint("owner", w), at(0), at(time.Hour), 3)
				if err != nil {
					t.Error(err)
					return
				}
				if len(curs) == 0 {
					return
				}
				mu.Lock()
				for _, c := range curs {
					seen[c.TenantID]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(seen) != streams {
		t.Fatalf("claimed %d distinct streams, want %d", len(seen), streams)
	}
	for id, c := range seen {
		if c != 1 {
			t.Fatalf("%s was claimed %d times", id, c)
		}
	}
}
