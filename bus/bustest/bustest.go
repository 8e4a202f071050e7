// Package bustest is the conformance suite every bus.Bus implementation
// passes. It asserts no timings: it waits for what must arrive (giving up
// only after a generous deadline), and shows that something did not arrive
// by publishing a sentinel after it, which the ordering guarantee delivers
// only after anything published before it.
package bustest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tollgate/tollgate/bus"
)

// deadline is how long the suite waits for a message that must arrive. It
// only bounds a failing test; passing tests never wait for it.
const deadline = 10 * time.Second

// NewBus makes a bus that no other test shares (for NATS: a fresh subject
// prefix; in process: a fresh instance) and returns a Connect for it.
type NewBus func(t *testing.T) Connect

// Connect opens a connection to the bus it was made for, as another replica
// would, and closes it when t ends. Close must therefore be idempotent.
// Connections may be one and the same value where a bus has a single
// connection (the in-process bus); the suite never uses a connection after
// closing another one of the same bus.
type Connect func(t *testing.T) bus.Bus

// Run runs the suite. Every case calls newBus for its own bus, so cases run
// in parallel.
func Run(t *testing.T, newBus NewBus) {
	cases := []struct {
		name string
		test func(t *testing.T, connect Connect)
	}{
		{"FanOut", testFanOut},
		{"ExactSubjects", testExactSubjects},
		{"Order", testOrder},
		{"Stop", testStop},
		{"StopCancelsAndWaitsForHandler", testStopWaits},
		{"ContextEndsSubscription", testContextEnds},
		{"InvalidSubjects", testInvalidSubjects},
		{"NilHandler", testNilHandler},
		{"DoneContext", testDoneContext},
		{"PublishCopiesData", testCopiesData},
		{"Close", testClose},
		{"CloseStopsSubscriptions", testCloseStops},
		{"SlowHandlerDelaysOnlyItsSubscription", testSlowHandler},
		{"HandlerPanic", testHandlerPanic},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.test(t, newBus(t))
		})
	}
}

// inbox records what a subscription received.
type inbox struct {
	mu   sync.Mutex
	msgs []bus.Message
	// changed has room for one wake-up: there is only one waiter.
	changed chan struct{}
}

func newInbox() *inbox {
	return &inbox{changed: make(chan struct{}, 1)}
}

func (in *inbox) handle(_ context.Context, m bus.Message) {
	in.mu.Lock()
	in.msgs = append(in.msgs, bus.Message{Subject: m.Subject, Data: bytes.Clone(m.Data)})
	in.mu.Unlock()
	select {
	case in.changed <- struct{}{}:
	default:
	}
}

func (in *inbox) snapshot() []bus.Message {
	in.mu.Lock()
	defer in.mu.Unlock()
	return append([]bus.Message(nil), in.msgs...)
}

// waitN waits until at least n messages arrived and returns all of them.
func (in *inbox) waitN(t *testing.T, n int) []bus.Message {
	t.Helper()
	timer := time.NewTimer(deadline)
	defer timer.Stop()
	for {
		if msgs := in.snapshot(); len(msgs) >= n {
			return msgs
		}
		select {
		case <-in.changed:
		case <-timer.C:
			t.Fatalf("got %d messages, want %d after waiting %v", len(in.snapshot()), n, deadline)
		}
	}
}

// waitFor waits until a message with data arrived and returns everything
// received up to and including it.
func (in *inbox) waitFor(t *testing.T, data string) []bus.Message {
	t.Helper()
	timer := time.NewTimer(deadline)
	defer timer.Stop()
	for {
		msgs := in.snapshot()
		for i, m := range msgs {
			if string(m.Data) == data {
				return msgs[:i+1]
			}
		}
		select {
		case <-in.changed:
		case <-timer.C:
			t.Fatalf("message %q not received after %v; got %s", data, deadline, dataOf(msgs))
		}
	}
}

func dataOf(msgs []bus.Message) string {
	parts := make([]string, len(msgs))
	for i, m := range msgs {
		parts[i] = fmt.Sprintf("%s:%q", m.Subject, m.Data)
	}
	return "[" + strings.Join(parts, " ") + "]"
}

func subscribe(t *testing.T, b bus.Bus, subject string, h bus.Handler) (stop func()) {
	t.Helper()
	stop, err := b.Subscribe(t.Context(), subject, h)
	if err != nil {
		t.Fatalf("Subscribe(%q): %v", subject, err)
	}
	t.Cleanup(stop)
	return stop
}

func publish(t *testing.T, b bus.Bus, subject, data string) {
	t.Helper()
	if err := b.Publish(t.Context(), subject, []byte(data)); err != nil {
		t.Fatalf("Publish(%q, %q): %v", subject, data, err)
	}
}

