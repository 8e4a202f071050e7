package policy

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tollgate/tollgate/fault"
)

// A tenant's snapshot is replaced, never edited: decisions load the
// current one atomically and go on with it while one goroutine per tenant
// applies announced changes and installs the next. Bursts of changes
// coalesce into one update, and a decision never waits for an update —
// only for a tenant's first build, when there is nothing to serve yet.

// tenantState is one tenant's served snapshot and the changes not yet in
// it.
type tenantState struct {
	id   string
	snap atomic.Pointer[snapshot]
	// quota is the QuotaSource's last answer for the tenant, kept beside
	// snap (on its cache line) so that a decision finds it with one load.
	quota atomic.Pointer[TenantQuotas]
	// staleSince is when the oldest change not in snap was announced
	// (Unix nanoseconds; 0 when there is none).
	staleSince atomic.Int64
	// refreshQueued: a whole read for SnapshotTTL is pending, so the
	// decisions that notice the age do not queue it again.
	refreshQueued atomic.Bool

	mu      sync.Mutex
	pending pending
	running bool
	// waiters are closed once the changes pending when they arrived are
	// served, or failed to apply.
	waiters []chan struct{}
}

// errStale is why decisions fail closed while a change cannot be applied.
var errStale = errors.New("an announced change could not be applied in time")

// updateTimeout bounds one update's store reads.
const updateTimeout = 30 * time.Second

// applyWait bounds how long Apply waits for its changes to be served.
const applyWait = 5 * time.Second

