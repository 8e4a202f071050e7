package credential

import (
	"context"
	"sync/atomic"
)

// blocks is the set of disabled actors and suspended tenants, swapped whole
// so that reads on the hot path take no lock.
type blocks struct {
	actors  map[string]struct{}
	tenants map[string]struct{}
}

type blocklist struct {
	snap atomic.Pointer[blocks]
}

func newBlocklist() *blocklist {
	b := &blocklist{}
	b.snap.Store(&blocks{actors: map[string]struct{}{}, tenants: map[string]struct{}{}})
	return b
}

func (b *blocklist) actorBlocked(id string) bool {
	_, ok := b.snap.Load().actors[id]
	return ok
}

func (b *blocklist) tenantSuspended(id string) bool {
	_, ok := b.snap.Load().tenants[id]
	return ok
}

// load replaces both sets with the store's.
func (b *blocklist) load(ctx context.Context, st BlockStore) error {
	actors, err := st.BlockedActors(ctx)
	if err != nil {
		return err
	}
	tenants, err := st.SuspendedTenants(ctx)
	if err != nil {
		return err
	}
	next := &blocks{actors: make(map[string]struct{}, len(actors)), tenants: make(map[string]struct{}, len(tenants))}
	for _, a := range actors {
		next.actors[a] = struct{}{}
	}
	for _, t := range tenants {
		next.tenants[t] = struct{}{}
	}
	b.snap.Store(next)
	return nil
}

// set adds or removes one entry. Events are rare, so copying is fine.
func (b *blocklist) set(tenant bool, id string, blocked bool) {
	for {
		old := b.snap.Load()
		next := &blocks{actors: old.actors, tenants: old.tenants}
		target := &next.actors
		if tenant {
			target = &next.tenants
		}
		m := make(map[string]struct{}, len(*target)+1)
		for k := range *target {
			m[k] = struct{}{}
		}
		if blocked {
			m[id] = struct{}{}
		} else {
			delete(m, id)
		}
		*target = m
		if b.snap.CompareAndSwap(old, next) {
			return
		}
	}
}
