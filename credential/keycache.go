package credential

import (
	"hash/maphash"
	"sync"
	"time"

	"github.com/tollgate/tollgate/apikey"
)

// keyEntry is what one store read of an API key established: the key and
// what its holder may do, valid until expires.
type keyEntry struct {
	key       apikey.Key
	actorType string
	perms     []string
	// holderErr is why the holder cannot act (disabled, removed from the
	// tenant); cached too, so a rejected key does not reach the store on
	// every attempt.
	holderErr error
	expires   time.Time
}

const keyCacheShards = 32

// keyCache maps key ids to entries, bounded and sharded so that concurrent
// verifications rarely share a lock.
type keyCache struct {
	seed   maphash.Seed
	shards [keyCacheShards]struct {
		mu sync.RWMutex
		m  map[string]*keyEntry
	}
	perShard int
}

func newKeyCache(size int) *keyCache {
	c := &keyCache{seed: maphash.MakeSeed(), perShard: max(1, size/keyCacheShards)}
	for i := range c.shards {
		c.shards[i].m = map[string]*keyEntry{}
	}
	return c
}

func (c *keyCache) shard(id string) int { return int(maphash.String(c.seed, id) % keyCacheShards) }

func (c *keyCache) get(id string, now time.Time) (*keyEntry, bool) {
	s := &c.shards[c.shard(id)]
	s.mu.RLock()
	e, ok := s.m[id]
	s.mu.RUnlock()
	if !ok || !now.Before(e.expires) {
		return nil, false
	}
	return e, true
}

func (c *keyCache) put(id string, e *keyEntry) {
	s := &c.shards[c.shard(id)]
	s.mu.Lock()
	if len(s.m) >= c.perShard {
		// Drop an arbitrary entry: map order is random, and a miss only
		// costs one store read.
		for k := range s.m {
			delete(s.m, k)
			break
		}
	}
	s.m[id] = e
	s.mu.Unlock()
}

func (c *keyCache) delete(id string) {
	s := &c.shards[c.shard(id)]
	s.mu.Lock()
	delete(s.m, id)
	s.mu.Unlock()
}

func (c *keyCache) purge() {
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		clear(s.m)
		s.mu.Unlock()
	}
}
