package stream_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/store"
	"github.com/tollgate/tollgate/store/postgres/pgtest"
	"github.com/tollgate/tollgate/store/sqlite/sqlitetest"
	"github.com/tollgate/tollgate/usage"
	"github.com/tollgate/tollgate/usage/stream"
)

const urlEnv = "TOLLGATE_TEST_NATS_URL"

func natsURL(tb testing.TB) string {
	tb.Helper()
	u := os.Getenv(urlEnv)
	if u == "" {
		tb.Skip(urlEnv + " not set: skipping JetStream tests")
	}
	return u
}

// backends are the stores the consumer records into; PostgreSQL joins
// when TOLLGATE_TEST_POSTGRES_URL is set.
var backends = []struct {
	name string
	open func(tb testing.TB) store.Store
}{
	{"sqlite", func(tb testing.TB) store.Store { return sqlitetest.Open(tb) }},
	{"postgres", func(tb testing.TB) store.Store { return pgtest.Open(tb) }},
}

// fixture is a stream, subjects and consumer of the test's own, deleted
// when it ends, and a store with tenant t1.
type fixture struct {
	url, subject string
	opts         stream.Options
	store        store.Store
	svc          *usage.Service
	nc           *natsgo.Conn
	js           jetstream.JetStream
}

func newFixture(tb testing.TB, st store.Store) *fixture {
	tb.Helper()
	return newFixtureAt(tb, st, natsURL(tb))
}

// newFixtureAt is newFixture on the NATS server at url.
func newFixtureAt(tb testing.TB, st store.Store, url string) *fixture {
	tb.Helper()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	id := hex.EncodeToString(b)
	f := &fixture{url: url, subject: "t" + id + ".usage", store: st}
	f.opts = stream.Options{
		Stream: "TEST_USAGE_" + id, Subjects: f.subject + ".>", Consumer: "tollgate-usage",
		MaxAge: time.Hour, DuplicateWindow: time.Minute, Batch: 200, AckWait: 5 * time.Second,
		Log: slog.New(slog.NewTextHandler(tb.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
	now := time.Date(2025, 3, 14, 16, 0, 0, 0, time.UTC)
	f.svc = usage.NewService(usage.Deps{Store: st, Now: func() time.Time { return now }}, usage.Options{})
	ctx := context.Background()
	if err := st.CreateTenant(ctx, identity.Tenant{ID: "t1", Slug: "t1", Name: "T1", Status: identity.TenantActive, CreatedAt: now, UpdatedAt: now},
		identity.Membership{TenantID: "t1", ActorID: "user:1", Roles: []string{identity.RoleOwner}, CreatedAt: now, UpdatedAt: now}); err != nil {
		tb.Fatal(err)
	}
	nc, err := natsgo.Connect(url)
	if err != nil {
		tb.Fatal(err)
	}
	f.nc = nc
	f.js, _ = jetstream.New(nc)
	tb.Cleanup(func() {
		_ = f.js.DeleteStream(context.Background(), f.opts.Stream)
		nc.Close()
	})
	return f
}

// start runs a consumer (a replica) until the test ends.
func (f *fixture) start(tb testing.TB) *stream.Consumer {
	tb.Helper()
	c := f.connect(tb)
	f.run(tb, c)
	return c
}

// connect sets up the stream and the consumer without running it.
func (f *fixture) connect(tb testing.TB) *stream.Consumer {
	tb.Helper()
	c, err := stream.Connect(tb.Context(), f.url, f.svc, f.opts)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// run runs c until the test ends.
func (f *fixture) run(tb testing.TB, c *stream.Consumer) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.Run(ctx)
	}()
	tb.Cleanup(func() {
		cancel()
		<-done
		_ = c.Close()
	})
}

func event(id, source string, tokens int) []byte {
	b, _ := json.Marshal(map[string]any{
		"specversion": "1.0", "id": id, "source": source, "type": "usage.llm", "subject": "agent:1", "tenant": "t1",
		"time": "2025-03-14T15:30:00Z", "data": map[string]any{"model": "m", "input_tokens": tokens},
	})
	return b
}

// publish publishes on JetStream, with a Nats-Msg-Id when msgID is set.
func (f *fixture) publish(tb testing.TB, subject string, data []byte, msgID string) {
	tb.Helper()
	var opts []jetstream.PublishOpt
	if msgID != "" {
		opts = append(opts, jetstream.WithMsgID(msgID))
	}
	if _, err := f.js.Publish(tb.Context(), subject, data, opts...); err != nil {
		tb.Fatal(err)
	}
}

// drained waits until the consumer has nothing pending or unacknowledged.
func (f *fixture) drained(tb testing.TB) {
	tb.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		cons, err := f.js.Consumer(tb.Context(), f.opts.Stream, f.opts.Consumer)
		if err == nil {
			info, err := cons.Info(tb.Context())
			if err == nil && info.NumPending == 0 && info.NumAckPending == 0 {
				return
			}
		}
		if time.Now().After(deadline) {
			tb.Fatal("the consumer did not drain within 30s")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (f *fixture) total(tb testing.TB) float64 {
	tb.Helper()
	parts, err := f.store.ReadUsage(tb.Context(), usage.StoreQuery{TenantID: "t1", Meter: "llm_input_tokens", Aggregation: usage.Sum,
		FromMinute: 0, ToMinute: 1 << 40})
	if err != nil {
		tb.Fatal(err)
	}
	sum := 0.0
	for _, p := range parts {
		sum += p.Value
	}
	return sum
}

func forEachBackend(t *testing.T, fn func(t *testing.T, f *fixture)) {
	natsURL(t)
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			fn(t, newFixture(t, b.open(t)))
		})
	}
}

// TestDuplicatesCountedOnce: a repeated Nats-Msg-Id is dropped by the
// stream; a repeated CloudEvents id under another message id, or from a
// plain core-NATS publish, is dropped by the store.
func TestDuplicatesCountedOnce(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		f.start(t)
		llm := f.subject + ".llm"
		f.publish(t, llm, event("a", "svc", 1), "m-a")
		f.publish(t, llm, event("a", "svc", 1), "m-a")
		f.publish(t, llm, event("a", "svc", 1), "m-a-again")
		f.publish(t, llm, event("b", "svc", 10), "")
		// Core NATS, as the ecosystem's services publish: captured by the
		// stream's subjects.
		for range 2 {
			if err := f.nc.Publish(f.subject+".tool", event("c", "svc", 100)); err != nil {
				t.Fatal(err)
			}
		}
		if err := f.nc.Flush(); err != nil {
			t.Fatal(err)
		}
		f.drained(t)
		if got := f.total(t); got != 111 {
			t.Fatalf("total %v, want 111: a, b and c once each", got)
		}
	})
}

