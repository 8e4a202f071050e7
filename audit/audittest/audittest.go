// Package audittest records the events a service queues for the audit log,
// for tests of what it records.
package audittest

import (
	"context"
	"sync"

	"github.com/tollgate/tollgate/audit"
)

// Queue stands in for the audit Recorder's Add: it keeps every event,
// safe for concurrent use.
type Queue struct {
	mu     sync.Mutex
	events []audit.Event
}

// Add records events.
func (q *Queue) Add(_ context.Context, events ...audit.Event) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.events = append(q.events, events...)
}

// Take returns the events recorded since the last Take and forgets them.
func (q *Queue) Take() []audit.Event {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := q.events
	q.events = nil
	return out
}
