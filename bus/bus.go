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
	Data    []byte
}

// Handler receives messages. Handlers of one subscription are called one at
// a time, in the order the bus delivered the messages; a slow handler delays
// only its own subscription.
type Handler func(ctx context.Context, m Message)

// Bus is a publish/subscribe fan-out: every subscription whose subject
// matches receives every message published after it was made, in every
// process connected to the same bus. Delivery is at most once and may be
// lost while a connection is down, so subscribers use it to learn of changes
// early and still re-read the store periodically.
type Bus interface {
	// Publish sends data on subject. Subjects are dot-separated tokens of
	// [a-zA-Z0-9_-]; the implementation may prefix them to keep
	// installations (or tests) sharing one server apart.
	Publish(ctx context.Context, subject string, data []byte) error
	// Subscribe calls h for each message on subject until ctx ends or the
	// returned stop function is called. stop waits for a running handler.
	Subscribe(ctx context.Context, subject string, h Handler) (stop func(), err error)
	// Close stops every subscription and releases the connection.
	Close() error
}
