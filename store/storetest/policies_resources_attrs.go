package storetest

import (
	"encoding/json"
	"fmt"
	"math"
	"testing"

	"github.com/tollgate/tollgate/cursor"
	"github.com/tollgate/tollgate/policy"
	"github.com/tollgate/tollgate/store"
)

// attrCase is attribute values as callers pass them, for one resource.
type attrCase struct {
	name  string
	attrs map[string]any
}

// resourceAttrCases are the attribute values ResourceAttrsRoundTrip
// writes, one resource each.
func resourceAttrCases() []attrCase {
	return []attrCase{
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
}

func testResourceAttrsRoundTrip(t *testing.T, s store.Store) {
	attrCases := resourceAttrCases()
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
}
