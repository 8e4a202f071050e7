package bus_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/tollgate/tollgate/bus"
	"github.com/tollgate/tollgate/bus/bustest"
)

func TestLocal(t *testing.T) {
	bustest.Run(t, func(t *testing.T) bustest.Connect {
		l := bus.NewLocal()
		t.Cleanup(func() { l.Close() })
		// A process has one Local, so every "replica" shares it.
		return func(*testing.T) bus.Bus { return l }
	})
}

// TestLocalDropsWhenQueueFull blocks the only handler so that its queue
// fills up, then checks that Publish neither blocks nor loses count, and
// that what was dropped is the newest messages.
func TestLocalDropsWhenQueueFull(t *testing.T) {
	l := bus.NewLocal()
	t.Cleanup(func() { l.Close() })

	release := make(chan struct{})
	started := make(chan struct{})
	received := make(chan string, 4096)
	stop, err := l.Subscribe(t.Context(), "s", func(_ context.Context, m bus.Message) {
		if string(m.Data) == "0" {
			close(started)
			<-release
		}
		received <- string(m.Data)
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)

	publish := func(i int) {
		t.Helper()
		if err := l.Publish(t.Context(), "s", []byte(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	publish(0)
	<-started // message 0 is out of the queue, the queue is empty

	// Fill the queue without knowing its size: the first drop shows it is
	// full, and nothing drains it while the handler is blocked.
	sent := 1
	for l.Dropped() == 0 {
		if sent > 1<<20 {
			t.Fatal("no message dropped although the handler is blocked")
		}
		publish(sent)
		sent++
	}
	const extra = 10
	for range extra {
		publish(sent)
		sent++
	}
	if got := l.Dropped(); got != extra+1 {
		t.Fatalf("Dropped() = %d, want %d", got, extra+1)
	}

	close(release)
	delivered := sent - int(l.Dropped())
	for i := range delivered {
		if got, want := <-received, fmt.Sprint(i); got != want {
			t.Fatalf("delivery %d is %q, want %q", i, got, want)
		}
	}
}

// TestLocalDropsOnlyForTheSlowSubscriber checks that a full queue costs
// only its own subscription messages.
func TestLocalDropsOnlyForTheSlowSubscriber(t *testing.T) {
	l := bus.NewLocal()
	t.Cleanup(func() { l.Close() })

	release := make(chan struct{})
	slowStarted := make(chan struct{}, 1)
	stopSlow, err := l.Subscribe(t.Context(), "s", func(ctx context.Context, _ bus.Message) {
		select {
		case slowStarted <- struct{}{}:
		default:
		}
		select {
		case <-release:
		case <-ctx.Done():
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stopSlow)
	t.Cleanup(func() { close(release) })

	const n, batch = 5000, 500 // n is well beyond one queue, batch well within
	received := make(chan struct{}, n)
	stopFast, err := l.Subscribe(t.Context(), "s", func(context.Context, bus.Message) {
		received <- struct{}{}
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stopFast)

	publish := func(count int) {
		t.Helper()
		for range count {
			if err := l.Publish(t.Context(), "s", []byte("x")); err != nil {
				t.Fatal(err)
			}
		}
		// Let the fast subscriber catch up so that its queue never fills.
		for range count {
			<-received
		}
	}
	publish(1)
	<-slowStarted // the slow handler holds message 1 and its queue is empty
	for range (n - 1) / batch {
		publish(batch)
	}
	publish((n - 1) % batch)

	// Everything that found the slow queue full was dropped, for it alone.
	if got, want := l.Dropped(), uint64(n-1-1024); got != want {
		t.Errorf("Dropped() = %d, want %d", got, want)
	}
}

func BenchmarkPublish(b *testing.B) {
	l := bus.NewLocal()
	defer l.Close()
	stop, err := l.Subscribe(b.Context(), "bench", func(context.Context, bus.Message) {})
	if err != nil {
		b.Fatal(err)
	}
	defer stop()
	data := make([]byte, 64)
	ctx := b.Context()

	b.ReportAllocs()
	for b.Loop() {
		if err := l.Publish(ctx, "bench", data); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(l.Dropped())/float64(b.N), "dropped/op")
}
