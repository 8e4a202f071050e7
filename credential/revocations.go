package credential

import (
	"context"
	"sync"
	"time"
)

// Revocation is the id of a revoked credential — a session, an API key or a
// service's client secret; ids are unique across all of them — and when it
// was revoked. Access tokens name the credentials they derive from (sid,
// cid), so one set of revoked ids serves every token.
type Revocation struct {
	ID        string
	RevokedAt time.Time
}

// RevocationStore is where revocations are recorded.
type RevocationStore interface {
	// RevokedSince lists revoked credentials — sessions, API keys and
	// service secrets — in (RevokedAt, ID) order, starting after the
	// position (since, afterID) — afterID "" includes every revocation at
	// since — at most limit. Replicas page through it to learn of
	// revocations made elsewhere.
	RevokedSince(ctx context.Context, since time.Time, afterID string, limit int) ([]Revocation, error)
}

// Revocations is this process's view of revoked credential ids. The access-token
// hot path asks it instead of the store; it learns of revocations made here
// at once and of those made by other replicas (or the admin CLI) by polling
// the store. Entries are forgotten once no access token of that session can
// still be valid.
type Revocations struct {
	store  RevocationStore
	keep   time.Duration // access-token TTL plus clock leeway
	now    func() time.Time
	mu     sync.RWMutex
	ids    map[string]time.Time
	cursor time.Time
}

// NewRevocations returns an empty set; call Sync before serving.
func NewRevocations(store RevocationStore, accessTTL, leeway time.Duration, now func() time.Time) *Revocations {
	if now == nil {
		now = time.Now
	}
	keep := accessTTL + leeway
	return &Revocations{store: store, keep: keep, now: now, ids: map[string]time.Time{}, cursor: now().Add(-keep)}
}

// Revoked reports whether sid has been revoked.
func (r *Revocations) Revoked(sid string) bool {
	r.mu.RLock()
	_, ok := r.ids[sid]
	r.mu.RUnlock()
	return ok
}

// Add records revocations made by this process.
func (r *Revocations) Add(at time.Time, sids ...string) {
	r.mu.Lock()
	for _, sid := range sids {
		if _, ok := r.ids[sid]; !ok {
			r.ids[sid] = at
		}
	}
	r.mu.Unlock()
}

// syncPage bounds one read; a backlog is drained page by page.
const syncPage = 1000

// syncOverlap re-reads this much before the newest revocation seen. The
// poll orders by the revoking process's clock and by commit, so a replica
// with a slower clock, or a transaction that commits late, can record a
// revocation "in the past"; re-reading a window makes that harmless.
const syncOverlap = time.Minute

// Sync pulls revocations recorded since the last sync and drops expired ones.
func (r *Revocations) Sync(ctx context.Context) error {
	r.mu.RLock()
	since, after := r.cursor.Add(-syncOverlap), ""
	r.mu.RUnlock()
	newest := since
	for {
		list, err := r.store.RevokedSince(ctx, since, after, syncPage)
		if err != nil {
			return err
		}
		r.mu.Lock()
		for _, rv := range list {
			if _, ok := r.ids[rv.ID]; !ok {
				r.ids[rv.ID] = rv.RevokedAt
			}
		}
		r.mu.Unlock()
		if len(list) > 0 {
			last := list[len(list)-1]
			since, after = last.RevokedAt, last.ID
			if last.RevokedAt.After(newest) {
				newest = last.RevokedAt
			}
		}
		if len(list) < syncPage {
			break
		}
	}
	r.mu.Lock()
	if newest.After(r.cursor) {
		r.cursor = newest
	}
	r.forgetExpiredLocked()
	r.mu.Unlock()
	return nil
}

func (r *Revocations) forgetExpiredLocked() {
	cutoff := r.now().Add(-r.keep)
	for sid, at := range r.ids {
		if at.Before(cutoff) {
			delete(r.ids, sid)
		}
	}
}
