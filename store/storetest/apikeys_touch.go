package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/tollgate/tollgate/apikey"
	"github.com/tollgate/tollgate/cursor"
	"github.com/tollgate/tollgate/store"
)

func testAPIKeyTouchOnlyMovesForward(t *testing.T, s store.Store) {
	ctx := t.Context()
	newTenant(t, s, "t1", "user:alice")
	k1 := newAPIKey(t, s, "k1", "t1", "user:alice")
	k2 := apiKey("k2", "t1", "user:alice")
	k2.LastUsedAt = ptr(at(10 * time.Minute))
	must(t, s.CreateAPIKey(ctx, k2))
	k3 := newAPIKey(t, s, "k3", "t1", "user:alice")

	must(t, s.TouchAPIKeys(ctx, nil))
	must(t, s.TouchAPIKeys(ctx, map[string]time.Time{
		"k1":   at(5 * time.Minute),
		"k2":   at(3 * time.Minute), // older than stored: ignored
		"nope": at(time.Minute),     // unknown: ignored
	}))
	want1, want2, want3 := truncAPIKey(k1), truncAPIKey(k2), truncAPIKey(k3)
	want1.LastUsedAt = usp(ptr(at(5 * time.Minute)))
	check(t, "k1", ok(s.GetAPIKey(ctx, "k1"))(t), want1)
	check(t, "k2", ok(s.GetAPIKey(ctx, "k2"))(t), want2)
	check(t, "k3", ok(s.GetAPIKey(ctx, "k3"))(t), want3)

	// Forward moves; an equal time and a sub-microsecond step are no
	// change; an earlier time never wins.
	must(t, s.TouchAPIKeys(ctx, map[string]time.Time{
		"k1": at(4 * time.Minute),
		"k2": at(20 * time.Minute),
		"k3": at(time.Second),
	}))
	must(t, s.TouchAPIKeys(ctx, map[string]time.Time{"k1": us(at(5 * time.Minute)).Add(time.Nanosecond)}))
	want2.LastUsedAt = usp(ptr(at(20 * time.Minute)))
	want3.LastUsedAt = usp(ptr(at(time.Second)))
	check(t, "k1", ok(s.GetAPIKey(ctx, "k1"))(t), want1)
	check(t, "k2", ok(s.GetAPIKey(ctx, "k2"))(t), want2)
	check(t, "k3", ok(s.GetAPIKey(ctx, "k3"))(t), want3)
}

func testAPIKeyConcurrentTouchesLatestWins(t *testing.T, s store.Store) {
	ctx := t.Context()
	newTenant(t, s, "t1", "user:alice")
	// Enough keys that PostgreSQL looks them up by index in the
	// order given rather than scanning the table in its physical
	// order: a statement that does not lock in a fixed order then
	// deadlocks. With 20 it never did.
	keys := ids("k", 200)
	for _, id := range keys {
		newAPIKey(t, s, id, "t1", "user:alice")
	}
	// Overlapping sets flushed at once, as replicas do: none may
	// fail, and the latest time wins per key.
	const n = 8
	errs := make([]error, n)
	race(t, n, func(i int) func() {
		used := map[string]time.Time{}
		for j, id := range keys {
			used[id] = at(time.Duration((i*7+j*3)%n+1) * time.Minute)
		}
		return func() {
			for range 5 {
				if err := s.TouchAPIKeys(ctx, used); err != nil {
					errs[i] = err
					return
				}
			}
		}
	}, s)
	for i, err := range errs {
		if err != nil {
			t.Errorf("flush %d: %v", i, err)
		}
	}
	for _, id := range keys {
		got := ok(s.GetAPIKey(ctx, id))(t).LastUsedAt
		if got == nil || !got.Equal(us(at(n*time.Minute))) {
			t.Errorf("%s: last used %v, want %v", id, got, us(at(n*time.Minute)))
		}
	}
}

func testAPIKeyTouchMoreThanPageLimit(t *testing.T, s store.Store) {
	ctx := t.Context()
	newTenant(t, s, "t1", "user:alice")
	used := map[string]time.Time{}
	for i := range 2 * cursor.MaxLimit {
		id := fmt.Sprintf("k%03d", i)
		if i%2 == 0 {
			newAPIKey(t, s, id, "t1", "user:alice")
		}
		used[id] = at(time.Duration(i) * time.Second)
	}
	must(t, s.TouchAPIKeys(ctx, used))
	for _, k := range ok(s.ListAPIKeys(ctx, apikey.Filter{TenantID: "t1"}, pageAll))(t) {
		if k.LastUsedAt == nil || !k.LastUsedAt.Equal(us(used[k.ID])) {
			t.Errorf("%s: last used %v, want %v", k.ID, k.LastUsedAt, us(used[k.ID]))
		}
	}
}
