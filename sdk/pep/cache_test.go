package pep

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/tollgate/tollgate/bus"
	"github.com/tollgate/tollgate/event"
)

func TestCache(t *testing.T) {
	tg := newTollgate(t)
	steps := []struct {
		name   string
		req    Request
		calls  int32 // authorize calls so far
		cached bool
		permit bool
	}{
		{"first ask", tg.req(tg.alice, "READ", "general"), 1, false, true},
		{"the same again", tg.req(tg.alice, "READ", "general"), 1, true, true},
		{"a deny", tg.req(tg.bob, "READ", "general"), 2, false, false},
		{"the deny again", tg.req(tg.bob, "READ", "general"), 2, true, false},
		{"another action", tg.req(tg.alice, "SEND_MESSAGE", "general"), 3, false, true},
		{"with a context", withCtx(tg.req(tg.alice, "READ", "general"), map[string]any{"ip": "10.0.0.1"}), 4, false, true},
		{"the same context", withCtx(tg.req(tg.alice, "READ", "general"), map[string]any{"ip": "10.0.0.1"}), 4, true, true},
		{"another context", withCtx(tg.req(tg.alice, "READ", "general"), map[string]any{"ip": "10.0.0.2"}), 5, false, true},
		{"on behalf of someone", withOBO(tg.req(tg.alice, "READ", "general"), tg.bob), 6, false, true},
		{"an error decision", tg.req(tg.alice, "FLY", "general"), 7, false, false},
		{"is not cached", tg.req(tg.alice, "FLY", "general"), 8, false, false},
	}
	c, tr := tg.client(nil)
	var hits uint64
	for _, s := range steps {
		d, err := c.Authorize(ctx, s.req)
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if d.Cached != s.cached || d.Permit != s.permit || d.DecisionID == "" {
			t.Fatalf("%s: got %s", s.name, fmtDecision(d))
		}
		if n := tr.authorize.Load(); n != s.calls {
			t.Fatalf("%s: %d calls to Tollgate, want %d", s.name, n, s.calls)
		}
		if s.cached {
			hits++
		}
	}
	if st := c.Stats(); st.Hits != hits || st.Misses != uint64(len(steps))-hits || st.Coalesced != 0 {
		t.Fatalf("Stats %+v", st)
	}

	t.Run("disabled", func(t *testing.T) {
		c, tr := tg.client(func(cfg *Config) { cfg.CacheTTL = -1 })
		for range 2 {
			if d, err := c.Authorize(ctx, tg.req(tg.alice, "READ", "general")); err != nil || d.Cached || !d.Permit {
				t.Fatal(d, err)
			}
		}
		if n := tr.authorize.Load(); n != 2 {
			t.Fatalf("%d calls, want 2", n)
		}
	})
}

func withCtx(r Request, m map[string]any) Request { r.Context = m; return r }
func withOBO(r Request, obo string) Request       { r.OnBehalfOf = obo; return r }

func TestTTL(t *testing.T) {
	tg := newTollgate(t)
	c, tr := tg.client(func(cfg *Config) { cfg.CacheTTL = time.Minute })
	clk := newClock()
	c.now = clk.now
	req := tg.req(tg.alice, "READ", "general")
	steps := []struct {
		advance time.Duration
		calls   int32
		cached  bool
	}{
		{0, 1, false},
		{time.Minute - 1, 1, true},
		{1, 2, false}, // exactly at the TTL: expired
		{30 * time.Second, 2, true},
		{31 * time.Second, 3, false},
	}
	for i, s := range steps {
		clk.advance(s.advance)
		d, err := c.Authorize(ctx, req)
		if err != nil || d.Cached != s.cached || !d.Permit {
			t.Fatalf("step %d: %s %v", i, fmtDecision(d), err)
		}
		if n := tr.authorize.Load(); n != s.calls {
			t.Fatalf("step %d: %d calls, want %d", i, n, s.calls)
		}
	}
}

func TestCoalescing(t *testing.T) {
	tg := newTollgate(t)
	c, tr := tg.client(nil)
	// Fetch the service's token first, so that only authorize calls wait.
	if _, err := c.Authorize(ctx, tg.req(tg.bob, "READ", "general")); err != nil {
		t.Fatal(err)
	}
	const n = 16
	gate := tr.hold()
	var joined sync.WaitGroup
	joined.Add(n)
	c.joined = joined.Done
	go func() { joined.Wait(); close(gate) }()
	var wg sync.WaitGroup
	ds := make([]Decision, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { ds[i], errs[i] = c.Authorize(ctx, tg.req(tg.alice, "READ", "general")) })
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil || !ds[i].Permit || ds[i].DecisionID != ds[0].DecisionID {
			t.Fatalf("%d: %s %v", i, fmtDecision(ds[i]), errs[i])
		}
	}
	if calls := tr.authorize.Load(); calls != 2 {
		t.Fatalf("%d calls to Tollgate, want 2 (1 + 1 for the %d concurrent checks)", calls, n)
	}
	if st := c.Stats(); st.Misses != n+1 || st.Coalesced != n-1 {
		t.Fatalf("Stats %+v", st)
	}
}

