// Package eventtest records the events a service announces, for tests of
// what it announces.
package eventtest

import (
	"context"
	"slices"
	"sync"

	"github.com/tollgate/tollgate/event"
)

// Recorder is an event.Notifier (its Notify method) that keeps every event,
// safe for concurrent use.
type Recorder struct {
	mu   sync.Mutex
	list []event.Event
}

// Notify records events.
func (r *Recorder) Notify(_ context.Context, events ...event.Event) {
	r.mu.Lock()
	r.list = append(r.list, events...)
	r.mu.Unlock()
}

// Take returns the events recorded since the last Take and forgets them.
func (r *Recorder) Take() []event.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.list
	r.list = nil
	return out
}

// Events returns every event not yet taken, keeping them.
func (r *Recorder) Events() []event.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.list)
}

// IDs returns the ids of the events of kind not yet taken, in order.
func (r *Recorder) IDs(kind string) []string {
	var out []string
	for _, e := range r.Events() {
		if e.Kind == kind {
			out = append(out, e.ID)
		}
	}
	return out
}
