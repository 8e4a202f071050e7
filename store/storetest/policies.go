package storetest

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tollgate/tollgate/cursor"
	"github.com/tollgate/tollgate/fault"
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

// jsonForm is v as it reads back from JSON decoded with UseNumber: numbers
// json.Number, arrays []any, objects map[string]any.
func jsonForm(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("marshal %v: %v", v, err)
	}
	d := json.NewDecoder(strings.NewReader(string(b)))
	d.UseNumber()
	var out any
	if err := d.Decode(&out); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	return out
}

// isIntegerText reports whether a JSON number has neither fraction nor
// exponent.
func isIntegerText(n json.Number) bool { return !strings.ContainsAny(string(n), ".eE") }

// diffJSON writes where got, attributes as a store returned them, differs
// from want, in jsonForm. Numbers must come back as json.Number; integers
// with the very text written (so exact beyond 2^53), other numbers with
// the same exact value (PostgreSQL's jsonb writes 1e+21 as
// 1000000000000000000000).
func diffJSON(b *strings.Builder, path string, got, want any) {
	switch w := want.(type) {
	case json.Number:
		g, isNum := got.(json.Number)
		if !isNum {
			fmt.Fprintf(b, "  %s: got %#v (%T), want json.Number %s\n", path, got, got, w)
			return
		}
		if isIntegerText(w) {
			if g != w {
				fmt.Fprintf(b, "  %s: got %s, want %s\n", path, g, w)
			}
			return
		}
		gr, gok := new(big.Rat).SetString(string(g))
		wr, wok := new(big.Rat).SetString(string(w))
		if !gok || !wok || gr.Cmp(wr) != 0 {
			fmt.Fprintf(b, "  %s: got %s, want %s\n", path, g, w)
		}
	case []any:
		g, isArr := got.([]any)
		if !isArr || len(g) != len(w) {
			fmt.Fprintf(b, "  %s: got %#v, want %#v\n", path, got, want)
			return
		}
		for i := range w {
			diffJSON(b, fmt.Sprintf("%s[%d]", path, i), g[i], w[i])
		}
	case map[string]any:
		g, isObj := got.(map[string]any)
		if !isObj || g == nil {
			fmt.Fprintf(b, "  %s: got %#v, want an object %#v\n", path, got, want)
			return
		}
		for k, wv := range w {
			gv, found := g[k]
			if !found {
				fmt.Fprintf(b, "  %s[%q]: missing\n", path, k)
				continue
			}
			diffJSON(b, fmt.Sprintf("%s[%q]", path, k), gv, wv)
		}
		for k := range g {
			if _, found := w[k]; !found {
				fmt.Fprintf(b, "  %s[%q]: unexpected %#v\n", path, k, g[k])
			}
		}
	default: // string, bool, nil
		if got != want {
			fmt.Fprintf(b, "  %s: got %#v (%T), want %#v (%T)\n", path, got, got, want, want)
		}
	}
}

// checkResource compares got with want (from stored): attributes by
// diffJSON, the rest by check. Parents and Attrs must never come back nil.
func checkResource(t *testing.T, what string, got, want policy.Resource) {
	t.Helper()
	if got.Parents == nil {
		t.Errorf("%s: Parents is nil, want a non-nil slice", what)
	}
	if got.Attrs == nil {
		t.Errorf("%s: Attrs is nil, want a non-nil map", what)
	}
	var b strings.Builder
	wantAttrs := jsonForm(t, want.Attrs)
	if want.Attrs == nil {
		wantAttrs = map[string]any{}
	}
	diffJSON(&b, ".Attrs", got.Attrs, wantAttrs)
	if b.Len() > 0 {
		t.Errorf("%s attrs mismatch:\n%s", what, b.String())
	}
	got.Attrs, want.Attrs = nil, nil
	check(t, what, got, want)
}

func checkResources(t *testing.T, what string, got, want []policy.Resource) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: got %d resources %v, want %d %v", what, len(got), resourceKeys(got), len(want), resourceKeys(want))
		return
	}
	for i := range want {
		checkResource(t, fmt.Sprintf("%s[%d]", what, i), got[i], want[i])
	}
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

