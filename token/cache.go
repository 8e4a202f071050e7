package token

import "sync"

const cacheShards = 16

// tokenCache maps SHA-256(raw token) to verified claims. It is sharded so
// that concurrent hits on different tokens rarely share a lock, and bounded:
// a full shard first drops expired entries, then an arbitrary eighth of its
// entries, so that its sweep runs at most once per capacity/8 insertions.
type tokenCache struct {
	shards [cacheShards]cacheShard
}

type cacheShard struct {
	mu  sync.RWMutex
	m   map[[32]byte]cacheEntry
	cap int
	// Padding keeps neighbouring shards' locks off one cache line.
	_ [64]byte
}

// cacheEntry holds what a hit must re-check, as Unix nanoseconds so the
// check is a few integer comparisons.
type cacheEntry struct {
	claims *Claims
	// key is the key that verified the token; a hit is valid only while the
	// current snapshot still publishes this very key.
	key *verificationKey
	// validFrom and deadline bound now: nbf/iat minus leeway, exp plus leeway.
	validFrom, deadline int64
}

func newTokenCache(size int) *tokenCache {
	c := &tokenCache{}
	per := max(1, (size+cacheShards-1)/cacheShards)
	for i := range c.shards {
		c.shards[i].m = make(map[[32]byte]cacheEntry)
		c.shards[i].cap = per
	}
	return c
}

func (c *tokenCache) shard(k *[32]byte) *cacheShard {
	return &c.shards[k[0]%cacheShards]
}

func (c *tokenCache) get(k *[32]byte) (cacheEntry, bool) {
	s := c.shard(k)
	s.mu.RLock()
	e, ok := s.m[*k]
	s.mu.RUnlock()
	return e, ok
}

func (c *tokenCache) put(k *[32]byte, e cacheEntry, now int64) {
	s := c.shard(k)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.m[*k]; !ok && len(s.m) >= s.cap {
		s.evict(now)
	}
	s.m[*k] = e
}

func (s *cacheShard) evict(now int64) {
	for k, e := range s.m {
		if e.deadline <= now {
			delete(s.m, k)
		}
	}
	// Map iteration starts at a random point, so this drops arbitrary
	// entries without keeping any recency state on the hit path.
	excess := len(s.m) - (s.cap - max(1, s.cap/8))
	for k := range s.m {
		if excess <= 0 {
			break
		}
		delete(s.m, k)
		excess--
	}
}

// len counts the entries, for tests.
func (c *tokenCache) len() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.RLock()
		n += len(s.m)
		s.mu.RUnlock()
	}
	return n
}
