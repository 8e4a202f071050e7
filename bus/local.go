package bus

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
)

// ErrClosed is returned (wrapped) by Publish and Subscribe after Close.
var ErrClosed = errors.New("bus: closed")

// ErrInvalidSubject is returned (wrapped) for a subject that ValidateSubject
// rejects.
var ErrInvalidSubject = errors.New("bus: invalid subject")

// maxSubjectLen keeps subjects well inside the NATS control line limit
// (4 KiB by default) even with an installation prefix in front.
const maxSubjectLen = 256

// ValidateSubject reports whether subject can be used on every Bus
// implementation: dot-separated, non-empty tokens of [a-zA-Z0-9_-], at most
// 256 bytes. The character set leaves out NATS's wildcards and separators so
// that a subject means the same thing on every implementation.
func ValidateSubject(subject string) error {
	if subject == "" {
		return fmt.Errorf("%w: empty", ErrInvalidSubject)
	}
	if len(subject) > maxSubjectLen {
		return fmt.Errorf("%w: %d bytes, more than %d", ErrInvalidSubject, len(subject), maxSubjectLen)
	}
	tokenLen := 0
	for i := 0; i < len(subject); i++ {
		c := subject[i]
		switch {
		case c == '.':
			if tokenLen == 0 {
				return fmt.Errorf("%w %q: empty token", ErrInvalidSubject, subject)
			}
			tokenLen = 0
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '_', c == '-':
			tokenLen++
		default:
			return fmt.Errorf("%w %q: byte %q at %d is not one of [a-zA-Z0-9_-.]", ErrInvalidSubject, subject, c, i)
		}
	}
	if tokenLen == 0 {
		return fmt.Errorf("%w %q: empty token", ErrInvalidSubject, subject)
	}
	return nil
}

// localQueueLen bounds what a subscriber may fall behind before Local drops
// messages for it. Large enough to absorb a burst of invalidations, small
// enough that a stuck handler cannot hold much memory.
const localQueueLen = 1024

// Local is the in-process Bus of a single-process installation. Every
// subscription has its own goroutine and a queue of 1024 messages; when a
// queue is full the message is dropped for that subscriber (and counted by
// Dropped) rather than making Publish wait, because a publisher is usually
// serving a request and the bus promises at-most-once delivery anyway.
//
// A Local has one connection, itself: every component of the process shares
// it, and Close ends it for all of them.
type Local struct {
	// mu serialises changes of routes; Publish reads routes without it.
	mu     sync.Mutex
	routes atomic.Pointer[localRoutes]

	dropped atomic.Uint64
}

// localRoutes is an immutable snapshot of the subscriptions, replaced as a
// whole on every change so that Publish, the hot path, takes no lock.
type localRoutes struct {
	closed bool
	subs   map[string][]*localSub
}

type localSub struct {
	subject string
	queue   chan Message
	// ctx is done when the subscription ends for any reason; it is also the
	// handler's ctx.
	ctx    context.Context
	cancel context.CancelFunc
	end    sync.Once
	done   chan struct{} // closed when the goroutine has returned
}

var _ Bus = (*Local)(nil)

// NewLocal returns an empty, open Local bus.
func NewLocal() *Local {
	l := &Local{}
	l.routes.Store(&localRoutes{subs: map[string][]*localSub{}})
	return l
}

// Dropped returns how many deliveries were dropped so far because a
// subscriber's queue was full, summed over all subscriptions.
func (l *Local) Dropped() uint64 {
	return l.dropped.Load()
}

// Publish delivers a copy of data to the queue of every subscription on
// subject without waiting for any handler.
func (l *Local) Publish(ctx context.Context, subject string, data []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := ValidateSubject(subject); err != nil {
		return err
	}
	routes := l.routes.Load()
	if routes.closed {
		return fmt.Errorf("publish %q: %w", subject, ErrClosed)
	}
	subs := routes.subs[subject]
	if len(subs) == 0 {
		return nil
	}
	// One copy for all subscribers: Message.Data is documented read-only.
	m := Message{Subject: subject, Data: bytes.Clone(data)}
	for _, s := range subs {
		// The queue is never closed, so sending to a subscription that
		// has just ended is harmless: the message is simply never read.
		select {
		case s.queue <- m:
		default:
			l.dropped.Add(1)
		}
	}
	return nil
}

// Subscribe starts a goroutine that calls h for each message on subject.
func (l *Local) Subscribe(ctx context.Context, subject string, h Handler) (func(), error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := ValidateSubject(subject); err != nil {
		return nil, err
	}
	if h == nil {
		return nil, errors.New("bus: nil handler")
	}
	s := &localSub{
		subject: subject,
		queue:   make(chan Message, localQueueLen),
		done:    make(chan struct{}),
	}
	s.ctx, s.cancel = context.WithCancel(ctx)

	l.mu.Lock()
	defer l.mu.Unlock()
	old := l.routes.Load()
	if old.closed {
		s.cancel()
		return nil, fmt.Errorf("subscribe %q: %w", subject, ErrClosed)
	}
	next := old.clone()
	// Clip so that append copies: the old snapshot may still be in use.
	next.subs[subject] = append(slices.Clip(next.subs[subject]), s)
	l.routes.Store(next)
	go l.run(s, h)

	return func() {
		l.end(s)
		<-s.done
	}, nil
}

// Close ends every subscription and waits for their running handlers.
func (l *Local) Close() error {
	l.mu.Lock()
	old := l.routes.Load()
	if old.closed {
		l.mu.Unlock()
		return nil
	}
	l.routes.Store(&localRoutes{closed: true})
	l.mu.Unlock()

	for _, subs := range old.subs {
		for _, s := range subs {
			s.cancel()
		}
	}
	for _, subs := range old.subs {
		for _, s := range subs {
			<-s.done
		}
	}
	return nil
}

func (l *Local) run(s *localSub, h Handler) {
	defer close(s.done)
	defer l.end(s)
	for {
		select {
		case <-s.ctx.Done():
			return
		case m := <-s.queue:
			// Both cases may be ready at once and select picks at random;
			// checking again means no handler starts once the
			// subscription has ended.
			if s.ctx.Err() != nil {
				return
			}
			s.deliver(h, m)
		}
	}
}

func (s *localSub) deliver(h Handler, m Message) {
	defer func() {
		if v := recover(); v != nil {
			// NewLocal takes no logger, so the process default is the
			// only one there is.
			slog.Error("bus: handler panicked", "subject", s.subject, "panic", v, "stack", string(debug.Stack()))
		}
	}()
	h(s.ctx, m)
}

// end cancels s and removes it from the routes; it is safe to call from
// stop, from s's own goroutine and after Close.
func (l *Local) end(s *localSub) {
	s.end.Do(func() {
		s.cancel()
		l.mu.Lock()
		defer l.mu.Unlock()
		old := l.routes.Load()
		if old.closed {
			return
		}
		next := old.clone()
		subs := next.subs[s.subject]
		kept := make([]*localSub, 0, len(subs))
		for _, other := range subs {
			if other != s {
				kept = append(kept, other)
			}
		}
		if len(kept) == 0 {
			delete(next.subs, s.subject)
		} else {
			next.subs[s.subject] = kept
		}
		l.routes.Store(next)
	})
}

// clone copies the map and leaves the slices shared: writers build new
// slices instead of changing them in place, and Publish may be ranging over
// the old ones.
func (r *localRoutes) clone() *localRoutes {
	subs := make(map[string][]*localSub, len(r.subs)+1)
	for subject, list := range r.subs {
		subs[subject] = list
	}
	return &localRoutes{subs: subs}
}
