package nats

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	natsgo "github.com/nats-io/nats.go"

	"github.com/tollgate/tollgate/bus"
	"github.com/tollgate/tollgate/bus/bustest"
)

const urlEnv = "TOLLGATE_TEST_NATS_URL"

// serverURL returns the test server's URL, skipping the test when none is
// configured. A configured server that is down fails the test instead, in
// connect.
func serverURL(tb testing.TB) string {
	tb.Helper()
	u := os.Getenv(urlEnv)
	if u == "" {
		tb.Skip(urlEnv + " not set: skipping NATS tests")
	}
	return u
}

// randomPrefix keeps parallel tests, and runs sharing a server, apart.
func randomPrefix() string {
	b := make([]byte, 8)
	rand.Read(b)
	return "test" + hex.EncodeToString(b)
}

func testLogger(tb testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tb.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
}

func connect(tb testing.TB, url, prefix string) *Bus {
	tb.Helper()
	ctx, cancel := context.WithTimeout(tb.Context(), 10*time.Second)
	defer cancel()
	b, err := Connect(ctx, url, Options{Prefix: prefix, Name: tb.Name(), Log: testLogger(tb)})
	if err != nil {
		tb.Fatalf("Connect: %v", err)
	}
	tb.Cleanup(func() {
		if err := b.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return b
}

func TestBus(t *testing.T) {
	url := serverURL(t)
	bustest.Run(t, func(t *testing.T) bustest.Connect {
		prefix := randomPrefix()
		return func(t *testing.T) bus.Bus { return connect(t, url, prefix) }
	})
}

// TestPrefix checks on the wire that subjects carry the prefix, using a
// plain nats.go connection as the other side.
func TestPrefix(t *testing.T) {
	url := serverURL(t)
	own, other := randomPrefix(), randomPrefix()
	b := connect(t, url, own)
	raw, err := natsgo.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(raw.Close)

	got := make(chan bus.Message, 10)
	stop, err := b.Subscribe(t.Context(), "s", func(_ context.Context, m bus.Message) { got <- m })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	wire, err := raw.SubscribeSync(own + ".s")
	if err != nil {
		t.Fatal(err)
	}
	if err := raw.Flush(); err != nil {
		t.Fatal(err)
	}

	// One publisher, so the other prefix's message would arrive first.
	if err := raw.Publish(other+".s", []byte("other installation")); err != nil {
		t.Fatal(err)
	}
	if err := raw.Publish(own+".s", []byte("sentinel")); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-got:
		if m.Subject != "s" || string(m.Data) != "sentinel" {
			t.Errorf("got %s %q, want the sentinel on s", m.Subject, m.Data)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("sentinel not received")
	}
	// Drain the sentinel from the wire subscription before the real check.
	if _, err := wire.NextMsg(10 * time.Second); err != nil {
		t.Fatal(err)
	}

	if err := b.Publish(t.Context(), "s", []byte("x")); err != nil {
		t.Fatal(err)
	}
	m, err := wire.NextMsg(10 * time.Second)
	if err != nil {
		t.Fatalf("nothing on %s.s: %v", own, err)
	}
	if string(m.Data) != "x" {
		t.Errorf("got %q on %s, want %q", m.Data, m.Subject, "x")
	}
}

func TestDefaultPrefix(t *testing.T) {
	url := serverURL(t)
	b := connect(t, url, "")
	if b.prefix != DefaultPrefix+"." {
		t.Errorf("prefix %q, want %q", b.prefix, DefaultPrefix+".")
	}
}

func TestConnected(t *testing.T) {
	url := serverURL(t)
	b := connect(t, url, randomPrefix())
	if !b.Connected() {
		t.Error("Connected() = false right after Connect")
	}
	if err := b.Flush(t.Context()); err != nil {
		t.Errorf("Flush: %v", err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if b.Connected() {
		t.Error("Connected() = true after Close")
	}
	if err := b.Flush(t.Context()); !errors.Is(err, bus.ErrClosed) {
		t.Errorf("Flush after Close = %v, want ErrClosed", err)
	}
}

// TestConnectUnreachable needs no server: it connects to a port nobody
// listens on, and must get the refusal, not wait for its ctx.
func TestConnectUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()

	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	url := fmt.Sprintf("nats://alice:s3cret@%s", addr)
	b, err := Connect(ctx, url, Options{Log: testLogger(t)})
	if err == nil {
		b.Close()
		t.Fatal("Connect to a closed port succeeded")
	}
	if ctx.Err() != nil {
		t.Errorf("Connect waited for its ctx instead of failing: %v", err)
	}
	if strings.Contains(err.Error(), "s3cret") || strings.Contains(err.Error(), "alice") {
		t.Errorf("error leaks credentials: %v", err)
	}
	if !strings.Contains(err.Error(), addr) {
		t.Errorf("error %q does not name the server %s", err, addr)
	}
}

func TestConnectDoneContext(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := Connect(ctx, "nats://127.0.0.1:1", Options{}); !errors.Is(err, context.Canceled) {
		t.Errorf("Connect with a done ctx = %v, want context.Canceled", err)
	}
}

func TestConnectInvalidPrefix(t *testing.T) {
	for _, prefix := range []string{"a.", "a b", "a.*", ">"} {
		_, err := Connect(t.Context(), "nats://127.0.0.1:1", Options{Prefix: prefix})
		if !errors.Is(err, bus.ErrInvalidSubject) {
			t.Errorf("Connect with prefix %q = %v, want ErrInvalidSubject", prefix, err)
		}
	}
}

func TestRedactURL(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"nats://127.0.0.1:4222", "nats://127.0.0.1:4222"},
		{"nats://alice:s3cret@host:4222", "nats://REDACTED@host:4222"},
		{"nats://t0ken@host:4222", "nats://REDACTED@host:4222"},
		{"tls://a:b@h1:4222, nats://h2:4222", "tls://REDACTED@h1:4222,nats://h2:4222"},
		{"alice:s3cret@host:4222", "nats://REDACTED@host:4222"},
		{"host:4222", "nats://host:4222"},
		{"nats://alice:s3cret@host:port%zz", "<invalid URL>"},
	} {
		if got := redactURL(c.in); got != c.want {
			t.Errorf("redactURL(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// BenchmarkPublish measures what one publisher sustains towards one
// subscriber on another connection (another replica). It flushes every
// flushEvery messages, as without any back-pressure it would only measure
// how fast nats.go fills its buffer until the server cuts the connection.
func BenchmarkPublish(b *testing.B) {
	const flushEvery = 1000
	url := serverURL(b)
	prefix := randomPrefix()
	pub, sub := connect(b, url, prefix), connect(b, url, prefix)
	var received atomic.Int64
	stop, err := sub.Subscribe(b.Context(), "bench", func(context.Context, bus.Message) {
		received.Add(1)
	})
	if err != nil {
		b.Fatal(err)
	}
	defer stop()
	data := make([]byte, 64)
	ctx := b.Context()

	b.ReportAllocs()
	n := 0
	for b.Loop() {
		if err := pub.Publish(ctx, "bench", data); err != nil {
			b.Fatal(err)
		}
		if n++; n%flushEvery == 0 {
			if err := pub.Flush(ctx); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := pub.Flush(ctx); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	// Messages still on their way count as lost: a lower bound, for
	// information only.
	b.ReportMetric(float64(received.Load())/float64(n), "received/op")
}
