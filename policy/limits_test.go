package policy_test

import (
	"strings"
	"testing"

	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/policy"
)

func TestPutResourcesLimit(t *testing.T) {
	const limit = 3
	batch := func(names ...string) []policy.Resource {
		out := []policy.Resource{}
		for _, n := range names {
			out = append(out, channel(n))
		}
		return out
	}
	cases := []struct {
		name   string
		before [][]string // batches written first, each must succeed
		put    []string
		refuse bool
		count  int // the tenant's resources afterwards
	}{
		{"one batch up to the limit", nil, []string{"a", "b", "c"}, false, 3},
		{"one batch past the limit", nil, []string{"a", "b", "c", "d"}, true, 0},
		{"a new resource past the limit", [][]string{{"a", "b", "c"}}, []string{"d"}, true, 3},
		{"replacing at the limit adds none", [][]string{{"a", "b", "c"}}, []string{"a", "c"}, false, 3},
		{"replaced and new up to the limit", [][]string{{"a", "b"}}, []string{"a", "c"}, false, 3},
		{"replaced and new past the limit", [][]string{{"a", "b"}}, []string{"a", "c", "d"}, true, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := newPDPWith(t, policy.Options{MaxResourcesPerTenant: limit})
			A := w.tenantA.ID
			// Tenant B's resources never count against tenant A.
			if _, err := w.svc.PutResources(w.ctx, writer(), w.tenantB.ID, batch("x", "y", "z")); err != nil {
				t.Fatal(err)
			}
			for _, b := range tc.before {
				if _, err := w.svc.PutResources(w.ctx, writer(), A, batch(b...)); err != nil {
					t.Fatal(err)
				}
			}
			_, err := w.svc.PutResources(w.ctx, writer(), A, batch(tc.put...))
			if tc.refuse {
				fe := wantFault(t, err, fault.Conflict, identity.CodeLimitReached)
				if !strings.Contains(fe.Detail, "max_resources_per_tenant is 3") {
					t.Errorf("detail %q does not name the limit", fe.Detail)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			n, err := w.st.CountResources(w.ctx, A)
			if err != nil {
				t.Fatal(err)
			}
			if n != tc.count {
				t.Errorf("tenant A has %d resources, want %d", n, tc.count)
			}
		})
	}
}

func TestPutResourcesNoLimit(t *testing.T) {
	w := newPDPWith(t, policy.Options{})
	rs := []policy.Resource{}
	for _, n := range []string{"a", "b", "c", "d", "e"} {
		rs = append(rs, channel(n))
	}
	if _, err := w.svc.PutResources(w.ctx, writer(), w.tenantA.ID, rs); err != nil {
		t.Fatal(err)
	}
}
