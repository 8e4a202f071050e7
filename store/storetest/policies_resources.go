package storetest

import (
	"cmp"
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tollgate/tollgate/cursor"
	"github.com/tollgate/tollgate/policy"
	"github.com/tollgate/tollgate/store"
)

func ref(typ, id string) policy.ResourceRef { return policy.ResourceRef{Type: typ, ID: id} }

// resource is a resource as a caller writes it: no TenantID (PutResources
// takes the tenant as an argument), updated at t0 plus 20s.
func resource(typ, id string, attrs map[string]any, parents ...policy.ResourceRef) policy.Resource {
	return policy.Resource{Type: typ, ID: id, Parents: parents, Attrs: attrs, UpdatedAt: at(20 * time.Second)}
}

// stored is what a store returns for r written as tenantID's: TenantID
// set and the time truncated. Attrs are compared by checkResource, which
// knows how numbers come back.
func stored(tenantID string, r policy.Resource) policy.Resource {
	r.TenantID = tenantID
	r.UpdatedAt = us(r.UpdatedAt)
	return r
}

// resourceKey is the ListResources cursor of r.
func resourceKey(r policy.Resource) string { return r.Type + "/" + r.ID }

func resourceKeys(l []policy.Resource) []string {
	out := []string{}
	for _, r := range l {
		out = append(out, resourceKey(r))
	}
	return out
}

// byTypeID is ListResources order: (type, id), bytewise.
func byTypeID(a, b policy.Resource) int {
	return cmp.Or(strings.Compare(a.Type, b.Type), strings.Compare(a.ID, b.ID))
}

// putResources writes rs as tenantID's and checks that each reads back.
func putResources(t *testing.T, s store.Store, tenantID string, rs ...policy.Resource) {
	t.Helper()
	must(t, s.PutResources(t.Context(), tenantID, rs))
	for _, r := range rs {
		checkResource(t, "GetResource("+resourceKey(r)+")", ok(s.GetResource(t.Context(), tenantID, r.Type, r.ID))(t), stored(tenantID, r))
	}
}

func testResourcePutGet(t *testing.T, s store.Store) {
	ctx := t.Context()
	newTenant(t, s, "t1", "user:alice")
	rs := []policy.Resource{
		resource("channel", "general", map[string]any{"private": false, "members": []any{"user:93"}}, ref("tenant", "t1")),
		resource("tool", "search", map[string]any{"risk": "low"}, ref("channel", "general"), ref("tenant", "t1")),
		resource("agent", "a1", nil),
	}
	// The caller's TenantID, whatever it holds, does not choose the
	// tenant: the argument does.
	rs[2].TenantID = "t2"
	must(t, s.PutResources(ctx, "t1", rs))
	for _, r := range rs {
		checkResource(t, "GetResource("+resourceKey(r)+")", ok(s.GetResource(ctx, "t1", r.Type, r.ID))(t), stored("t1", r))
	}
	want := []policy.Resource{stored("t1", rs[2]), stored("t1", rs[0]), stored("t1", rs[1])}
	checkResources(t, "ListResources", ok(s.ListResources(ctx, "t1", cursor.Page{}))(t), want)
}

func testResourceParentsKeptAsGiven(t *testing.T, s store.Store) {
	ctx := t.Context()
	newTenant(t, s, "t1", "user:alice")
	for _, tc := range []struct {
		name    string
		parents []policy.ResourceRef
	}{
		{"nil", nil},
		{"empty", []policy.ResourceRef{}},
		{"one", []policy.ResourceRef{ref("tenant", "t1")}},
		// Kept in the order given, repeats and all; parents need
		// not exist.
		{"several", []policy.ResourceRef{ref("tool", "z"), ref("channel", "a"), ref("tool", "z"), ref("usage", "nope")}},
		{"slashes and nasty ids", []policy.ResourceRef{ref("channel", "a/b/c"), ref("tool", "/"), ref("channel", ""), ref("x", nasty[0]), ref("y", nasty[6])}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			putResources(t, s, "t1", resource("child", tc.name, map[string]any{"n": 1}, tc.parents...))
		})
	}
	if got := ok(s.GetResource(ctx, "t1", "child", "nil"))(t).Parents; got == nil || len(got) != 0 {
		t.Errorf("nil parents came back as %#v, want an empty slice", got)
	}
}

func testResourceTimesRoundTrip(t *testing.T, s store.Store) {
	newTenant(t, s, "t1", "user:alice")
	zone := time.FixedZone("UTC-3", -3*3600)
	for i, when := range []time.Time{
		at(0), // nanoseconds: truncated to microseconds
		time.Date(2024, 2, 29, 23, 59, 59, 999999999, zone),
		time.Date(2300, 1, 1, 0, 0, 0, 1000, time.UTC),
		{},
	} {
		r := resource("clock", strconv.Itoa(i), nil)
		r.UpdatedAt = when
		putResources(t, s, "t1", r)
	}
}