// listAllResources pages through tenantID's resources limit at a time.
func listAllResources(t *testing.T, s store.Store, tenantID string, limit int) []policy.Resource {
	t.Helper()
	var out []policy.Resource
	after := ""
	for range 10000 {
		page := ok(s.ListResources(t.Context(), tenantID, cursor.Page{After: after, Limit: limit}))(t)
		if len(page) > limit {
			t.Fatalf("ListResources(limit %d) returned %d", limit, len(page))
		}
		out = append(out, page...)
		if len(page) < limit {
			return out
		}
		after = resourceKey(page[len(page)-1])
	}
	t.Fatal("ListResources does not end")
	return nil
}

// policySet is version text of tenantID's policies, as a caller passes it
// (Version is set by the store).
func policySet(tenantID, text string, d time.Duration) policy.PolicySet {
	return policy.PolicySet{TenantID: tenantID, Text: text, CreatedBy: "user:alice", CreatedAt: at(d)}
}

// storedSet is what a store returns for ps stored as version.
func storedSet(ps policy.PolicySet, version int64) policy.PolicySet {
	ps.Version = version
	ps.CreatedAt = us(ps.CreatedAt)
	return ps
}

// listed is storedSet as ListPolicySetVersions returns it: without Text.
func listed(ps policy.PolicySet) policy.PolicySet {
	ps.Text = ""
	return ps
}

func noPolicies(tenantID string) policy.PolicySet { return policy.PolicySet{TenantID: tenantID} }

// addVersions adds n versions of tenantID's policies from version 1 and
// returns them as stored.
func addVersions(t *testing.T, s store.Store, tenantID string, n int) []policy.PolicySet {
	t.Helper()
	var out []policy.PolicySet
	for i := range n {
		ps := policySet(tenantID, fmt.Sprintf("// %s v%d\npermit (principal, action, resource);", tenantID, i+1), time.Duration(i)*time.Minute)
		must(t, s.AddPolicySet(t.Context(), ps, int64(i)))
		out = append(out, storedSet(ps, int64(i+1)))
	}
	return out
}

func versionsOf(l []policy.PolicySet) []int64 {
	out := []int64{}
	for _, ps := range l {
		out = append(out, ps.Version)
	}
	return out
}

