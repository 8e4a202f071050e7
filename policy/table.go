package policy

import (
	"hash/maphash"
	"maps"

	"github.com/cedar-policy/cedar-go"
)

// tableShards is how many maps an entityTable spreads its entries over. A
// change copies the shards it touches: at 100,000 entries one shard holds
// about 400, so a membership change copies a few kilobytes instead of the
// whole tenant.
const tableShards = 256

// entityTable is a persistent map from entity ids: a version is never
// changed once published, and the next version shares every shard a
// change did not touch. Decisions read it without locks.
type entityTable[V any] struct {
	seed   maphash.Seed
	shards [tableShards]map[cedar.EntityUID]V
	n      int
}

func newEntityTable[V any]() *entityTable[V] {
	return &entityTable[V]{seed: maphash.MakeSeed()}
}

func (t *entityTable[V]) shard(uid cedar.EntityUID) int {
	return int(maphash.String(t.seed, string(uid.ID)) % tableShards)
}

func (t *entityTable[V]) get(uid cedar.EntityUID) (V, bool) {
	v, ok := t.shards[t.shard(uid)][uid]
	return v, ok
}

// len is the number of entries.
func (t *entityTable[V]) len() int { return t.n }

// all calls f for each entry, in no particular order.
func (t *entityTable[V]) all(f func(cedar.EntityUID, V)) {
	for _, m := range t.shards {
		for k, v := range m {
			f(k, v)
		}
	}
}

// tableEdit builds the next version of a table. The first write to a
// shard copies it; later writes to that shard go to the copy.
type tableEdit[V any] struct {
	t     *entityTable[V]
	owned [tableShards]bool
	hint  int
}

// edit starts the next version. hint is the expected size of each new
// shard, for a table being filled from nothing.
func (t *entityTable[V]) edit(hint int) *tableEdit[V] {
	cp := *t
	return &tableEdit[V]{t: &cp, hint: hint}
}

func (e *tableEdit[V]) own(i int) map[cedar.EntityUID]V {
	if !e.owned[i] {
		m := make(map[cedar.EntityUID]V, max(len(e.t.shards[i])+1, e.hint))
		maps.Copy(m, e.t.shards[i])
		e.t.shards[i] = m
		e.owned[i] = true
	}
	return e.t.shards[i]
}

func (e *tableEdit[V]) get(uid cedar.EntityUID) (V, bool) { return e.t.get(uid) }

func (e *tableEdit[V]) set(uid cedar.EntityUID, v V) {
	m := e.own(e.t.shard(uid))
	if _, ok := m[uid]; !ok {
		e.t.n++
	}
	m[uid] = v
}

func (e *tableEdit[V]) delete(uid cedar.EntityUID) {
	i := e.t.shard(uid)
	if _, ok := e.t.shards[i][uid]; !ok {
		return
	}
	delete(e.own(i), uid)
	e.t.n--
}

// done returns the new version; the edit must not be used after.
func (e *tableEdit[V]) done() *entityTable[V] { return e.t }