// state returns tenantID's state, creating it when create is set.
func (e *Engine) state(tenantID string, create bool) *tenantState {
	e.mu.RLock()
	st := e.tenants[tenantID]
	e.mu.RUnlock()
	if st != nil || !create {
		return st
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if st = e.tenants[tenantID]; st != nil {
		return st
	}
	if len(e.tenants) >= e.opts.MaxSnapshots {
		for id, other := range e.tenants { // evict an idle one
			other.mu.Lock()
			idle := !other.running
			other.mu.Unlock()
			if idle {
				delete(e.tenants, id)
				break
			}
		}
	}
	st = &tenantState{id: tenantID}
	e.tenants[tenantID] = st
	return st
}

// drop forgets st, when its tenant no longer exists.
func (e *Engine) drop(st *tenantState) {
	e.mu.Lock()
	if e.tenants[st.id] == st {
		delete(e.tenants, st.id)
	}
	e.mu.Unlock()
}

// snapshot returns tenantID's current snapshot, building it on first use.
func (e *Engine) snapshot(ctx context.Context, tenantID string) (*snapshot, error) {
	_, snap, err := e.current(ctx, tenantID)
	return snap, err
}

// current returns tenantID's state and its current snapshot, building it
// on first use: decisions take their tenant's quotas from the state.
func (e *Engine) current(ctx context.Context, tenantID string) (*tenantState, *snapshot, error) {
	st := e.state(tenantID, true)
	snap := st.snap.Load()
	if snap == nil {
		v, err, _ := e.first.Do(tenantID, func() (any, error) { return e.firstBuild(ctx, st) })
		if err != nil {
			return nil, nil, err
		}
		return st, v.(*snapshot), nil
	}
	now := e.d.Now()
	if stale := st.staleSince.Load(); stale != 0 && now.Sub(time.Unix(0, stale)) > e.opts.MaxStaleness {
		return nil, nil, errStale
	}
	if now.Sub(snap.readAt) > e.opts.SnapshotTTL && st.refreshQueued.CompareAndSwap(false, true) {
		e.enqueue(st, []Change{{TenantID: tenantID, Part: PartAll}}, nil)
	}
	return st, snap, nil
}

// firstBuild reads the tenant whole. Changes announced meanwhile are
// queued and applied after it.
func (e *Engine) firstBuild(ctx context.Context, st *tenantState) (*snapshot, error) {
	if snap := st.snap.Load(); snap != nil {
		return snap, nil
	}
	start := e.d.Now()
	// A build outlives the request that started it: others wait on it.
	td, err := e.d.Source.TenantData(context.WithoutCancel(ctx), st.id)
	if err != nil {
		if errors.Is(err, fault.ErrNotFound) {
			e.drop(st)
		}
		return nil, err
	}
	snap, err := e.d.Compiler.build(td, start)
	if err != nil {
		return nil, err
	}
	st.snap.Store(snap)
	e.applied(SnapshotFull, start, snap)
	st.mu.Lock()
	if !st.pending.empty() {
		// What was announced before the read is in the snapshot; what is
		// pending may not be, and counts as stale from the read.
		st.staleSince.Store(start.UnixNano())
		if !st.running {
			st.running = true
			go e.run(st)
		}
	}
	st.mu.Unlock()
	return snap, nil
}

// Apply applies changes announced by this replica and returns once they
// are served (or applyWait has passed, or ctx is done), so that whoever
// made a change sees it in their next decision. Tenants without a
// snapshot here have nothing to update.
func (e *Engine) Apply(ctx context.Context, changes ...Change) {
	var waits []chan struct{}
	for st, cs := range e.route(changes) {
		done := make(chan struct{})
		e.enqueue(st, cs, done)
		waits = append(waits, done)
	}
	if len(waits) == 0 {
		return
	}
	timer := time.NewTimer(applyWait)
	defer timer.Stop()
	for _, w := range waits {
		select {
		case <-w:
		case <-ctx.Done():
			return
		case <-timer.C:
			return
		}
	}
}

// Announce queues changes announced by another replica and returns at
// once.
func (e *Engine) Announce(changes ...Change) {
	for st, cs := range e.route(changes) {
		e.enqueue(st, cs, nil)
	}
}

// route groups changes by the state of every tenant they concern: their
// tenant, or for a tenant-less actor change, every tenant holding the
// actor.
func (e *Engine) route(changes []Change) map[*tenantState][]Change {
	out := map[*tenantState][]Change{}
	for _, c := range changes {
		if c.TenantID != "" {
			if st := e.state(c.TenantID, false); st != nil {
				out[st] = append(out[st], c)
			}
			continue
		}
		if c.Part != PartActor {
			continue
		}
		e.mu.RLock()
		for _, st := range e.tenants {
			if snap := st.snap.Load(); snap != nil && snap.holds(c.Key) {
				out[st] = append(out[st], Change{TenantID: st.id, Part: PartActor, Key: c.Key})
			}
		}
		e.mu.RUnlock()
	}
	return out
}

// enqueue adds changes to st's pending ones and starts its updater if
// needed; done, if not nil, is closed once they are served or failed.
func (e *Engine) enqueue(st *tenantState, changes []Change, done chan struct{}) {
	now := e.d.Now()
	st.mu.Lock()
	defer st.mu.Unlock()
	for _, c := range changes {
		st.pending.add(c, now)
	}
	st.staleSince.CompareAndSwap(0, now.UnixNano())
	if st.snap.Load() == nil {
		// The first build is running; it starts the updater when done. A
		// waiter need not wait for it: the build reads the change.
		if done != nil {
			close(done)
		}
		return
	}
	if done != nil {
		st.waiters = append(st.waiters, done)
	}
	if !st.running {
		st.running = true
		go e.run(st)
	}
}

// run applies st's pending changes until there are none. A failed update
// keeps them pending and is retried with back-off; past MaxStaleness the
// tenant's decisions fail closed until one succeeds.
func (e *Engine) run(st *tenantState) {
	backoff := 50 * time.Millisecond
	for {
		st.mu.Lock()
		p, waiters := st.pending, st.waiters
		st.pending, st.waiters = pending{}, nil
		if p.empty() {
			st.running = false
			st.staleSince.Store(0)
			st.mu.Unlock()
			release(waiters)
			return
		}
		st.mu.Unlock()

		start := e.d.Now()
		ctx, cancel := context.WithTimeout(context.Background(), updateTimeout)
		snap, kind, err := e.update(ctx, st.id, st.snap.Load(), p)
		cancel()
		if err != nil {
			if errors.Is(err, fault.ErrNotFound) {
				e.drop(st)
				st.mu.Lock()
				st.running = false
				st.mu.Unlock()
				release(waiters)
				return
			}
			release(waiters)
			e.d.Log.Error("updating a tenant's policy snapshot failed; retrying", "tenant_id", st.id, "err", err)
			st.mu.Lock()
			st.pending.merge(p)
			st.mu.Unlock()
			time.Sleep(backoff)
			backoff = min(2*backoff, 5*time.Second)
			continue
		}
		backoff = 50 * time.Millisecond
		st.snap.Store(snap)
		if kind == SnapshotFull {
			st.refreshQueued.Store(false)
		}
		e.applied(kind, start, snap)
		if e.d.Metrics != nil {
			e.d.Metrics.SnapshotStaleness(since(e.d.Now(), p.since))
		}
		st.mu.Lock()
		if st.pending.empty() {
			st.staleSince.Store(0)
		} else {
			st.staleSince.Store(st.pending.since.UnixNano())
		}
		st.mu.Unlock()
		release(waiters)
	}
}

func release(waiters []chan struct{}) {
	for _, w := range waiters {
		close(w)
	}
}

// applied reports a snapshot that started being served.
func (e *Engine) applied(kind string, start time.Time, snap *snapshot) {
	if e.d.Metrics != nil {
		e.d.Metrics.SnapshotApplied(kind, since(e.d.Now(), start), snap.size())
	}
}
