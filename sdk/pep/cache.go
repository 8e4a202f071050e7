package pep

import (
	"crypto/sha256"
	"encoding/binary"
	"sync"
	"sync/atomic"

	"github.com/tollgate/tollgate/cache"
)

// maxTenantGenerations bounds the per-tenant generation counters. Past it
// they are all forgotten and the global generation bumped, which drops the
// whole cache once: forgetting a counter must not revive old entries.
const maxTenantGenerations = 1 << 16

// cacheKey is a SHA-256 of the request's fields, length-prefixed so that no
// two requests share one, and of its context's JSON (whose object keys
// encoding/json sorts).
type cacheKey [32]byte

func keyOf(tenant, principal, onBehalfOf, action, resType, resID string, contextJSON []byte) cacheKey {
	h := sha256.New()
	var n [8]byte
	for _, s := range []string{tenant, principal, onBehalfOf, action, resType, resID} {
		binary.BigEndian.PutUint64(n[:], uint64(len(s)))
		h.Write(n[:])
		h.Write([]byte(s))
	}
	h.Write(contextJSON)
	var k cacheKey
	h.Sum(k[:0])
	return k
}

// cached is one decision with what decides whether it may still be served.
type cached struct {
	d Decision
	// fresh is when the decision stops being served normally, in Unix
	// nanoseconds; the cache entry lives StaleFor longer.
	fresh int64
	// The generations at the time the question was sent: a change since
	// makes the entry dead.
	tenant    string
	tenantGen uint64
	globalGen uint64
}

// generations are the invalidation counters: one for everything (bumped
// by actor events) and one per tenant (bumped by policy and tenant events).
// An entry is dead as soon as either differs from what it was stored with;
// nothing is scanned.
type generations struct {
	global atomic.Uint64
	mu     sync.RWMutex
	tenant map[string]*atomic.Uint64
}

func newGenerations() *generations {
	return &generations{tenant: map[string]*atomic.Uint64{}}
}

// of returns the current generations for tenant.
func (g *generations) of(tenant string) (tenantGen, globalGen uint64) {
	// The global generation is read first: bumpAll bumps it after
	// clearing the per-tenant counters, so a pair read in this order is
	// never newer than a reset it missed.
	globalGen = g.global.Load()
	g.mu.RLock()
	c := g.tenant[tenant]
	g.mu.RUnlock()
	if c != nil {
		tenantGen = c.Load()
	}
	return tenantGen, globalGen
}

func (g *generations) bumpTenant(tenant string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	c := g.tenant[tenant]
	if c == nil {
		if len(g.tenant) >= maxTenantGenerations {
			clear(g.tenant)
			g.global.Add(1)
		}
		c = new(atomic.Uint64)
		g.tenant[tenant] = c
	}
	c.Add(1)
}

func (g *generations) bumpAll() { g.global.Add(1) }

// live reports whether e was stored under the current generations.
func (g *generations) live(e *cached) bool {
	t, gl := g.of(e.tenant)
	return t == e.tenantGen && gl == e.globalGen
}

func newDecisionCache(size int) *cache.Bounded[cacheKey, *cached] {
	// Keys are uniform hashes: their first bytes pick the shard.
	return cache.New[cacheKey, *cached](size, func(k cacheKey) uint64 { return binary.BigEndian.Uint64(k[:8]) })
}