// testFanOut is the cross-replica case: a publish reaches every subscription
// of the subject, on the publisher's connection and on another one.
func testFanOut(t *testing.T, connect Connect) {
	a, b := connect(t), connect(t)
	const subject = "tenant.revoked"
	inboxes := []*inbox{newInbox(), newInbox(), newInbox()}
	subscribe(t, a, subject, inboxes[0].handle)
	subscribe(t, a, subject, inboxes[1].handle)
	subscribe(t, b, subject, inboxes[2].handle)

	publish(t, a, subject, "from a")
	publish(t, b, subject, "from b")
	for i, in := range inboxes {
		// Order between two publishers is not promised.
		got := map[string]bool{}
		for _, m := range in.waitN(t, 2) {
			if m.Subject != subject {
				t.Errorf("subscriber %d: subject %q, want %q", i, m.Subject, subject)
			}
			got[string(m.Data)] = true
		}
		if !got["from a"] || !got["from b"] {
			t.Errorf("subscriber %d got %v, want both messages", i, got)
		}
	}
}

func testExactSubjects(t *testing.T, connect Connect) {
	const subject = "orders.created"
	others := []string{
		"orders",
		"orders.created.v2",
		"orders.createdx",
		"Orders.created",
		"orders.updated",
		"created",
	}
	for _, c := range []struct {
		name      string
		otherConn bool
	}{
		{"SameConnection", false},
		{"OtherConnection", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			sub := connect(t)
			pub := sub
			if c.otherConn {
				pub = connect(t)
			}
			in := newInbox()
			subscribe(t, sub, subject, in.handle)
			for _, other := range others {
				subscribe(t, sub, other, func(context.Context, bus.Message) {})
			}
			for _, other := range others {
				publish(t, pub, other, other)
			}
			publish(t, pub, subject, "sentinel")
			if got := in.waitFor(t, "sentinel"); len(got) != 1 {
				t.Errorf("subscriber of %q got %s, want only the sentinel", subject, dataOf(got))
			}
		})
	}
}

func testOrder(t *testing.T, connect Connect) {
	const n = 1000
	for _, c := range []struct {
		name      string
		otherConn bool
	}{
		{"SameConnection", false},
		{"OtherConnection", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			sub := connect(t)
			pub := sub
			if c.otherConn {
				pub = connect(t)
			}
			in := newInbox()
			subscribe(t, sub, "seq", in.handle)
			for i := range n {
				publish(t, pub, "seq", fmt.Sprint(i))
			}
			for i, m := range in.waitN(t, n) {
				if want := fmt.Sprint(i); string(m.Data) != want {
					t.Fatalf("message %d is %q, want %q", i, m.Data, want)
				}
			}
		})
	}
}

// ended runs the shared part of the stop and ctx cases: end() must end
// delivery to one subscription while a witness on the same subject shows the
// later message was delivered.
func ended(t *testing.T, connect Connect, subscribeEnded func(b bus.Bus, h bus.Handler) (end func())) {
	b := connect(t)
	const subject = "user.deleted"
	stopped, witness := newInbox(), newInbox()
	end := subscribeEnded(b, stopped.handle)
	subscribe(t, b, subject, witness.handle)

	publish(t, b, subject, "before")
	stopped.waitFor(t, "before")
	witness.waitFor(t, "before")

	end()
	publish(t, b, subject, "after")
	witness.waitFor(t, "after")
	if got := stopped.snapshot(); len(got) != 1 {
		t.Errorf("ended subscription got %s, want only the message before it ended", dataOf(got))
	}
}

func testStop(t *testing.T, connect Connect) {
	ended(t, connect, func(b bus.Bus, h bus.Handler) func() {
		stop := subscribe(t, b, "user.deleted", h)
		return func() {
			stop()
			stop()
			// Concurrent calls must be just as harmless.
			var wg sync.WaitGroup
			for range 4 {
				wg.Go(stop)
			}
			wg.Wait()
		}
	})
}

func testContextEnds(t *testing.T, connect Connect) {
	ended(t, connect, func(b bus.Bus, h bus.Handler) func() {
		ctx, cancel := context.WithCancel(t.Context())
		stop, err := b.Subscribe(ctx, "user.deleted", h)
		if err != nil {
			t.Fatalf("Subscribe: %v", err)
		}
		t.Cleanup(stop)
		return cancel
	})
}

// testStopWaits checks that stop cancels the handler's ctx, so a handler
// that honours it cannot hold stop up, and that stop returns only after the
// handler did.
func testStopWaits(t *testing.T, connect Connect) {
	b := connect(t)
	started := make(chan struct{})
	var finished atomic.Bool
	stop := subscribe(t, b, "slow", func(ctx context.Context, _ bus.Message) {
		close(started)
		<-ctx.Done()
		finished.Store(true)
	})
	publish(t, b, "slow", "x")
	<-started
	stop()
	if !finished.Load() {
		t.Error("stop returned before the running handler")
	}
}

