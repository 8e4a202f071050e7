// Package nats is the bus.Bus of a fleet of replicas, on a NATS server.
//
// It uses core NATS publish/subscribe, not JetStream: the bus carries
// fan-out invalidation events that every replica needs now or not at all.
// A replica that was away re-reads the store anyway (the bus promises at
// most once), so persisting events would buy nothing but a stream to
// provision, per-replica consumers to clean up and a disk write per event.
package nats

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	natsgo "github.com/nats-io/nats.go"

	"github.com/tollgate/tollgate/bus"
)

var _ bus.Bus = (*Bus)(nil)

// DefaultPrefix is the subject prefix when Options.Prefix is empty.
const DefaultPrefix = "tollgate"

const (
	// connectTimeout bounds each attempt to reach a server, at start and on
	// reconnect, so that an unreachable address fails Connect in seconds.
	connectTimeout = 5 * time.Second
	// flushTimeout bounds a round trip whose caller set no deadline.
	flushTimeout = 5 * time.Second
	// slowLogEvery limits slow-consumer warnings: under sustained load
	// nats.go reports one whenever a subscription falls behind again,
	// which can be many times a second. The limit is per Bus: one line is
	// enough to show that a replica cannot keep up.
	slowLogEvery = 10 * time.Second
	// queueLen is how many messages a subscription may fall behind before
	// nats.go drops them for it (and reports a slow consumer), the same
	// bound as the in-process bus.
	queueLen = 1024
)

// Options configure Connect.
type Options struct {
	// Prefix goes in front of every subject, followed by a dot, so that
	// installations or tests sharing one server never see each other's
	// messages. It must itself be a valid subject. Default DefaultPrefix.
	Prefix string
	// Name identifies this process in the server's connection list.
	Name string
	// Log receives connection events and handler panics. Default
	// slog.Default().
	Log *slog.Logger
}

// Bus is a connection to a NATS server. It is safe for concurrent use.
type Bus struct {
	nc     *natsgo.Conn
	prefix string // with the trailing dot
	log    *slog.Logger

	// closed is set first thing in Close, so Publish fails from then on
	// and connection callbacks know the disconnect was ours.
	closed atomic.Bool
	mu     sync.Mutex
	subs   map[*subscription]struct{}

	lastSlowLog atomic.Int64 // unix nanoseconds
}

// Connect connects to servers, one NATS URL or a comma-separated list. It
// fails if no server can be reached now, within a few seconds or ctx;
// once connected, the Bus reconnects forever, buffering publishes in the
// meantime, because a replica must survive a restart of the NATS server.
func Connect(ctx context.Context, servers string, opts Options) (*Bus, error) {
	safeURL := redactURL(servers)
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("bus/nats: connect to %s: %w", safeURL, err)
	}
	prefix := opts.Prefix
	if prefix == "" {
		prefix = DefaultPrefix
	}
	if err := bus.ValidateSubject(prefix); err != nil {
		return nil, fmt.Errorf("bus/nats: prefix: %w", err)
	}
	log := opts.Log
	if log == nil {
		log = slog.Default()
	}
	b := &Bus{
		prefix: prefix + ".",
		log:    log.With("nats_url", safeURL),
		subs:   map[*subscription]struct{}{},
	}

	type result struct {
		nc  *natsgo.Conn
		err error
	}
	done := make(chan result, 1)
	go func() {
		nc, err := natsgo.Connect(servers,
			natsgo.Name(opts.Name),
			natsgo.Timeout(connectTimeout),
			natsgo.MaxReconnects(-1),
			natsgo.DisconnectErrHandler(b.onDisconnect),
			natsgo.ReconnectHandler(b.onReconnect),
			natsgo.ErrorHandler(b.onError),
		)
		done <- result{nc, err}
	}()
	// natsgo.Connect takes no ctx: stop waiting for it when ctx ends and
	// close the connection it may still make.
	select {
	case r := <-done:
		if r.err != nil {
			return nil, fmt.Errorf("bus/nats: connect to %s: %w", safeURL, r.err)
		}
		b.nc = r.nc
	case <-ctx.Done():
		b.closed.Store(true) // keeps the callbacks quiet
		go func() {
			if r := <-done; r.nc != nil {
				r.nc.Close()
			}
		}()
		return nil, fmt.Errorf("bus/nats: connect to %s: %w", safeURL, ctx.Err())
	}
	b.log.Info("bus/nats: connected", "server", redactURL(b.nc.ConnectedUrl()), "prefix", prefix)
	return b, nil
}

