package audit_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tollgate/tollgate/audit"
	"github.com/tollgate/tollgate/store/sqlite/sqlitetest"
)

// appender wraps the real store to watch batches and inject failures.
type appender struct {
	st audit.Appender
	mu sync.Mutex
	// sizes are the sizes of the batches written.
	sizes []int
	// fail makes the next fail calls fail.
	fail atomic.Int64
	// gate, when set, holds each call until it is closed; entered is
	// signalled as a call arrives.
	gate    chan struct{}
	entered chan struct{}
}

func (a *appender) AppendAudit(ctx context.Context, evs []audit.Event) ([]audit.Event, error) {
	if a.gate != nil {
		select {
		case a.entered <- struct{}{}:
		default:
		}
		<-a.gate
	}
	if a.fail.Add(-1) >= 0 {
		return nil, errors.New("database unavailable")
	}
	a.fail.Store(0)
	out, err := a.st.AppendAudit(ctx, evs)
	if err == nil {
		a.mu.Lock()
		a.sizes = append(a.sizes, len(evs))
		a.mu.Unlock()
	}
	return out, err
}

// drops counts dropped events by reason.
type drops struct {
	mu sync.Mutex
	n  map[string]int
}

func (d *drops) add(reason string, n int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.n == nil {
		d.n = map[string]int{}
	}
	d.n[reason] += n
}

func (d *drops) get(reason string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.n[reason]
}

func event(tenant string) audit.Event {
	return audit.Event{TenantID: tenant, Action: audit.ActionDecision, Outcome: audit.Denied, Reason: "default_deny"}
}