func testInvalidSubjects(t *testing.T, connect Connect) {
	b := connect(t)
	invalid := []string{
		"",
		".",
		"a.",
		".a",
		"a..b",
		"a b",
		"a\tb",
		"a*",
		"*",
		">",
		"a.>",
		"a.*",
		"a/b",
		"ä",
		"a\x00",
		strings.Repeat("a", 257),
	}
	for _, subject := range invalid {
		if err := b.Publish(t.Context(), subject, nil); !errors.Is(err, bus.ErrInvalidSubject) {
			t.Errorf("Publish(%q) = %v, want ErrInvalidSubject", subject, err)
		}
		stop, err := b.Subscribe(t.Context(), subject, func(context.Context, bus.Message) {})
		if !errors.Is(err, bus.ErrInvalidSubject) {
			t.Errorf("Subscribe(%q) = %v, want ErrInvalidSubject", subject, err)
		}
		if stop != nil {
			stop()
		}
	}
	valid := []string{
		"a",
		"A-b_9.c",
		"tenant.0123.session-revoked",
		strings.Repeat("a", 256),
		strings.Repeat("a.", 127) + "bb",
	}
	for _, subject := range valid {
		if err := b.Publish(t.Context(), subject, nil); err != nil {
			t.Errorf("Publish(%q) = %v, want nil", subject, err)
		}
		subscribe(t, b, subject, func(context.Context, bus.Message) {})
	}
}

func testNilHandler(t *testing.T, connect Connect) {
	b := connect(t)
	if stop, err := b.Subscribe(t.Context(), "a", nil); err == nil {
		stop()
		t.Error("Subscribe with a nil handler succeeded")
	}
}

func testDoneContext(t *testing.T, connect Connect) {
	b := connect(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := b.Publish(ctx, "a", nil); !errors.Is(err, context.Canceled) {
		t.Errorf("Publish with a done ctx = %v, want context.Canceled", err)
	}
	stop, err := b.Subscribe(ctx, "a", func(context.Context, bus.Message) {})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Subscribe with a done ctx = %v, want context.Canceled", err)
	}
	if stop != nil {
		stop()
	}
}

func testCopiesData(t *testing.T, connect Connect) {
	b := connect(t)
	in := newInbox()
	subscribe(t, b, "copy", in.handle)
	data := []byte("original")
	if err := b.Publish(t.Context(), "copy", data); err != nil {
		t.Fatal(err)
	}
	copy(data, "MUTATED!")
	if got := in.waitN(t, 1); string(got[0].Data) != "original" {
		t.Errorf("received %q, want %q", got[0].Data, "original")
	}
}

func testClose(t *testing.T, connect Connect) {
	b := connect(t)
	if err := b.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := b.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := b.Publish(t.Context(), "a", []byte("x")); !errors.Is(err, bus.ErrClosed) {
		t.Errorf("Publish after Close = %v, want ErrClosed", err)
	}
	stop, err := b.Subscribe(t.Context(), "a", func(context.Context, bus.Message) {})
	if !errors.Is(err, bus.ErrClosed) {
		t.Errorf("Subscribe after Close = %v, want ErrClosed", err)
	}
	if stop != nil {
		stop()
	}
}

// testCloseStops checks that Close ends subscriptions the way stop does:
// it cancels the handler's ctx and waits for it, and stop still works after.
func testCloseStops(t *testing.T, connect Connect) {
	b := connect(t)
	started := make(chan struct{})
	var finished atomic.Bool
	stop := subscribe(t, b, "slow", func(ctx context.Context, _ bus.Message) {
		close(started)
		<-ctx.Done()
		finished.Store(true)
	})
	publish(t, b, "slow", "x")
	<-started
	if err := b.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if !finished.Load() {
		t.Error("Close returned before the running handler")
	}
	stop()
}

func testSlowHandler(t *testing.T, connect Connect) {
	b := connect(t)
	const subject, n = "invalidate", 100
	release := make(chan struct{})
	slowStarted := make(chan struct{}, 1)
	subscribe(t, b, subject, func(ctx context.Context, _ bus.Message) {
		select {
		case slowStarted <- struct{}{}:
		default:
		}
		select {
		case <-release:
		case <-ctx.Done():
		}
	})
	// Cleanups run last-in first-out: release before the stop above.
	t.Cleanup(func() { close(release) })
	fast := newInbox()
	subscribe(t, b, subject, fast.handle)

	publish(t, b, subject, "first")
	<-slowStarted
	for i := range n {
		publish(t, b, subject, fmt.Sprint(i))
	}
	fast.waitN(t, n+1)
}

func testHandlerPanic(t *testing.T, connect Connect) {
	b := connect(t)
	in := newInbox()
	subscribe(t, b, "panics", func(ctx context.Context, m bus.Message) {
		if string(m.Data) == "boom" {
			panic("handler panic (expected by the test)")
		}
		in.handle(ctx, m)
	})
	publish(t, b, "panics", "boom")
	publish(t, b, "panics", "after")
	in.waitFor(t, "after")
}
