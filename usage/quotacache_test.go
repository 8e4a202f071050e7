package usage

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/tollgate/tollgate/policy"
)

// waitRead waits until qs has served more than n quota reads: a read
// started in the background ends when it will.
func waitRead(t *testing.T, qs *quotaStore, n int) {
	t.Helper()
	for {
		qs.mu.Lock()
		reads := qs.reads
		qs.mu.Unlock()
		if reads > n {
			return
		}
		select {
		case <-t.Context().Done():
			t.Fatalf("no read after %d", n)
		case <-time.After(time.Millisecond):
		}
	}
}

// held waits until the cache holds an entry of tenantID read at readAt.
func held(t *testing.T, c *QuotaCache, tenantID string, readAt time.Time) {
	t.Helper()
	for {
		if v, ok := c.tenants.Load(tenantID); ok && v.(*quotaEntry).readAt.Equal(readAt) {
			return
		}
		select {
		case <-t.Context().Done():
			t.Fatalf("no entry of %s read at %s", tenantID, readAt)
		case <-time.After(time.Millisecond):
		}
	}
}

// TestQuotaCacheRefreshesAhead: past RefreshAhead of MaxAge a decision
// does not wait for the store, even a stuck one: it decides on the totals
// held and one read starts in the background, whose totals the next
// decisions see.
func TestQuotaCacheRefreshesAhead(t *testing.T) {
	c, totals, qs, _, clk := newQuotaWorld(t)
	qs.quotas["t1"] = []Quota{{Meter: "tool_runs", Limit: 100}}
	totals.set("tool_runs", 10)
	ctx := t.Context()
	if st, err := c.QuotaState(ctx, "t1", "user:1", clk.now()); err != nil || st.Exceeded() {
		t.Fatalf("first decision: %v, %v", st, err)
	}
	clk.add(800 * time.Millisecond)
	totals.set("tool_runs", 100)
	qs.mu.Lock() // the store is stuck
	for range 3 {
		st, err := c.QuotaState(ctx, "t1", "user:1", clk.now())
		if err != nil || st.Exceeded() {
			qs.mu.Unlock()
			t.Fatalf("a decision 0.8 s after the read: %v, %v; want the held totals at once", st, err)
		}
	}
	qs.mu.Unlock()
	held(t, c, "t1", clk.now())
	if st, err := c.QuotaState(ctx, "t1", "user:1", clk.now()); err != nil || !st.Exceeded() {
		t.Fatalf("after the read ahead: %v, %v; want exceeded", st, err)
	}
	if qs.reads != 2 {
		t.Errorf("quotas read %d times, want 2: three decisions started one read ahead", qs.reads)
	}
}

// TestQuotaCacheNeverOlderThanMaxAge: a crossing is seen by the first
// decision MaxAge after the totals held were read, whether or not a read
// ahead ran; at that age a decision waits for the store and fails closed
// when it cannot be read.
func TestQuotaCacheNeverOlderThanMaxAge(t *testing.T) {
	for _, c := range []struct {
		name    string
		advance time.Duration
	}{
		{"exactly MaxAge", time.Second},
		{"later", time.Minute},
	} {
		t.Run(c.name, func(t *testing.T) {
			qc, totals, qs, _, clk := newQuotaWorld(t)
			qs.quotas["t1"] = []Quota{{Meter: "tool_runs", Limit: 100}}
			totals.set("tool_runs", 99)
			if st, err := qc.QuotaState(t.Context(), "t1", "user:1", clk.now()); err != nil || st.Exceeded() {
				t.Fatalf("under: %v, %v", st, err)
			}
			totals.set("tool_runs", 100)
			clk.add(c.advance)
			if st, err := qc.QuotaState(t.Context(), "t1", "user:1", clk.now()); err != nil || !st.Exceeded() {
				t.Fatalf("after %s: %v, %v; want exceeded", c.advance, st, err)
			}
			clk.add(c.advance)
			qc.store = failingStore{}
			if _, err := qc.QuotaState(t.Context(), "t1", "user:1", clk.now()); err == nil {
				t.Fatal("totals past MaxAge that cannot be read again: no error")
			}
		})
	}
}

type failingStore struct{ Store }

func (failingStore) ReadUsage(context.Context, StoreQuery) ([]Partial, error) {
	return nil, errors.New("the store is down")
}