func TestRecorder(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name string
		run  func(t *testing.T, st audit.Store, app *appender, d *drops)
	}{
		{"batches of at most MaxBatch, flushed on Close, chains verify", func(t *testing.T, st audit.Store, app *appender, d *drops) {
			r := audit.NewRecorder(app, audit.RecorderOptions{QueueSize: 3000, FlushInterval: time.Hour, Dropped: d.add})
			for i := range 2500 {
				r.Add(ctx, event([]string{"t1", "t2", ""}[i%3]))
			}
			r.Close(ctx)
			if r.Written() != 2500 || d.get(audit.DropQueueFull) != 0 {
				t.Fatalf("written %d, dropped %v", r.Written(), d.n)
			}
			for _, n := range app.sizes {
				if n > audit.MaxBatch {
					t.Fatalf("a batch of %d", n)
				}
			}
			for _, s := range []string{"t1", "t2", ""} {
				rep, err := audit.Verify(ctx, st, s, audit.VerifyOptions{})
				if err != nil || rep.Break != nil {
					t.Fatalf("stream %q: %v %v", s, err, rep)
				}
			}
		}},
		{"the timer writes without Close", func(t *testing.T, st audit.Store, app *appender, d *drops) {
			r := audit.NewRecorder(app, audit.RecorderOptions{FlushInterval: 20 * time.Millisecond, Dropped: d.add})
			defer r.Close(ctx)
			r.Add(ctx, event("t1"), event("t1"), event("t1"))
			waitFor(t, func() bool { return r.Written() == 3 })
		}},
		{"a full queue drops and counts, never blocks", func(t *testing.T, st audit.Store, app *appender, d *drops) {
			app.gate, app.entered = make(chan struct{}), make(chan struct{}, 1)
			r := audit.NewRecorder(app, audit.RecorderOptions{QueueSize: 4, FlushInterval: time.Millisecond, Dropped: d.add})
			r.Add(ctx, event("t1"))
			<-app.entered // the writer holds one event, stuck in the store
			start := time.Now()
			for range 9 {
				r.Add(ctx, event("t1"))
			}
			if el := time.Since(start); el > 100*time.Millisecond {
				t.Fatalf("Add blocked for %v", el)
			}
			if got := d.get(audit.DropQueueFull); got != 5 {
				t.Fatalf("dropped %d, want 5", got)
			}
			close(app.gate)
			r.Close(ctx)
			if r.Written() != 5 {
				t.Fatalf("written %d, want 5", r.Written())
			}
		}},
		{"a store outage is retried with back-off", func(t *testing.T, st audit.Store, app *appender, d *drops) {
			app.fail.Store(2)
			r := audit.NewRecorder(app, audit.RecorderOptions{Retries: 2, Backoff: time.Millisecond, Dropped: d.add})
			r.Add(ctx, event("t1"), event("t2"))
			r.Flush(ctx)
			if r.Written() != 2 || d.get(audit.DropStoreError) != 0 {
				t.Fatalf("written %d, dropped %v", r.Written(), d.n)
			}
			r.Close(ctx)
		}},
		{"a lasting outage drops the batch, counted", func(t *testing.T, st audit.Store, app *appender, d *drops) {
			app.fail.Store(1 << 40)
			r := audit.NewRecorder(app, audit.RecorderOptions{Retries: 2, Backoff: time.Millisecond, Dropped: d.add})
			r.Add(ctx, event("t1"), event("t1"), event("t1"))
			r.Flush(ctx)
			if r.Written() != 0 || d.get(audit.DropStoreError) != 3 {
				t.Fatalf("written %d, dropped %v", r.Written(), d.n)
			}
			// The store is back: later events are written.
			app.fail.Store(0)
			r.Add(ctx, event("t1"))
			r.Close(ctx)
			if r.Written() != 1 {
				t.Fatalf("written %d after the outage", r.Written())
			}
		}},
		{"an invalid event is dropped alone", func(t *testing.T, st audit.Store, app *appender, d *drops) {
			r := audit.NewRecorder(app, audit.RecorderOptions{Dropped: d.add})
			bad := event("t1")
			bad.Reason = strings.Repeat("x", 300)
			r.Add(ctx, event("t1"), bad, event("t1"))
			r.Close(ctx)
			if r.Written() != 2 || d.get(audit.DropInvalid) != 1 {
				t.Fatalf("written %d, dropped %v", r.Written(), d.n)
			}
		}},
		{"after Close events are dropped as closed", func(t *testing.T, st audit.Store, app *appender, d *drops) {
			r := audit.NewRecorder(app, audit.RecorderOptions{Dropped: d.add})
			r.Close(ctx)
			r.Add(ctx, event("t1"))
			if d.get(audit.DropClosed) != 1 {
				t.Fatalf("dropped %v", d.n)
			}
		}},
		{"events carry the request's origin and the time of the act", func(t *testing.T, st audit.Store, app *appender, d *drops) {
			at := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
			r := audit.NewRecorder(app, audit.RecorderOptions{Now: func() time.Time { return at }})
			octx := audit.WithOrigin(ctx, audit.Origin{ActorID: "user:1", ClientIP: "192.0.2.1", RequestID: "r1"})
			r.Add(octx, event("t1"))
			r.Close(ctx)
			evs, err := st.ReadAudit(ctx, "t1", 0, 10)
			if err != nil || len(evs) != 1 {
				t.Fatal(err, evs)
			}
			e := evs[0]
			if e.ActorID != "user:1" || e.ClientIP != "192.0.2.1" || e.RequestID != "r1" || !e.Time.Equal(at) || e.ID == "" {
				t.Fatalf("stored %+v", e)
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st := sqlitetest.Open(t)
			c.run(t, st, &appender{st: st}, &drops{})
		})
	}
}

// TestRecorderConcurrentAdds races adders with the writer (run with -race).
func TestRecorderConcurrentAdds(t *testing.T) {
	ctx := context.Background()
	st := sqlitetest.Open(t)
	var d drops
	r := audit.NewRecorder(st, audit.RecorderOptions{QueueSize: 100_000, FlushInterval: 5 * time.Millisecond, Dropped: d.add})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 500 {
				r.Add(ctx, event([]string{"a", "b"}[g%2]))
			}
		}()
	}
	wg.Wait()
	r.Close(ctx)
	if r.Written() != 4000 {
		t.Fatalf("written %d, dropped %v", r.Written(), d.n)
	}
	for _, s := range []string{"a", "b"} {
		rep, err := audit.Verify(ctx, st, s, audit.VerifyOptions{})
		if err != nil || rep.Break != nil || rep.Events != 2000 {
			t.Fatalf("stream %s: %v %v", s, err, rep)
		}
	}
}

func waitFor(t *testing.T, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