func TestInvalidation(t *testing.T) {
	tg := newTollgate(t)
	b := bus.NewLocal()
	t.Cleanup(func() { _ = b.Close() })
	c, tr := tg.client(func(cfg *Config) { cfg.Events = b; cfg.CacheTTL = time.Hour })
	alice := tg.req(tg.alice, "READ", "general")
	other := Request{TenantID: tg.otherTenant, Principal: tg.alice, Action: "READ", Resource: Resource{Type: "channel", ID: "general"}}

	ask := func(step string, r Request, cached, permit bool) {
		t.Helper()
		d, err := c.Authorize(ctx, r)
		if err != nil || d.Cached != cached || d.Permit != permit {
			t.Fatalf("%s: got %s %v, want cached %v permit %v", step, fmtDecision(d), err, cached, permit)
		}
	}
	ask("fill", alice, false, true)
	ask("fill the other tenant", other, false, false)
	ask("hit", alice, true, true)

	// Alice leaves the channel; until the event, the cache answers.
	tg.channel("general", tg.bob)
	ask("before the event", alice, true, true)
	publish(t, b, c, event.KindPolicyChanged, tg.tenant)
	ask("after policy_changed", alice, false, false)
	ask("the other tenant keeps its entries", other, true, false)

	publish(t, b, c, event.KindTenantSuspended, tg.otherTenant)
	ask("after tenant_suspended", other, false, false)
	ask("other tenants keep theirs", alice, true, false)

	publish(t, b, c, event.KindActorChanged, tg.alice)
	ask("actor_changed drops everything", alice, false, false)
	ask("everything", other, false, false)
	publish(t, b, c, event.KindActorDisabled, tg.bob)
	ask("actor_disabled too", alice, false, false)
	publish(t, b, c, event.KindActorEnabled, tg.bob)
	ask("actor_enabled too", alice, false, false)
	publish(t, b, c, event.KindTenantActivated, tg.tenant)
	ask("tenant_activated drops the tenant's", alice, false, false)
	ask("refill", other, false, false)
	publishEvent(t, b, c, event.Event{Kind: event.KindActorChanged, ID: tg.bob, Tenant: tg.otherTenant, At: time.Now()}, tg.otherTenant)
	ask("actor_changed within a tenant drops that tenant's", other, false, false)
	ask("and keeps the others'", alice, true, false)

	if n := tr.authorize.Load(); n != 11 {
		t.Fatalf("%d calls, want 11", n)
	}

	// An answer in flight during an event is not stored.
	gate := tr.hold()
	done := make(chan struct{})
	go func() {
		defer close(done)
		if _, err := c.Authorize(ctx, tg.req(tg.bob, "READ", "general")); err != nil {
			t.Error(err)
		}
	}()
	for tr.authorize.Load() != 12 {
		time.Sleep(time.Millisecond)
	}
	publish(t, b, c, event.KindPolicyChanged, tg.tenant)
	close(gate)
	<-done
	tr.mu.Lock()
	tr.gate = nil
	tr.mu.Unlock()
	ask("the answer from before the event", tg.req(tg.bob, "READ", "general"), false, true)
}

func TestStale(t *testing.T) {
	tg := newTollgate(t)
	cases := []struct {
		name     string
		staleFor time.Duration
		advance  time.Duration // past the TTL
		stale    bool
	}{
		{"off by default", 0, 1, false},
		{"within StaleFor", time.Minute, time.Minute - 1, true},
		{"past StaleFor", time.Minute, time.Minute, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := bus.NewLocal()
			t.Cleanup(func() { _ = b.Close() })
			c, tr := tg.client(func(cfg *Config) { cfg.CacheTTL, cfg.StaleFor, cfg.Events = time.Minute, tc.staleFor, b })
			clk := newClock()
			c.now = clk.now
			req := tg.req(tg.alice, "READ", "general")
			if _, err := c.Authorize(ctx, req); err != nil {
				t.Fatal(err)
			}
			tr.down.Store(true)
			if d, err := c.Authorize(ctx, req); err != nil || !d.Cached || d.Stale {
				t.Fatalf("within the TTL: %s %v", fmtDecision(d), err)
			}
			clk.advance(time.Minute + tc.advance)
			d, err := c.Authorize(ctx, req)
			if tc.stale {
				if err != nil || !d.Permit || !d.Cached || !d.Stale {
					t.Fatalf("got %s %v, want a stale permit", fmtDecision(d), err)
				}
				if st := c.Stats(); st.StaleServed != 1 || st.Unavailable != 0 {
					t.Fatalf("Stats %+v", st)
				}
				// Invalidated entries are not served stale.
				publish(t, b, c, event.KindPolicyChanged, tg.tenant)
				d, err = c.Authorize(ctx, req)
			}
			if !errors.Is(err, ErrUnavailable) || !errors.Is(err, errDown) || d.Permit || d.Decision != "" {
				t.Fatalf("got %s %v, want ErrUnavailable", fmtDecision(d), err)
			}
			if st := c.Stats(); st.Unavailable != 1 {
				t.Fatalf("Stats %+v", st)
			}
		})
	}
}

// TestCallerGivesUp: a caller leaving does not end the question it shares
// with others, whose answer still fills the cache.
func TestCallerGivesUp(t *testing.T) {
	tg := newTollgate(t)
	c, tr := tg.client(nil)
	gate := tr.hold()
	cctx, cancel := context.WithCancel(ctx)
	joined := make(chan struct{})
	c.joined = func() { close(joined) }
	errc := make(chan error, 1)
	go func() {
		_, err := c.Authorize(cctx, tg.req(tg.alice, "READ", "general"))
		errc <- err
	}()
	<-joined
	cancel()
	if err := <-errc; !errors.Is(err, ErrUnavailable) || !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want ErrUnavailable and context.Canceled", err)
	}
	c.joined = nil
	close(gate)
	// The flight goes on and stores its answer; wait for it.
	for {
		if d, err := c.Authorize(ctx, tg.req(tg.alice, "READ", "general")); err != nil || !d.Permit {
			t.Fatal(d, err)
		} else if d.Cached {
			break
		}
	}
	if n := tr.authorize.Load(); n != 1 {
		t.Fatalf("%d calls", n)
	}
}
