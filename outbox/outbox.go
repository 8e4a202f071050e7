// Package outbox carries the records of an act in its context until the
// store writes them in the act's own transaction — the transactional
// outbox that audit events and emails share. A domain package adds its
// records with Add before the write that is the act; the store takes them
// with Take inside that write's transaction and gives them back with
// Restore if the transaction does not commit.
package outbox

import (
	"context"
	"sync"
)

// pending holds one act's records of type T.
type pending[T any] struct {
	mu    sync.Mutex
	items []T
}

// key is the context key of records of type T: one per type, so that
// audit events and emails travel side by side.
type key[T any] struct{}

func from[T any](ctx context.Context) (*pending[T], bool) {
	p, ok := ctx.Value(key[T]{}).(*pending[T])
	return p, ok
}

// Add returns ctx carrying items after any records of their type added
// earlier in the same act and not yet taken.
func Add[T any](ctx context.Context, items ...T) context.Context {
	p := &pending[T]{items: append([]T(nil), items...)}
	if prev, ok := from[T](ctx); ok {
		p.items = append(prev.take(), p.items...)
	}
	return context.WithValue(ctx, key[T]{}, p)
}

func (p *pending[T]) take() []T {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := p.items
	p.items = nil
	return out
}

// Pending reports whether ctx carries records of type T no write has
// taken yet.
func Pending[T any](ctx context.Context) bool {
	p, ok := from[T](ctx)
	if !ok {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.items) > 0
}

// Take hands ctx's untaken records of type T to a store's transaction,
// once.
func Take[T any](ctx context.Context) []T {
	p, ok := from[T](ctx)
	if !ok {
		return nil
	}
	return p.take()
}

// Restore gives back records a failed transaction took, so that a retry
// of the act still writes them.
func Restore[T any](ctx context.Context, items []T) {
	p, ok := from[T](ctx)
	if !ok || len(items) == 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.items = append(items, p.items...)
}
