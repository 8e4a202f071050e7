// Package cache holds the bounded, sharded, expiring map that Tollgate's hot
// paths share: verified access tokens, API key records, the SDK's
// introspection answers.
package cache

import (
	"sync"
	"sync/atomic"
)

// Shards is how many independently locked parts a cache has.
const Shards = 16

// Bounded maps keys to values that stop being served at a deadline (Unix
// nanoseconds). It is sharded so that concurrent reads of different keys
// rarely share a lock, and bounded: a full shard first drops expired
// entries, then an arbitrary eighth of its entries, so that its sweep runs
// at most once per capacity/8 insertions and hits keep no recency state.
type Bounded[K comparable, V any] struct {
	hash   func(K) uint64
	shards [Shards]shard[K, V]
	// gen counts purges, so that a value computed before a purge is not
	// stored after it (PutIfGeneration).
	gen atomic.Uint64
}

type shard[K comparable, V any] struct {
	mu  sync.RWMutex
	m   map[K]entry[V]
	cap int
	// Padding keeps neighbouring shards' locks off one cache line.
	_ [64]byte
}

type entry[V any] struct {
	v        V
	deadline int64
}

// New returns a cache of about size entries; hash spreads keys over shards.
func New[K comparable, V any](size int, hash func(K) uint64) *Bounded[K, V] {
	c := &Bounded[K, V]{hash: hash}
	per := max(1, (size+Shards-1)/Shards)
	for i := range c.shards {
		c.shards[i].m = make(map[K]entry[V])
		c.shards[i].cap = per
	}
	return c
}

func (c *Bounded[K, V]) shard(k K) *shard[K, V] { return &c.shards[c.hash(k)%Shards] }

// Get returns k's value if it is present and its deadline is after now.
func (c *Bounded[K, V]) Get(k K, now int64) (V, bool) {
	s := c.shard(k)
	s.mu.RLock()
	e, ok := s.m[k]
	s.mu.RUnlock()
	if !ok || e.deadline <= now {
		var zero V
		return zero, false
	}
	return e.v, true
}

// Peek returns k's value and deadline whether or not it has passed, for
// callers that tell "expired" from "absent".
func (c *Bounded[K, V]) Peek(k K) (v V, deadline int64, ok bool) {
	s := c.shard(k)
	s.mu.RLock()
	e, ok := s.m[k]
	s.mu.RUnlock()
	return e.v, e.deadline, ok
}

// Put stores v under k until deadline.
func (c *Bounded[K, V]) Put(k K, v V, deadline, now int64) {
	s := c.shard(k)
	s.mu.Lock()
	s.put(k, v, deadline, now)
	s.mu.Unlock()
}

// Generation is the count of purges and deletes, for PutIfGeneration.
func (c *Bounded[K, V]) Generation() uint64 { return c.gen.Load() }

// PutIfGeneration stores v unless the cache was purged, or a key deleted,
// since Generation returned gen: a value read from elsewhere before then
// may be stale.
func (c *Bounded[K, V]) PutIfGeneration(k K, v V, deadline, now int64, gen uint64) {
	s := c.shard(k)
	s.mu.Lock()
	// Purge holds every shard lock while it counts, and Delete k's, so a
	// purge or a delete of k cannot slip between this check and the put.
	if c.gen.Load() == gen {
		s.put(k, v, deadline, now)
	}
	s.mu.Unlock()
}

func (s *shard[K, V]) put(k K, v V, deadline, now int64) {
	if _, ok := s.m[k]; !ok && len(s.m) >= s.cap {
		s.evict(now)
	}
	s.m[k] = entry[V]{v: v, deadline: deadline}
}

func (s *shard[K, V]) evict(now int64) {
	for k, e := range s.m {
		if e.deadline <= now {
			delete(s.m, k)
		}
	}
	// Map iteration starts at a random point, so this drops arbitrary
	// entries.
	excess := len(s.m) - (s.cap - max(1, s.cap/8))
	for k := range s.m {
		if excess <= 0 {
			break
		}
		delete(s.m, k)
		excess--
	}
}

// Delete drops k. It counts as a purge for PutIfGeneration: a value of k
// read from elsewhere before the delete, and stored after it, would bring
// back what the delete meant to drop. (Other keys' pending puts are
// dropped too; deletes are rare events, and a dropped put only costs a
// reread.)
func (c *Bounded[K, V]) Delete(k K) {
	s := c.shard(k)
	s.mu.Lock()
	c.gen.Add(1)
	delete(s.m, k)
	s.mu.Unlock()
}

// Purge drops everything.
func (c *Bounded[K, V]) Purge() {
	for i := range c.shards {
		c.shards[i].mu.Lock()
	}
	c.gen.Add(1)
	for i := range c.shards {
		clear(c.shards[i].m)
		c.shards[i].mu.Unlock()
	}
}

// Len counts the entries, expired ones included.
func (c *Bounded[K, V]) Len() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.RLock()
		n += len(s.m)
		s.mu.RUnlock()
	}
	return n
}

// Capacity is the most entries the cache holds.
func (c *Bounded[K, V]) Capacity() int { return c.shards[0].cap * Shards }

// Range calls f for every entry, expired ones included, until f returns
// false. Each shard is read-locked while its entries are visited, so f must
// not call the cache.
func (c *Bounded[K, V]) Range(f func(K, V) bool) {
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.RLock()
		for k, e := range s.m {
			if !f(k, e.v) {
				s.mu.RUnlock()
				return
			}
		}
		s.mu.RUnlock()
	}
}
