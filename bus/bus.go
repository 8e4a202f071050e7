// Package bus carries Tollgate's internal events between the processes of
// one installation: cache invalidations and revocations now, usage, audit and
// webhook events later. Two implementations share one conformance suite
// (bus/bustest): the in-process Local bus of the embedded default, and
// bus/nats for a fleet of replicas.
package bus

import "context"

// Message is one event as delivered to a subscriber.
type Message struct {
	Subject string
	// Data is read-only: the in-process bus hands the same copy to every
	// subscriber of the subject, so a handler that changed it would change
	// it for the others.
	Data []byte
}

// Handler receives messages. Handlers of one subscription are called one at
// a time, in the order the bus delivered the messages; a slow handler delays
// only its own subscription. ctx is done once the subscription ends (its
// ctx ends, stop or Close is called), so a slow handler can give up early
// instead of holding up stop. A handler that panics is recovered and logged;
// its subscription goes on with the next message.
type Handler func(ctx context.Context, m Message)

// Bus is a publish/subscribe fan-out: every subscription whose subject
// matches receives every message published after it was made, in every
// process connected to the same bus. Delivery is at most once and may be
// lost while a connection is down or a subscriber falls far behind, so
// subscribers use it to learn of changes early and still re-read the store
// periodically.
type Bus interface {
	// Publish sends data on subject. Subjects are dot-separated tokens of
	// [a-zA-Z0-9_-] (see ValidateSubject) and match exactly: there are no
	// wildcards. The implementation may prefix them to keep installations
	// (or tests) sharing one server apart. Publish does not wait for
	// subscribers and does not keep data, so the caller may reuse it. After
	// Close it returns an error wrapping ErrClosed.
	Publish(ctx context.Context, subject string, data []byte) error
	// Subscribe calls h for each message on subject until ctx ends or the
	// returned stop function is called. stop may be called more than once
	// and waits for a running handler, so it must not be called from h
	// itself.
	Subscribe(ctx context.Context, subject string, h Handler) (stop func(), err error)
	// Close stops every subscription, waiting for running handlers, and
	// releases the connection. Calling it again does nothing.
	Close() error
}
