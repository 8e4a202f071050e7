package storetest

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tollgate/tollgate/store"
	"github.com/tollgate/tollgate/usage"
)

// testUsageRebuildWhileRecording: events recorded into a range while it
// is rebuilt over and over are each counted once, in minutes and in
// hours. Every event starts roll-up rows of its own (a subject of its
// own), the case in which a step that read the raw events after the
// event committed would add it to the row the event wrote.
func testUsageRebuildWhileRecording(t *testing.T, s store.Store) {
	usageTenants(t, s)
	svc := usageService(t, s)
	const events = 400
	var recorded atomic.Bool
	var wg sync.WaitGroup
	wg.Go(func() {
		defer recorded.Store(true)
		for i := range events {
			recordConcurrently(t, svc, []ev{llm("t1", fmt.Sprint(i), fmt.Sprintf("user:%d", i), "gpt", time.Duration(i%120)*time.Second, 1, 0)})
		}
	})
	q := usage.RebuildQuery{TenantID: "t1", Meter: "llm_input_tokens", From: usageT0, To: usageT0.Add(time.Hour)}
	for rebuilds := 0; !recorded.Load() || rebuilds == 0; rebuilds++ {
		if _, err := svc.Rebuild(t.Context(), q, nil); err != nil {
			t.Errorf("rebuild %d: %v", rebuilds, err)
			break
		}
	}
	wg.Wait()
	if got := total(t, svc, "t1", "llm_input_tokens"); got != events {
		t.Errorf("llm_input_tokens = %v, want %d", got, events)
	}
	minute, hour := usageT0.Unix()/60, usageT0.Unix()/60
	for _, hours := range []usage.MinuteRange{{}, {From: hour, To: hour + 60}} {
		parts := ok(s.ReadUsage(t.Context(), usage.StoreQuery{TenantID: "t1", Meter: "llm_input_tokens", Aggregation: usage.Sum,
			FromMinute: minute, ToMinute: minute + 60, Hours: hours}))(t)
		if got := partsTotal(parts); got != events {
			t.Errorf("read with hours %+v = %v, want %d", hours, got, events)
		}
	}
}