// policyTests cover policy.Store: registered resources and the versions
// of tenants' own policies.
func policyTests() []test {
	// Attribute values as callers pass them, one resource each.
	attrCases := []struct {
		name  string
		attrs map[string]any
	}{
		{"strings", map[string]any{"name": "general", "empty": "", "unicode": "Zürich 東京 🚀", "escapes": "\u2028 \" \\ \n\t<&>"}},
		{"small integers", map[string]any{"zero": 0, "one": 1, "minus": -42, "int64": int64(1234567890)}},
		{"large integers", map[string]any{
			"max int64":   int64(math.MaxInt64),
			"min int64":   int64(math.MinInt64),
			"max uint64":  uint64(math.MaxUint64),
			"2^53+1":      int64(1<<53 + 1), // not a float64
			"beyond64bit": json.Number("123456789012345678901234567890"),
			"negative":    json.Number("-98765432109876543210"),
		}},
		{"fractions", map[string]any{
			"half": 1.5, "tenth": 0.1, "negative": -0.25, "float64 exponent": 1e21, "tiny": 1e-7,
			"precise": json.Number("3.14159265358979323846264338327950288"),
		}},
		{"booleans", map[string]any{"yes": true, "no": false}},
		{"arrays", map[string]any{
			"strings": []string{"b", "a", "b"}, // order and repeats kept
			"mixed":   []any{1, "two", true, 2.5, []any{}, map[string]any{}},
			"nested":  []any{[]any{[]any{json.Number("18446744073709551617")}}},
			"empty":   []any{},
		}},
		{"objects", map[string]any{
			"record": map[string]any{"level": 3, "tags": []any{"x"}, "owner": map[string]any{"id": "user:93", "admin": false}},
			"empty":  map[string]any{},
			"deep":   map[string]any{"a": map[string]any{"b": map[string]any{"c": map[string]any{"d": json.Number("9007199254740993")}}}},
		}},
		{"keys", map[string]any{"": "empty key", "a.b/c": 1, "with space": 2, "Zürich": 3, "\u202eRTL": 4, `{"json": 1}`: 5}},
		{"nasty values", func() map[string]any {
			m := map[string]any{}
			for i, v := range nasty {
				m[fmt.Sprintf("k%02d", i)] = v
				m[v] = []any{v, map[string]any{v: v}}
			}
			return m
		}()},
		{"nil", nil},
		{"empty", map[string]any{}},
	}

	return []test{
		{"ResourcePutGet", func(t *testing.T, s store.Store) {
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
		}},
		{"ResourceAttrs", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			newTenant(t, s, "t1", "user:alice")
			var want []policy.Resource
			for i, tc := range attrCases {
				t.Run(tc.name, func(t *testing.T) {
					r := resource("record", fmt.Sprintf("r%02d", i), tc.attrs)
					putResources(t, s, "t1", r)
					want = append(want, stored("t1", r))
				})
			}
			// Lists decode the same way.
			checkResources(t, "ListResources", ok(s.ListResources(ctx, "t1", cursor.Page{}))(t), want)

			// All cases in one resource, nested one level down.
			all := map[string]any{}
			for _, tc := range attrCases {
				all[tc.name] = tc.attrs
			}
			putResources(t, s, "t1", resource("record", "all", all))

			// Integers come back as json.Number with their exact text, not
			// as float64.
			got := ok(s.GetResource(ctx, "t1", "record", "all"))(t).Attrs
			n, isNum := got["large integers"].(map[string]any)["2^53+1"].(json.Number)
			if !isNum || n.String() != "9007199254740993" {
				t.Errorf("2^53+1 = %#v, want json.Number 9007199254740993", got["large integers"].(map[string]any)["2^53+1"])
			}
			if v, err := n.Int64(); err != nil || v != 1<<53+1 {
				t.Errorf("2^53+1 as int64 = %d, %v", v, err)
			}
		}},
		{"ResourceParents", func(t *testing.T, s store.Store) {
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
		}},
		{"ResourceTimes", func(t *testing.T, s store.Store) {
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
		}},
		{"ResourceReplace", func(t *testing.T, s store.Store) {
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
		}},
		{"ResourceDelete", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			newTenant(t, s, "t1", "user:alice")
			a := resource("tool", "a", map[string]any{"n": 1})
			b := resource("tool", "a/b", map[string]any{"n": 2})
			c := resource("toolx", "a", map[string]any{"n": 3})
			putResources(t, s, "t1", a, b, c)

			must(t, s.DeleteResource(ctx, "t1", "tool", "a"))
			_, err := s.GetResource(ctx, "t1", "tool", "a")
			wantNotFound(t, err, "resource_not_found")
			wantNotFound(t, s.DeleteResource(ctx, "t1", "tool", "a"), "resource_not_found")
			// Only that one went: not the id it prefixes, nor the same id
			// of another type.
			checkResource(t, "tool a/b", ok(s.GetResource(ctx, "t1", "tool", "a/b"))(t), stored("t1", b))
			checkResource(t, "toolx a", ok(s.GetResource(ctx, "t1", "toolx", "a"))(t), stored("t1", c))
			check(t, "keys", resourceKeys(ok(s.ListResources(ctx, "t1", cursor.Page{}))(t)), []string{"tool/a/b", "toolx/a"})

			// It can be registered again.
			a2 := resource("tool", "a", map[string]any{"n": 4})
			putResources(t, s, "t1", a2)
			must(t, s.DeleteResource(ctx, "t1", "tool", "a/b"))
			check(t, "keys", resourceKeys(ok(s.ListResources(ctx, "t1", cursor.Page{}))(t)), []string{"tool/a", "toolx/a"})
		}},
		{"ResourceNotFound", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			newTenant(t, s, "t1", "user:alice")
			r := resource("channel", "c1", map[string]any{"n": 1})
			putResources(t, s, "t1", r)
			for _, tc := range []struct{ name, tenant, typ, id string }{
				{"unknown id", "t1", "channel", "c2"},
				{"unknown type", "t1", "tool", "c1"},
				{"unknown tenant", "nope", "channel", "c1"},
				{"no tenant", "", "channel", "c1"},
				{"prefix of id", "t1", "channel", "c"},
				{"id with suffix", "t1", "channel", "c1 "},
				{"other case", "t1", "Channel", "c1"},
				{"pattern", "t1", "channel", "%"},
				{"type/id as id", "t1", "", "channel/c1"},
				{"empty", "t1", "", ""},
			} {
				t.Run(tc.name, func(t *testing.T) {
					_, err := s.GetResource(ctx, tc.tenant, tc.typ, tc.id)
					wantNotFound(t, err, "resource_not_found")
					wantNotFound(t, s.DeleteResource(ctx, tc.tenant, tc.typ, tc.id), "resource_not_found")
				})
			}
			checkResource(t, "c1 untouched", ok(s.GetResource(ctx, "t1", "channel", "c1"))(t), stored("t1", r))
		}},
		{"ResourceUnknownTenant", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			newTenant(t, s, "t1", "user:alice")
			rs := []policy.Resource{resource("channel", "c1", map[string]any{"n": 1}), resource("tool", "x", nil)}
			for _, tc := range []struct {
				name, tenant string
				rs           []policy.Resource
			}{
				{"unknown", "nope", rs},
				{"no tenant", "", rs},
				{"prefix of a tenant", "t", rs},
				// The tenant is checked even when there is nothing to write.
				{"unknown, nothing to write", "nope", nil},
				{"unknown, empty batch", "nope", []policy.Resource{}},
			} {
				t.Run(tc.name, func(t *testing.T) {
					wantNotFound(t, s.PutResources(ctx, tc.tenant, tc.rs), "tenant_not_found")
					check(t, "stored nothing", resourceKeys(ok(s.ListResources(ctx, tc.tenant, cursor.Page{}))(t)), []string{})
					_, err := s.GetResource(ctx, tc.tenant, "channel", "c1")
					wantNotFound(t, err, "resource_not_found")
				})
			}
			check(t, "t1 has none", resourceKeys(ok(s.ListResources(ctx, "t1", cursor.Page{}))(t)), []string{})

			// An empty batch for a tenant that exists writes nothing.
			must(t, s.PutResources(ctx, "t1", nil))
			must(t, s.PutResources(ctx, "t1", []policy.Resource{}))
			check(t, "t1 still has none", resourceKeys(ok(s.ListResources(ctx, "t1", cursor.Page{}))(t)), []string{})
		}},
		{"ResourceAtomic", func(t *testing.T, s store.Store) {
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
		}},
		{"ResourceList", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			newTenant(t, s, "t1", "user:alice")
			// Order is by the pair (type, id), bytewise, not by the text
			// "type/id": "tool/z" comes before "tool-x/a" although '-' <
			// '/'. Ids may hold '/', and a cursor splits at the first one.
			keys := []policy.ResourceRef{
				ref("tool", "z"), ref("tool", "a"), ref("tool", "a/b"), ref("tool", "a/b/c"), ref("tool", "a-b"),
				ref("tool", "a/"), ref("tool", "/"), ref("tool", "//"), ref("tool", ""), ref("tool", "B"), ref("tool", "é"),
				ref("tool-x", "a"), ref("tool-x", "/a"), ref("toolx", "0"), ref("tool.x", "1"),
				ref("agent", "a1"), ref("channel", "c/1"), ref("channel", "c"), ref("Channel", "c"),
				ref("a", "tool/z"), ref("", "x"), ref("usage", nasty[0]), ref("usage", nasty[5]),
			}
			var want []policy.Resource
			var rs []policy.Resource
			for i, k := range keys {
				r := resource(k.Type, k.ID, map[string]any{"i": i}, ref("tenant", "t1"))
				rs = append(rs, r)
				want = append(want, stored("t1", r))
			}
			slices.Reverse(rs)
			must(t, s.PutResources(ctx, "t1", rs))
			slices.SortFunc(want, byTypeID)

			checkResources(t, "limit 0", ok(s.ListResources(ctx, "t1", cursor.Page{}))(t), want)
			for _, limit := range []int{1, 2, 3, 5, len(want) - 1, len(want), len(want) + 1, cursor.MaxLimit} {
				t.Run(fmt.Sprintf("limit %d", limit), func(t *testing.T) {
					checkResources(t, "pages", listAllResources(t, s, "t1", limit), want)
				})
			}
			// A cursor need not name a stored resource.
			for _, tc := range []struct{ after, first string }{
				{"tool/a/b", "tool/a/b/c"},
				{"tool/a/a", "tool/a/b"},
				{"tool/", "tool//"},
				{"tool-x/", "tool-x//a"},
				{"tool-w/zzz", "tool-x//a"},
				{"/", "/x"},
				{"/x", "Channel/c"},
				{"tool/\U0010FFFF", "tool-x//a"},
			} {
				got := ok(s.ListResources(ctx, "t1", cursor.Page{After: tc.after, Limit: 1}))(t)
				check(t, "after "+tc.after, resourceKeys(got), []string{tc.first})
			}
			for _, after := range []string{"usage/\U0010FFFF", "zzz/", "\U0010FFFF/"} {
				check(t, "after "+after, resourceKeys(ok(s.ListResources(ctx, "t1", cursor.Page{After: after}))(t)), []string{})
			}
		}},
		{"ResourceListLarge", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			newTenant(t, s, "t1", "user:alice")
			n := cursor.MaxLimit + 50
			var rs, want []policy.Resource
			for i := range n {
				r := resource([]string{"channel", "tool", "agent"}[i%3], fmt.Sprintf("id-%04d", i), map[string]any{"i": i})
				rs = append(rs, r)
				want = append(want, stored("t1", r))
			}
			must(t, s.PutResources(ctx, "t1", rs))
			slices.SortFunc(want, byTypeID)
			// Limit 0 is every resource, for a snapshot: no page limit.
			checkResources(t, "limit 0", ok(s.ListResources(ctx, "t1", cursor.Page{}))(t), want)
			// A positive limit is not clamped to the page limit.
			checkResources(t, "limit n-1", ok(s.ListResources(ctx, "t1", cursor.Page{Limit: n - 1}))(t), want[:n-1])
			checkResources(t, "pages of 64", listAllResources(t, s, "t1", 64), want)
		}},
		{"ResourceListBadCursor", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			newTenant(t, s, "t1", "user:alice")
			putResources(t, s, "t1", resource("tool", "a", nil))
			for _, after := range []string{"tool", "x", " "} {
				_, err := s.ListResources(ctx, "t1", cursor.Page{After: after})
				wantFault(t, err, fault.Invalid, "invalid_cursor")
			}
		}},
		{"ResourceIsolation", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			newTenant(t, s, "ta", "user:alice")
			newTenant(t, s, "tb", "user:bob")
			newTenant(t, s, "tc", "user:carol")
			shared := resource("channel", "general", map[string]any{"owner": "a"}, ref("tenant", "ta"))
			onlyA := resource("tool", "secret", map[string]any{"risk": "high"})
			putResources(t, s, "ta", shared, onlyA)

			// B cannot see, list or delete A's.
			_, err := s.GetResource(ctx, "tb", "tool", "secret")
			wantNotFound(t, err, "resource_not_found")
			wantNotFound(t, s.DeleteResource(ctx, "tb", "tool", "secret"), "resource_not_found")
			wantNotFound(t, s.DeleteResource(ctx, "tb", "channel", "general"), "resource_not_found")
			check(t, "tb list", resourceKeys(ok(s.ListResources(ctx, "tb", cursor.Page{}))(t)), []string{})
			check(t, "tb list after A's key", resourceKeys(ok(s.ListResources(ctx, "tb", cursor.Page{After: "channel/"}))(t)), []string{})

			// The same (type, id) in B is a resource of its own.
			sharedB := resource("channel", "general", map[string]any{"owner": "b", "extra": true}, ref("tenant", "tb"))
			putResources(t, s, "tb", sharedB)
			checkResource(t, "ta general", ok(s.GetResource(ctx, "ta", "channel", "general"))(t), stored("ta", shared))
			checkResource(t, "tb general", ok(s.GetResource(ctx, "tb", "channel", "general"))(t), stored("tb", sharedB))
			checkResources(t, "tb list", ok(s.ListResources(ctx, "tb", cursor.Page{}))(t), []policy.Resource{stored("tb", sharedB)})
			checkResources(t, "ta list", ok(s.ListResources(ctx, "ta", cursor.Page{}))(t), []policy.Resource{stored("ta", shared), stored("ta", onlyA)})

			// Deleting B's leaves A's.
			must(t, s.DeleteResource(ctx, "tb", "channel", "general"))
			checkResource(t, "ta general after tb delete", ok(s.GetResource(ctx, "ta", "channel", "general"))(t), stored("ta", shared))
			check(t, "tc list", resourceKeys(ok(s.ListResources(ctx, "tc", cursor.Page{}))(t)), []string{})
		}},
		{"ResourceConcurrentPuts", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			newTenant(t, s, "t1", "user:alice")
			keys := ids("r", 60)
			// Overlapping batches in different orders, some replacing rows
			// others insert: none may fail (no deadlock), and every
			// resource ends as one of the writers left it.
			const n = 8
			var wg sync.WaitGroup
			start := make(chan struct{})
			errs := make([]error, n)
			for i := range n {
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
				wg.Go(func() {
					<-start
					for range 5 {
						if err := s.PutResources(ctx, "t1", rs); err != nil {
							errs[i] = err
							return
						}
					}
				})
			}
			warmUp(t, s)
			close(start)
			wg.Wait()
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
		}},

		{"PolicyNone", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			newTenant(t, s, "t1", "user:alice")
			for _, tenantID := range []string{"t1", "nope", ""} {
				check(t, "CurrentPolicySet("+tenantID+")", ok(s.CurrentPolicySet(ctx, tenantID))(t), noPolicies(tenantID))
				check(t, "ListPolicySetVersions("+tenantID+")", ok(s.ListPolicySetVersions(ctx, tenantID, cursor.Page{}))(t), []policy.PolicySet{})
				_, err := s.PolicySetVersion(ctx, tenantID, 1)
				wantNotFound(t, err, "policy_version_not_found")
			}
		}},
		{"PolicyAddAndGet", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			newTenant(t, s, "t1", "user:alice")
			long := strings.Repeat("permit (principal, action, resource) when { context.ip == \"10.0.0.1\" };\n", 2000)
			steps := []struct {
				name string
				ps   policy.PolicySet
			}{
				{"first", policySet("t1", "permit (principal, action, resource);", time.Minute)},
				// The Version a caller passes is ignored: previous+1 is.
				{"version ignored", func() policy.PolicySet {
					ps := policySet("t1", "forbid (principal, action, resource);", 2*time.Minute)
					ps.Version = 99
					return ps
				}()},
				{"long text", policySet("t1", long, 3*time.Minute)},
				{"nasty text", policySet("t1", strings.Join(nasty, "\n"), 4*time.Minute)},
				// Empty text: no policies of the tenant's own, as a version.
				{"empty text", func() policy.PolicySet {
					ps := policySet("t1", "", 5*time.Minute)
					ps.CreatedBy = ""
					return ps
				}()},
				{"zero time", func() policy.PolicySet {
					ps := policySet("t1", "// v6", 0)
					ps.CreatedAt = time.Time{}
					return ps
				}()},
			}
			var want []policy.PolicySet
			for i, step := range steps {
				v := int64(i + 1)
				must(t, s.AddPolicySet(ctx, step.ps, v-1))
				w := storedSet(step.ps, v)
				want = append(want, w)
				check(t, step.name+": current", ok(s.CurrentPolicySet(ctx, "t1"))(t), w)
			}
			// Every version stays readable.
			for _, w := range want {
				check(t, fmt.Sprintf("version %d", w.Version), ok(s.PolicySetVersion(ctx, "t1", w.Version))(t), w)
			}
		}},
		{"PolicyConflict", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			newTenant(t, s, "t1", "user:alice")
			vs := addVersions(t, s, "t1", 2)
			for _, tc := range []struct {
				name     string
				previous int64
			}{
				{"stale, none", 0},
				{"stale", 1},
				{"ahead", 3},
				{"far ahead", 1000},
				{"negative", -1},
				{"max", math.MaxInt64},
				{"min", math.MinInt64},
			} {
				t.Run(tc.name, func(t *testing.T) {
					wantConflict(t, s.AddPolicySet(ctx, policySet("t1", "// refused", time.Hour), tc.previous), "policy_version_conflict")
				})
			}
			check(t, "current unchanged", ok(s.CurrentPolicySet(ctx, "t1"))(t), vs[1])
			check(t, "versions unchanged", versionsOf(ok(s.ListPolicySetVersions(ctx, "t1", cursor.Page{}))(t)), []int64{2, 1})
			// The right previous still works after the refusals.
			must(t, s.AddPolicySet(ctx, policySet("t1", "// v3", time.Hour), 2))
			check(t, "v3", ok(s.CurrentPolicySet(ctx, "t1"))(t), storedSet(policySet("t1", "// v3", time.Hour), 3))
		}},
		{"PolicyVersionNotFound", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			newTenant(t, s, "t1", "user:alice")
			newTenant(t, s, "t2", "user:bob")
			addVersions(t, s, "t1", 2)
			addVersions(t, s, "t2", 3)
			for _, tc := range []struct {
				name    string
				tenant  string
				version int64
			}{
				{"zero", "t1", 0},
				{"negative", "t1", -1},
				{"next", "t1", 3},
				{"max", "t1", math.MaxInt64},
				{"min", "t1", math.MinInt64},
				{"unknown tenant", "nope", 1},
				{"no tenant", "", 1},
			} {
				t.Run(tc.name, func(t *testing.T) {
					_, err := s.PolicySetVersion(ctx, tc.tenant, tc.version)
					wantNotFound(t, err, "policy_version_not_found")
				})
			}
		}},
		{"PolicyUnknownTenant", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			newTenant(t, s, "t1", "user:alice")
			addVersions(t, s, "t1", 1)
			for _, tc := range []struct {
				name     string
				tenant   string
				previous int64
			}{
				{"unknown", "nope", 0},
				// Not found outranks the conflict a wrong previous would be.
				{"unknown, wrong previous", "nope", 1},
				{"no tenant", "", 0},
				{"prefix of a tenant", "t", 0},
			} {
				t.Run(tc.name, func(t *testing.T) {
					wantNotFound(t, s.AddPolicySet(ctx, policySet(tc.tenant, "// x", time.Hour), tc.previous), "tenant_not_found")
					check(t, "current", ok(s.CurrentPolicySet(ctx, tc.tenant))(t), noPolicies(tc.tenant))
					check(t, "versions", ok(s.ListPolicySetVersions(ctx, tc.tenant, cursor.Page{}))(t), []policy.PolicySet{})
				})
			}
			check(t, "t1 versions", versionsOf(ok(s.ListPolicySetVersions(ctx, "t1", cursor.Page{}))(t)), []int64{1})
		}},
		{"PolicyList", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			newTenant(t, s, "t1", "user:alice")
			const n = 12
			vs := addVersions(t, s, "t1", n)
			var want []policy.PolicySet
			for i := n - 1; i >= 0; i-- {
				want = append(want, listed(vs[i]))
			}
			// Newest first, Text left empty; Limit 0 is the default page.
			check(t, "all", ok(s.ListPolicySetVersions(ctx, "t1", cursor.Page{}))(t), want)
			for _, limit := range []int{1, 2, 5, n - 1, n, n + 1} {
				t.Run(fmt.Sprintf("limit %d", limit), func(t *testing.T) {
					var got []policy.PolicySet
					after := ""
					for range n + 2 {
						page := ok(s.ListPolicySetVersions(ctx, "t1", cursor.Page{After: after, Limit: limit}))(t)
						if len(page) > limit {
							t.Fatalf("page of %d, limit %d", len(page), limit)
						}
						got = append(got, page...)
						if len(page) < limit {
							break
						}
						after = strconv.FormatInt(page[len(page)-1].Version, 10)
					}
					check(t, "pages", got, want)
				})
			}
			for _, tc := range []struct {
				after string
				want  []int64
			}{
				{"3", []int64{2, 1}},
				{"1", []int64{}},
				{"0", []int64{}},
				{"-5", []int64{}},
				{"13", []int64{12, 11, 10}},
				{"1000", []int64{12, 11, 10}},
				{"9223372036854775807", []int64{12, 11, 10}},
			} {
				got := ok(s.ListPolicySetVersions(ctx, "t1", cursor.Page{After: tc.after, Limit: 3}))(t)
				check(t, "after "+tc.after, versionsOf(got), tc.want)
			}
			for _, after := range []string{"x", "1.5", " 3", "3 ", "0x3", "99999999999999999999"} {
				_, err := s.ListPolicySetVersions(ctx, "t1", cursor.Page{After: after})
				wantFault(t, err, fault.Invalid, "invalid_cursor")
			}
		}},
		{"PolicyIsolation", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			newTenant(t, s, "ta", "user:alice")
			newTenant(t, s, "tb", "user:bob")
			newTenant(t, s, "tc", "user:carol")
			va := addVersions(t, s, "ta", 3)
			vb := addVersions(t, s, "tb", 1)

			check(t, "ta current", ok(s.CurrentPolicySet(ctx, "ta"))(t), va[2])
			check(t, "tb current", ok(s.CurrentPolicySet(ctx, "tb"))(t), vb[0])
			check(t, "tc current", ok(s.CurrentPolicySet(ctx, "tc"))(t), noPolicies("tc"))
			check(t, "tb v1", ok(s.PolicySetVersion(ctx, "tb", 1))(t), vb[0])
			_, err := s.PolicySetVersion(ctx, "tb", 2)
			wantNotFound(t, err, "policy_version_not_found")
			check(t, "tb versions", versionsOf(ok(s.ListPolicySetVersions(ctx, "tb", cursor.Page{}))(t)), []int64{1})
			check(t, "tc versions", versionsOf(ok(s.ListPolicySetVersions(ctx, "tc", cursor.Page{}))(t)), []int64{})

			// Versions count per tenant: A's current is no previous of B's,
			// and B's change does not move A's.
			wantConflict(t, s.AddPolicySet(ctx, policySet("tb", "// x", time.Hour), 3), "policy_version_conflict")
			must(t, s.AddPolicySet(ctx, policySet("tb", "// b2", time.Hour), 1))
			must(t, s.AddPolicySet(ctx, policySet("tc", "// c1", time.Hour), 0))
			check(t, "ta after", ok(s.CurrentPolicySet(ctx, "ta"))(t), va[2])
			check(t, "ta versions", versionsOf(ok(s.ListPolicySetVersions(ctx, "ta", cursor.Page{}))(t)), []int64{3, 2, 1})
			check(t, "tb v2", ok(s.PolicySetVersion(ctx, "tb", 2))(t), storedSet(policySet("tb", "// b2", time.Hour), 2))
		}},
		{"PolicyConcurrentAdd", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			newTenant(t, s, "t1", "user:alice")
			const writers, rounds = 8, 4
			for round := range int64(rounds) {
				var wg sync.WaitGroup
				start := make(chan struct{})
				errs := make([]error, writers)
				for i := range writers {
					ps := policySet("t1", fmt.Sprintf("// round %d writer %d", round, i), time.Duration(i)*time.Second)
					wg.Go(func() {
						<-start
						errs[i] = s.AddPolicySet(ctx, ps, round)
					})
				}
				warmUp(t, s)
				close(start)
				wg.Wait()

				winner := -1
				for i, err := range errs {
					switch {
					case err == nil:
						if winner >= 0 {
							t.Errorf("round %d: writers %d and %d both succeeded", round, winner, i)
						}
						winner = i
					case fault.KindOf(err) == fault.Conflict && errors.Is(err, &fault.Error{Code: "policy_version_conflict"}):
					default:
						t.Errorf("round %d writer %d: unexpected error %v", round, i, err)
					}
				}
				if winner < 0 {
					t.Fatalf("round %d: no writer succeeded: %v", round, errs)
				}
				want := storedSet(policySet("t1", fmt.Sprintf("// round %d writer %d", round, winner), time.Duration(winner)*time.Second), round+1)
				check(t, fmt.Sprintf("round %d current", round), ok(s.CurrentPolicySet(ctx, "t1"))(t), want)
			}
			check(t, "versions", versionsOf(ok(s.ListPolicySetVersions(ctx, "t1", cursor.Page{}))(t)), []int64{4, 3, 2, 1})
		}},
		{"PolicyConcurrentTenants", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			// Writers of different tenants never conflict.
			const n = 8
			for i := range n {
				newTenant(t, s, fmt.Sprintf("t%d", i), "user:alice")
			}
			var wg sync.WaitGroup
			start := make(chan struct{})
			errs := make([]error, n)
			for i := range n {
				wg.Go(func() {
					<-start
					for v := range int64(3) {
						if err := s.AddPolicySet(ctx, policySet(fmt.Sprintf("t%d", i), "// x", 0), v); err != nil {
							errs[i] = err
							return
						}
					}
				})
			}
			warmUp(t, s)
			close(start)
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Errorf("tenant t%d: %v", i, err)
				}
				if v := ok(s.CurrentPolicySet(ctx, fmt.Sprintf("t%d", i)))(t).Version; v != 3 {
					t.Errorf("tenant t%d: version %d, want 3", i, v)
				}
			}
		}},
	}
}
