package storetest

import (
	"fmt"
	"slices"
	"testing"

	"github.com/tollgate/tollgate/cursor"
	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/policy"
	"github.com/tollgate/tollgate/store"
)

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

func testResourceListOrderAndCursors(t *testing.T, s store.Store) {
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
}

func testResourceListLimitNotClamped(t *testing.T, s store.Store) {
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
}

func testResourceListBadCursorInvalid(t *testing.T, s store.Store) {
	ctx := t.Context()
	newTenant(t, s, "t1", "user:alice")
	putResources(t, s, "t1", resource("tool", "a", nil))
	for _, after := range []string{"tool", "x", " "} {
		_, err := s.ListResources(ctx, "t1", cursor.Page{After: after})
		wantFault(t, err, fault.Invalid, "invalid_cursor")
	}
}
