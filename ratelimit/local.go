package ratelimit

import (
	"context"
	"hash/maphash"
	"strings"
	"sync"
	"time"
)

// LocalOptions configures NewLocal.
type LocalOptions struct {
	// MaxKeys bounds how many (limit, key) states are kept; 0 means
	// 1,000,000 (about 100 MB with short keys). Past it, a new key evicts
	// an idle one, or an arbitrary one, which forgets what that key used.
	MaxKeys int
}

// Local is the in-process Backend: state lives in sharded maps guarded by
// one mutex per shard, so a decision is atomic per key and keys in
// different shards do not contend. It keeps no goroutine; call Sweep
// periodically to drop idle keys early. Allow uses the caller's now and
// ignores ctx (it never blocks on I/O).
type Local struct {
	seed     maphash.Seed
	shards   []localShard
	mask     uint64
	perShard int
}

type localShard struct {
	mu sync.Mutex
	m  map[localKey]localState
	_  [64 - 16]byte // keep shards on separate cache lines
}

// localKey keys the maps by limit name and key without concatenating them,
// which would allocate on every Allow.
type localKey struct{ name, key string }

type localState struct {
	strategy Strategy
	period   int64
	tat      int64 // GCRA
	win      WindowState
}

// idleAt returns when the state is back to a full quota.
func (s *localState) idleAt() int64 {
	if s.strategy == GCRA {
		return s.tat
	}
	return s.win.IdleAt(time.Duration(s.period))
}

const (
	defaultMaxKeys = 1_000_000
	maxShards      = 64
	// evictScan bounds the entries a full shard inspects for idle ones
	// before evicting an arbitrary one, so an insert stays O(1).
	evictScan = 32
)

// NewLocal returns an empty Local.
func NewLocal(opts LocalOptions) *Local {
	maxKeys := opts.MaxKeys
	if maxKeys <= 0 {
		maxKeys = defaultMaxKeys
	}
	n := maxShards
	for n > 1 && n > maxKeys {
		n /= 2
	}
	l := &Local{
		seed:     maphash.MakeSeed(),
		shards:   make([]localShard, n),
		mask:     uint64(n - 1),
		perShard: maxKeys / n,
	}
	for i := range l.shards {
		l.shards[i].m = make(map[localKey]localState)
	}
	return l
}

func (l *Local) shard(name, key string) *localShard {
	h := maphash.String(l.seed, key) ^ maphash.String(l.seed, name)*0x9e3779b97f4a7c15
	return &l.shards[(h>>32^h)&l.mask]
}

// Allow implements Backend.
func (l *Local) Allow(_ context.Context, lim Limit, key string, cost int64, now time.Time) (Result, error) {
	if err := ValidateRequest(lim, key, cost); err != nil {
		return Result{}, err
	}
	ns := now.UnixNano()
	k := localKey{lim.Name, key}
	sh := l.shard(lim.Name, key)

	sh.mu.Lock()
	defer sh.mu.Unlock()
	st, found := sh.m[k]
	if st.strategy != lim.Strategy { // new key, or the limit changed strategy
		st = localState{strategy: lim.Strategy}
	}
	st.period = int64(lim.Period)
	var r Result
	if lim.Strategy == GCRA {
		var tat int64
		tat, r = DecideGCRA(lim, st.tat, ns, cost)
		if !r.Allowed {
			return r, nil
		}
		st.tat = tat
	} else {
		st.win, r = DecideWindow(lim, st.win, ns, cost)
		if !r.Allowed && !found {
			return r, nil
		}
	}
	if !found {
		sh.makeRoom(l.perShard, ns)
		k = localKey{strings.Clone(lim.Name), strings.Clone(key)} // do not pin the caller's buffers
	}
	sh.m[k] = st
	return r, nil
}

// Peek implements Backend: the decision Allow would take for cost 1, on a
// copy of the state.
func (l *Local) Peek(_ context.Context, lim Limit, key string, now time.Time) (Result, error) {
	if err := ValidateRequest(lim, key, 1); err != nil {
		return Result{}, err
	}
	ns := now.UnixNano()
	sh := l.shard(lim.Name, key)
	sh.mu.Lock()
	st := sh.m[localKey{lim.Name, key}]
	sh.mu.Unlock()
	if st.strategy != lim.Strategy {
		st = localState{strategy: lim.Strategy}
	}
	var r Result
	if lim.Strategy == GCRA {
		_, r = DecideGCRA(lim, st.tat, ns, 1)
	} else {
		_, r = DecideWindow(lim, st.win, ns, 1)
	}
	return r, nil
}

// Reset implements Backend.
func (l *Local) Reset(_ context.Context, lim Limit, key string) error {
	if err := lim.Validate(); err != nil {
		return err
	}
	if err := ValidateKey(key); err != nil {
		return err
	}
	sh := l.shard(lim.Name, key)
	sh.mu.Lock()
	delete(sh.m, localKey{lim.Name, key})
	sh.mu.Unlock()
	return nil
}

// makeRoom evicts entries until the shard has room for one more: idle ones
// among the first evictScan it sees, else the first one (map iteration
// order is random, so that is an arbitrary entry).
func (sh *localShard) makeRoom(limit int, now int64) {
	if len(sh.m) < limit {
		return
	}
	var victim localKey
	seen, dropped := 0, 0
	for k, st := range sh.m {
		if seen == 0 {
			victim = k
		}
		if st.idleAt() <= now {
			delete(sh.m, k)
			dropped++
		}
		if seen++; seen == evictScan {
			break
		}
	}
	if dropped == 0 {
		delete(sh.m, victim)
	}
}

// Sweep drops every key that is back to its full quota at now and returns
// how many it dropped. Dropping them changes no decision. It locks one shard
// at a time.
func (l *Local) Sweep(now time.Time) int {
	ns := now.UnixNano()
	n := 0
	for i := range l.shards {
		sh := &l.shards[i]
		sh.mu.Lock()
		for k, st := range sh.m {
			if st.idleAt() <= ns {
				delete(sh.m, k)
				n++
			}
		}
		sh.mu.Unlock()
	}
	return n
}

// Len returns how many keys are stored.
func (l *Local) Len() int {
	n := 0
	for i := range l.shards {
		sh := &l.shards[i]
		sh.mu.Lock()
		n += len(sh.m)
		sh.mu.Unlock()
	}
	return n
}

var _ Backend = (*Local)(nil)