func testResourcePutReplacesWhole(t *testing.T, s store.Store) {
	ctx := t.Context()
	newTenant(t, s, "t1", "user:alice")
	old := resource("channel", "c1", map[string]any{"private": true, "level": 3, "tags": []any{"a"}}, ref("tenant", "t1"), ref("team", "x"))
	other := resource("channel", "c2", map[string]any{"private": false}, ref("tenant", "t1"))
	putResources(t, s, "t1", old, other)

	for _, step := range []struct {
		name string
		r    policy.Resource
	}{
		// Replaced whole: attributes and parents absent from the new
		// value go, and UpdatedAt may move backwards.
		{"replace", func() policy.Resource {
			r := resource("channel", "c1", map[string]any{"level": 4, "owner": "user:93"}, ref("team", "y"))
			r.UpdatedAt = at(time.Second)
			return r
		}()},
		{"same again", resource("channel", "c1", map[string]any{"level": 4, "owner": "user:93"}, ref("team", "y"))},
		{"clear", resource("channel", "c1", nil)},
		{"set after clear", resource("channel", "c1", map[string]any{"private": true}, ref("tenant", "t1"))},
	} {
		must(t, s.PutResources(ctx, "t1", []policy.Resource{step.r}))
		checkResource(t, step.name, ok(s.GetResource(ctx, "t1", "channel", "c1"))(t), stored("t1", step.r))
		checkResource(t, step.name+": c2", ok(s.GetResource(ctx, "t1", "channel", "c2"))(t), stored("t1", other))
	}

	// The same resource twice in one batch: the later wins.
	first := resource("channel", "c3", map[string]any{"v": 1})
	second := resource("channel", "c3", map[string]any{"v": 2})
	last := resource("channel", "c1", map[string]any{"v": "last"})
	must(t, s.PutResources(ctx, "t1", []policy.Resource{last, first, resource("channel", "c1", map[string]any{"v": "mid"}), second, last}))
	checkResource(t, "duplicate in batch", ok(s.GetResource(ctx, "t1", "channel", "c3"))(t), stored("t1", second))
	checkResource(t, "duplicate in batch c1", ok(s.GetResource(ctx, "t1", "channel", "c1"))(t), stored("t1", last))
	check(t, "keys", resourceKeys(ok(s.ListResources(ctx, "t1", cursor.Page{}))(t)), []string{"channel/c1", "channel/c2", "channel/c3"})
}

func testResourcePutBatchIsAtomic(t *testing.T, s store.Store) {
	ctx := t.Context()
	newTenant(t, s, "t1", "user:alice")
	before := resource("channel", "c1", map[string]any{"v": "before"})
	putResources(t, s, "t1", before)
	// The last resource cannot be stored (NaN is no JSON number):
	// the replacement and the new resource before it go too.
	bad := resource("channel", "c9", map[string]any{"v": math.NaN()})
	err := s.PutResources(ctx, "t1", []policy.Resource{
		resource("channel", "c1", map[string]any{"v": "after"}),
		resource("channel", "c2", map[string]any{"v": "new"}),
		bad,
	})
	if err == nil {
		t.Fatal("PutResources with a NaN attribute succeeded")
	}
	checkResource(t, "c1 unchanged", ok(s.GetResource(ctx, "t1", "channel", "c1"))(t), stored("t1", before))
	check(t, "keys", resourceKeys(ok(s.ListResources(ctx, "t1", cursor.Page{}))(t)), []string{"channel/c1"})
}

func testResourceConcurrentPutsSucceed(t *testing.T, s store.Store) {
	ctx := t.Context()
	newTenant(t, s, "t1", "user:alice")
	keys := ids("r", 60)
	// Overlapping batches in different orders, some replacing rows
	// others insert: none may fail (no deadlock), and every
	// resource ends as one of the writers left it.
	const n = 8
	errs := make([]error, n)
	race(t, n, func(i int) func() {
		order := slices.Clone(keys)
		switch i % 3 {
		case 1:
			slices.Reverse(order)
		case 2:
			order = shuffled(order)
		}
		var rs []policy.Resource
		for _, id := range order {
			rs = append(rs, resource("tool", id, map[string]any{"writer": i}))
		}
		return func() {
			for range 5 {
				if err := s.PutResources(ctx, "t1", rs); err != nil {
					errs[i] = err
					return
				}
			}
		}
	}, s)
	for i, err := range errs {
		if err != nil {
			t.Errorf("writer %d: %v", i, err)
		}
	}
	got := ok(s.ListResources(ctx, "t1", cursor.Page{}))(t)
	if len(got) != len(keys) {
		t.Fatalf("%d resources, want %d", len(got), len(keys))
	}
	for _, r := range got {
		num, isNum := r.Attrs["writer"].(json.Number)
		w, err := num.Int64()
		if !isNum || err != nil || w < 0 || w >= n {
			t.Errorf("%s: writer %v", r.ID, r.Attrs["writer"])
		}
	}
}