// Connected reports whether the connection to a server is up, for
// readiness: while it is down, events are buffered or lost.
func (b *Bus) Connected() bool {
	return b.nc.IsConnected()
}

// Publish hands the message to nats.go's buffer, which copies data, and
// returns without waiting for the server; use Flush to know it left.
// While reconnecting, messages are buffered up to nats.go's reconnect
// buffer (8 MiB) and Publish fails beyond it.
func (b *Bus) Publish(ctx context.Context, subject string, data []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := bus.ValidateSubject(subject); err != nil {
		return err
	}
	if b.closed.Load() {
		return fmt.Errorf("bus/nats: publish %q: %w", subject, bus.ErrClosed)
	}
	if err := b.nc.Publish(b.prefix+subject, data); err != nil {
		return fmt.Errorf("bus/nats: publish %q: %w", subject, b.mapErr(err))
	}
	return nil
}

// Flush waits until the server has received everything published so far:
// the publisher of a revocation uses it before reporting success. Without a
// deadline in ctx it gives up after a few seconds.
func (b *Bus) Flush(ctx context.Context) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, flushTimeout)
		defer cancel()
	}
	if err := b.nc.FlushWithContext(ctx); err != nil {
		return fmt.Errorf("bus/nats: flush: %w", b.mapErr(err))
	}
	return nil
}

// Subscribe calls h for each message on subject from a goroutine of its
// own. It returns once the server knows of the subscription, so that a
// message another replica publishes afterwards is delivered, as bus.Bus
// promises; while disconnected it returns at once, as nats.go re-subscribes
// on reconnect.
func (b *Bus) Subscribe(ctx context.Context, subject string, h bus.Handler) (func(), error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := bus.ValidateSubject(subject); err != nil {
		return nil, err
	}
	if h == nil {
		return nil, errors.New("bus/nats: nil handler")
	}
	s := &subscription{
		bus:     b,
		subject: subject,
		handler: h,
		msgs:    make(chan *natsgo.Msg, queueLen),
		done:    make(chan struct{}),
	}
	s.ctx, s.cancel = context.WithCancel(ctx)

	b.mu.Lock()
	if b.closed.Load() {
		b.mu.Unlock()
		s.cancel()
		return nil, fmt.Errorf("bus/nats: subscribe %q: %w", subject, bus.ErrClosed)
	}
	// A channel subscription, unlike nats.go's callback one, lets stop
	// wait for the running handler, and bounds the queue: nats.go drops
	// rather than block its reader when the channel is full.
	ns, err := b.nc.ChanSubscribe(b.prefix+subject, s.msgs)
	if err != nil {
		b.mu.Unlock()
		s.cancel()
		return nil, fmt.Errorf("bus/nats: subscribe %q: %w", subject, b.mapErr(err))
	}
	s.sub = ns
	b.subs[s] = struct{}{}
	go s.run()
	b.mu.Unlock()

	if !b.nc.IsConnected() {
		return s.stop, nil
	}
	if err := b.Flush(s.ctx); err != nil {
		switch {
		case ctx.Err() != nil:
			s.stop()
			return nil, ctx.Err()
		case !b.nc.IsConnected():
			// The connection dropped meanwhile; the subscription stands,
			// as it would had it been made while disconnected.
		default:
			s.stop()
			return nil, fmt.Errorf("bus/nats: subscribe %q: %w", subject, err)
		}
	}
	return s.stop, nil
}

// Close stops every subscription, waiting for running handlers, then sends
// what is still buffered and closes the connection. The subscriptions being
// gone already, that is what nats.go's Drain would do, without its
// asynchronous completion to wait for.
func (b *Bus) Close() error {
	if b.closed.Swap(true) {
		return nil
	}
	b.mu.Lock()
	subs := b.subs
	b.subs = nil
	b.mu.Unlock()
	// End them all before waiting for any, so slow handlers wind down
	// together.
	for s := range subs {
		s.unsubscribe()
	}
	for s := range subs {
		<-s.done
	}

	var err error
	if b.nc.IsConnected() {
		if ferr := b.nc.FlushTimeout(flushTimeout); ferr != nil {
			err = fmt.Errorf("bus/nats: close: messages published just before may be lost: %w", ferr)
		}
	}
	b.nc.Close()
	b.log.Info("bus/nats: closed")
	return err
}

