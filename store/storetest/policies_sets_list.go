package storetest

import (
	"fmt"
	"strconv"
	"testing"

	"github.com/tollgate/tollgate/cursor"
	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/policy"
	"github.com/tollgate/tollgate/store"
)

func testPolicySetListNewestFirst(t *testing.T, s store.Store) {
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
}