// TestQuotaCacheTenantsApart: one tenant's totals, actor quotas and
// invalidation touch no other tenant, an actor of the same id included.
func TestQuotaCacheTenantsApart(t *testing.T) {
	c, totals, qs, _, clk := newQuotaWorld(t)
	totals.set("tool_runs", 5)
	qs.quotas["t1"] = []Quota{{Meter: "tool_runs", Actor: "agent:7", Limit: 5}}
	qs.quotas["t2"] = []Quota{{Meter: "tool_runs", Limit: 1000}}
	ctx := t.Context()
	for _, step := range []struct {
		tenant, actor string
		exceeded      bool
	}{
		{"t1", "agent:7", true},
		{"t2", "agent:7", false},
		{"t1", "agent:8", false},
	} {
		st, err := c.QuotaState(ctx, step.tenant, step.actor, clk.now())
		if err != nil || st == nil || st.Exceeded() != step.exceeded {
			t.Fatalf("%s %s: %v, %v; want exceeded %v", step.tenant, step.actor, st, err, step.exceeded)
		}
	}
	if st, err := c.QuotaState(ctx, "t3", "agent:7", clk.now()); st != nil || err != nil {
		t.Fatalf("t3 has no quotas: %v, %v", st, err)
	}
	reads := qs.reads
	c.Invalidate("t1")
	if _, err := c.QuotaState(ctx, "t2", "agent:7", clk.now()); err != nil || qs.reads != reads {
		t.Fatalf("t2 read again after t1's quotas changed (%d reads, %v)", qs.reads-reads, err)
	}
	if _, err := c.QuotaState(ctx, "t1", "agent:7", clk.now()); err != nil || qs.reads != reads+1 {
		t.Fatalf("t1 not read again after its quotas changed (%d reads, %v)", qs.reads-reads, err)
	}
}

// TestQuotaCacheInvalidateDuringRead: quotas changed while a read ahead
// runs are read again at once, not hidden for MaxAge by the read that
// began before the change.
func TestQuotaCacheInvalidateDuringRead(t *testing.T) {
	c, totals, qs, _, clk := newQuotaWorld(t)
	qs.quotas["t1"] = []Quota{{Meter: "tool_runs", Limit: 100}}
	totals.set("tool_runs", 50)
	ctx := t.Context()
	if _, err := c.QuotaState(ctx, "t1", "user:1", clk.now()); err != nil {
		t.Fatal(err)
	}
	clk.add(800 * time.Millisecond)
	totals.mu.Lock()
	if _, err := c.QuotaState(ctx, "t1", "user:1", clk.now()); err != nil {
		totals.mu.Unlock()
		t.Fatal(err)
	}
	// The read ahead has the old quotas and waits for the totals; the
	// quotas change under it.
	waitRead(t, qs, 1)
	qs.mu.Lock()
	qs.quotas["t1"] = []Quota{{Meter: "tool_runs", Limit: 10}}
	qs.mu.Unlock()
	c.Invalidate("t1")
	totals.mu.Unlock()
	c.reading.Wait()
	// What the read begun before the change holds is not kept by an
	// engine either.
	if v, ok := c.tenants.Load("t1"); !ok || v.(*quotaEntry).answer.Usable(clk.now()) {
		t.Fatalf("the read begun before the change: held %v, want it held and not usable", ok)
	}
	// A decision may still share the read that began before the change
	// (it is served once); the next reads again.
	if _, err := c.QuotaState(ctx, "t1", "user:1", clk.now()); err != nil {
		t.Fatal(err)
	}
	if st, err := c.QuotaState(ctx, "t1", "user:1", clk.now()); err != nil || !st.Exceeded() {
		t.Fatalf("after the change: %v, %v; want the new limit of 10 exceeded", st, err)
	}
}

// TestQuotaCacheBounded: at most MaxTenants are held; a closed cache
// reads nothing and fails decisions closed.
func TestQuotaCacheBounded(t *testing.T) {
	_, totals, qs, _, clk := newQuotaWorld(t)
	c := NewQuotaCache(QuotaCacheDeps{Store: totals, Quotas: qs, Now: clk.now}, QuotaCacheOptions{MaxTenants: 2})
	for _, tn := range []string{"t1", "t2", "t3", "t1"} {
		if _, err := c.QuotaState(t.Context(), tn, "user:1", clk.now()); err != nil {
			t.Fatal(err)
		}
	}
	n := 0
	c.tenants.Range(func(any, any) bool { n++; return true })
	if n != 2 || c.held != 2 {
		t.Fatalf("%d entries held (counted %d), want 2", n, c.held)
	}
	c.Close()
	if _, err := c.QuotaState(t.Context(), "t4", "user:1", clk.now()); !errors.Is(err, errQuotaCacheClosed) {
		t.Fatalf("after Close: %v", err)
	}
}