// TestTerminatesInvalid: a message that can never be an event is
// terminated and counted, not redelivered, and the valid ones around it
// still count.
func TestTerminatesInvalid(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		c := f.start(t)
		llm := f.subject + ".llm"
		f.publish(t, llm, event("ok1", "svc", 2), "")
		f.publish(t, llm, []byte("not an event"), "")
		other := event("ghost", "svc", 5)
		var m map[string]any
		_ = json.Unmarshal(other, &m)
		m["tenant"] = "no-such-tenant"
		other, _ = json.Marshal(m)
		f.publish(t, llm, other, "")
		f.publish(t, llm, event("ok2", "svc", 3), "")
		f.drained(t)
		if got := f.total(t); got != 5 {
			t.Fatalf("total %v, want 5", got)
		}
		if got := c.Terminated(); got != 2 {
			t.Fatalf("terminated %d, want 2", got)
		}
		cons, err := f.js.Consumer(t.Context(), f.opts.Stream, f.opts.Consumer)
		if err != nil {
			t.Fatal(err)
		}
		if info, err := cons.Info(t.Context()); err != nil || info.NumRedelivered != 0 {
			t.Fatalf("redelivered %+v, %v; want none", info, err)
		}
	})
}

// TestTwoConsumersExact: two replicas on one durable consumer, events with
// 10 % duplicates published concurrently: every unique event once.
func TestTwoConsumersExact(t *testing.T) {
	forEachBackend(t, func(t *testing.T, f *fixture) {
		f.start(t)
		f.start(t)
		const n = 2000
		want := 0.0
		var wg sync.WaitGroup
		for p := range 2 {
			wg.Go(func() {
				for i := p; i < n; i += 2 {
					id := fmt.Sprintf("e%05d", i)
					if i%10 == 9 {
						// A duplicate of an earlier event, under a new message id.
						id = fmt.Sprintf("e%05d", i-9)
					}
					if _, err := f.js.PublishAsync(f.subject+".llm", event(id, "svc", i-i%10+1)); err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
		for i := 0; i < n; i++ {
			if i%10 != 9 {
				want += float64(i - i%10 + 1)
			}
		}
		wg.Wait()
		select {
		case <-f.js.PublishAsyncComplete():
		case <-time.After(30 * time.Second):
			t.Fatal("publishes not acknowledged")
		}
		f.drained(t)
		if got := f.total(t); got != want {
			t.Fatalf("total %v, want %v", got, want)
		}
	})
}
