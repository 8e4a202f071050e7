package authn

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/tollgate/tollgate/event"
	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/token"
)

// revocationMemory is how long a revocation is remembered: longer than any
// access token lives (Tollgate's keyring caps lifetimes at one hour plus
// leeway), so every token it could reject has expired when it is forgotten.
// Disabled actors and suspended tenants are forgotten too: Tollgate issues
// them no new tokens, and the old ones have expired by then.
const revocationMemory = 2 * time.Hour

// maxRevocations bounds the memory of revocations. Past it the oldest is
// forgotten first: its tokens are the nearest to expiring.
const maxRevocations = 1 << 20

type revKind uint8

const (
	revCredential revKind = iota + 1
	revActor
	revTenant
)

type revKey struct {
	kind revKind
	id   string
}

type revEntry struct {
	key revKey
	seq uint64
	// forget is when the entry may go, in Unix nanoseconds.
	forget int64
}

// revocations holds what the credential events revoked. Checks take a read
// lock only while something is held, which is rare.
type revocations struct {
	mu sync.RWMutex
	// m maps each live key to the seq of its entry in q; q is in insertion
	// order, which is also forget order.
	m    map[revKey]uint64
	q    []revEntry
	head int
	seq  uint64
	max  int
	size atomic.Int64
}

func newRevocations() *revocations {
	return &revocations{m: map[revKey]uint64{}, max: maxRevocations}
}

func (r *revocations) apply(e event.Event, now time.Time) {
	switch e.Kind {
	case event.KindCredentialRevoked:
		r.add(revKey{revCredential, e.ID}, now)
	case event.KindActorDisabled:
		r.add(revKey{revActor, e.ID}, now)
	case event.KindActorEnabled:
		r.remove(revKey{revActor, e.ID})
	case event.KindTenantSuspended:
		r.add(revKey{revTenant, e.ID}, now)
	case event.KindTenantActivated:
		r.remove(revKey{revTenant, e.ID})
	}
}

func (r *revocations) add(k revKey, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.expire(now.UnixNano())
	for len(r.m) >= r.max {
		r.pop()
	}
	r.seq++
	r.m[k] = r.seq
	r.q = append(r.q, revEntry{key: k, seq: r.seq, forget: now.Add(revocationMemory).UnixNano()})
	r.size.Store(int64(len(r.m)))
}

func (r *revocations) remove(k revKey) {
	r.mu.Lock()
	defer r.mu.Unlock()
	// Its queue entry stays and is skipped when popped: seq no longer
	// matches.
	delete(r.m, k)
	r.size.Store(int64(len(r.m)))
}

func (r *revocations) expire(now int64) {
	for r.head < len(r.q) && r.q[r.head].forget <= now {
		r.pop()
	}
}

// pop drops the oldest queue entry, and its key if the entry is current.
func (r *revocations) pop() {
	e := r.q[r.head]
	r.q[r.head] = revEntry{}
	r.head++
	if seq, ok := r.m[e.key]; ok && seq == e.seq {
		delete(r.m, e.key)
	}
	// Reclaim the queue's front once it is half of it.
	if r.head > len(r.q)/2 {
		r.q = append(r.q[:0], r.q[r.head:]...)
		r.head = 0
	}
}

func (r *revocations) has(kind revKind, id string) bool {
	if id == "" {
		return false
	}
	_, ok := r.m[revKey{kind, id}]
	return ok
}

// rejectsClaims reports whether a verified token's session or credential is
// revoked, or an actor of it or its tenant disabled.
func (r *revocations) rejectsClaims(c *token.Claims) bool {
	if r.size.Load() == 0 {
		return false
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.has(revCredential, c.SessionID) || r.has(revCredential, c.CredentialID) ||
		r.has(revActor, c.Subject) || r.has(revTenant, c.TenantID) {
		return true
	}
	for act := c.Act; act != nil; act = act.Act {
		if r.has(revActor, act.Subject) || act.Owner != "" && r.has(revActor, act.Owner) {
			return true
		}
	}
	return false
}

// rejectsActor is rejectsClaims for an introspected API key, belt and
// braces: every event also empties the introspection cache.
func (r *revocations) rejectsActor(ac *identity.ActorContext) bool {
	if r.size.Load() == 0 {
		return false
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.has(revCredential, ac.CredentialID) || r.has(revCredential, ac.SessionID) ||
		r.has(revActor, ac.ActorID) || r.has(revActor, ac.OnBehalfOf) || r.has(revTenant, ac.TenantID)
}

// len counts the remembered revocations, for tests.
func (r *revocations) len() int { return int(r.size.Load()) }