// TestQuotaCacheConcurrentDecisions: many decisions of many tenants at
// once, reads ahead among them (run with -race).
func TestQuotaCacheConcurrentDecisions(t *testing.T) {
	totals := &totalsStore{values: map[string]float64{"tool_runs": 50}}
	qs := &quotaStore{quotas: map[string][]Quota{}, claimed: map[Crossing]bool{}}
	tenants := []string{"t1", "t2", "t3", "t4"}
	for _, tn := range tenants {
		qs.quotas[tn] = []Quota{{Meter: "tool_runs", Limit: 100}}
	}
	c := NewQuotaCache(QuotaCacheDeps{Store: totals, Quotas: qs}, QuotaCacheOptions{MaxAge: 4 * time.Millisecond, MaxTenants: 3})
	defer c.Close()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				tn := tenants[(g+i)%len(tenants)]
				if st, err := c.QuotaState(t.Context(), tn, "user:1", time.Now()); err != nil || st.Exceeded() {
					t.Errorf("%s: %v, %v", tn, st, err)
					return
				}
				if i%50 == 0 {
					c.Invalidate(tn)
				}
			}
		})
	}
	wg.Wait()
}

// TestQuotaCacheSupersedesWhatItStopsHolding: an answer handed out is
// usable (engines keep it beside the tenant's snapshot) until RefreshAhead
// of MaxAge has passed, and no longer once the cache stops holding it: the
// quotas changed, newer totals were read, or the tenant was evicted. So an
// engine never uses an answer where the cache would answer otherwise.
func TestQuotaCacheSupersedesWhatItStopsHolding(t *testing.T) {
	_, totals, qs, _, clk := newQuotaWorld(t)
	c := NewQuotaCache(QuotaCacheDeps{Store: totals, Quotas: qs, Now: clk.now}, QuotaCacheOptions{MaxTenants: 2})
	defer c.Close()
	qs.quotas["t1"] = []Quota{{Meter: "tool_runs", Limit: 100}}
	ctx := t.Context()
	answer := func(tenantID string) *policy.TenantQuotas {
		t.Helper()
		q, err := c.TenantQuotas(ctx, tenantID, clk.now())
		if err != nil {
			t.Fatal(err)
		}
		return q
	}
	start := clk.now()
	first := answer("t1")
	if !first.Usable(start) || !first.Usable(start.Add(749*time.Millisecond)) || first.Usable(start.Add(750*time.Millisecond)) {
		t.Fatal("an answer read at start is usable for RefreshAhead of MaxAge, 750 ms, and no longer")
	}
	if answer("t1") != first {
		t.Fatal("a held answer is not the one handed out")
	}
	none := answer("t2") // no quotas: usable for NoQuotasTTL
	if none.Of("user:1") != nil || !none.Usable(start.Add(59*time.Second)) {
		t.Fatal("a tenant without quotas: want no state, usable for a minute")
	}

	c.Invalidate("t1")
	if first.Usable(start) {
		t.Fatal("an answer still usable after its quotas changed")
	}
	second := answer("t1")
	if second == first || !second.Usable(start) {
		t.Fatal("after the change: want a new, usable answer")
	}

	// Past RefreshAhead a decision starts a read; once its totals are held
	// the answer before is superseded, though not yet MaxAge old.
	clk.add(800 * time.Millisecond)
	reads := qs.reads
	if answer("t1") != second {
		t.Fatal("past RefreshAhead the held answer is served while reading")
	}
	waitRead(t, qs, reads)
	held(t, c, "t1", clk.now())
	if second.Usable(start) {
		t.Fatal("an answer still usable after newer totals were held")
	}

	// A third tenant evicts one of the two held; whichever it is, its
	// answer is superseded.
	third := answer("t1")
	answer("t3")
	if _, ok := c.tenants.Load("t1"); ok == !third.Usable(clk.now()) {
		t.Fatalf("t1 held %v, its answer usable %v", ok, third.Usable(clk.now()))
	}
	if _, ok := c.tenants.Load("t2"); ok == !none.Usable(clk.now()) {
		t.Fatalf("t2 held %v, its answer usable %v", ok, none.Usable(clk.now()))
	}
}

// QuotaState is the state a decision of actorID in tenantID sees at now,
// nil when the tenant has no quotas: what the engine takes from
// TenantQuotas, for the tests that ask about one actor. The engine itself
// keeps the tenant's answer and calls Of.
func (c *QuotaCache) QuotaState(ctx context.Context, tenantID, actorID string, now time.Time) (*policy.QuotaState, error) {
	q, err := c.TenantQuotas(ctx, tenantID, now)
	if err != nil {
		return nil, err
	}
	return q.Of(actorID), nil
}