// mapErr lets callers test for bus.ErrClosed whichever side closed.
func (b *Bus) mapErr(err error) error {
	if errors.Is(err, natsgo.ErrConnectionClosed) {
		return fmt.Errorf("%w: %w", bus.ErrClosed, err)
	}
	return err
}

func (b *Bus) onDisconnect(_ *natsgo.Conn, err error) {
	if b.closed.Load() {
		return
	}
	b.log.Warn("bus/nats: disconnected, reconnecting; events are buffered or lost meanwhile", "err", err)
}

func (b *Bus) onReconnect(nc *natsgo.Conn) {
	b.log.Info("bus/nats: reconnected", "server", redactURL(nc.ConnectedUrl()))
}

func (b *Bus) onError(_ *natsgo.Conn, sub *natsgo.Subscription, err error) {
	if sub == nil {
		b.log.Error("bus/nats: connection error", "err", err)
		return
	}
	subject := strings.TrimPrefix(sub.Subject, b.prefix)
	if errors.Is(err, natsgo.ErrSlowConsumer) {
		now, last := time.Now().UnixNano(), b.lastSlowLog.Load()
		if now-last < int64(slowLogEvery) || !b.lastSlowLog.CompareAndSwap(last, now) {
			return
		}
		dropped, _ := sub.Dropped()
		b.log.Warn("bus/nats: subscriber falling behind, messages dropped", "subject", subject, "dropped_total", dropped)
		return
	}
	b.log.Warn("bus/nats: subscription error", "subject", subject, "err", err)
}

type subscription struct {
	bus     *Bus
	subject string
	handler bus.Handler
	msgs    chan *natsgo.Msg
	sub     *natsgo.Subscription

	// ctx is done when the subscription ends for any reason; it is also the
	// handler's ctx.
	ctx    context.Context
	cancel context.CancelFunc
	end    sync.Once
	done   chan struct{} // closed when run has returned
}

func (s *subscription) run() {
	defer close(s.done)
	defer s.unsubscribe()
	for {
		select {
		case <-s.ctx.Done():
			return
		case m := <-s.msgs:
			// Both cases may be ready at once and select picks at random;
			// checking again means no handler starts once the
			// subscription has ended.
			if s.ctx.Err() != nil {
				return
			}
			s.deliver(m)
		}
	}
}

func (s *subscription) deliver(m *natsgo.Msg) {
	defer func() {
		if v := recover(); v != nil {
			s.bus.log.Error("bus/nats: handler panicked", "subject", s.subject, "panic", v, "stack", string(debug.Stack()))
		}
	}()
	// nats.go gives every subscription its own copy of the payload.
	s.handler(s.ctx, bus.Message{Subject: s.subject, Data: m.Data})
}

func (s *subscription) stop() {
	s.unsubscribe()
	<-s.done
}

// unsubscribe ends s; it is safe to call from stop, from run and after
// Close.
func (s *subscription) unsubscribe() {
	s.end.Do(func() {
		s.cancel()
		// Fails only when the connection is closed, which removed the
		// interest already.
		_ = s.sub.Unsubscribe()
		s.bus.mu.Lock()
		delete(s.bus.subs, s)
		s.bus.mu.Unlock()
	})
}

// redactURL returns servers, a comma-separated list of server URLs, fit for
// logs and errors: user information, which may be a password or a token,
// is replaced, and what cannot be parsed is left out.
func redactURL(servers string) string {
	parts := strings.Split(servers, ",")
	for i, part := range parts {
		part = strings.TrimSpace(part)
		raw := part
		// nats.go accepts host:port without a scheme.
		if !strings.Contains(raw, "://") {
			raw = "nats://" + raw
		}
		u, err := url.Parse(raw)
		if err != nil {
			parts[i] = "<invalid URL>"
			continue
		}
		if u.User != nil {
			u.User = url.User("REDACTED")
		}
		parts[i] = u.String()
	}
	return strings.Join(parts, ",")
}
