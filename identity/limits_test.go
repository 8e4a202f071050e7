package identity_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/identity"
)

// createUpTo calls create n times, each of which must succeed, then once
// more and returns that error.
func createUpTo(t *testing.T, n int, create func(i int) error) error {
	t.Helper()
	for i := range n {
		if err := create(i); err != nil {
			t.Fatalf("creation %d of %d: %v", i+1, n, err)
		}
	}
	return create(n)
}

func wantLimit(t *testing.T, err error, setting string, limit int) {
	t.Helper()
	fe := wantFault(t, err, fault.Conflict, string(identity.CodeLimitReached))
	if want := fmt.Sprintf("%s is %d", setting, limit); !strings.Contains(fe.Detail, want) {
		t.Errorf("detail %q does not say %q", fe.Detail, want)
	}
}

func TestCreateTenantLimit(t *testing.T) {
	cases := []struct {
		name  string
		limit int
		// who creates: "owner" owns tenant A already, "admin" is only an
		// admin of tenant A, "outB" owns tenant B.
		who     string
		creates int // creations that must succeed before the refusal
	}{
		{"owner reaches the limit", 3, "owner", 2},
		{"a tenant one is only admin of does not count", 3, "admin", 3},
		{"another user's tenants do not count", 2, "outB", 1},
		{"limit of one", 1, "owner", 0},
		{"zero is no limit", 0, "owner", 5},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorldWith(t, identity.Options{MaxTenantsPerUser: tc.limit})
			u := map[string]identity.User{"owner": w.owner, "admin": w.admin, "outB": w.outB}[tc.who]
			err := createUpTo(t, tc.creates, func(i int) error {
				_, err := w.svc.CreateTenant(w.ctx, u.ActorID(), identity.NewTenant{Slug: fmt.Sprintf("%s-extra-%d", strings.ToLower(tc.who), i)})
				return err
			})
			if tc.limit == 0 {
				if err != nil {
					t.Fatalf("no limit: %v", err)
				}
				return
			}
			wantLimit(t, err, "max_tenants_per_user", tc.limit)
		})
	}
}

func TestCreateAgentLimit(t *testing.T) {
	cases := []struct {
		name    string
		limit   int
		tenantB bool // create in tenant B, which has no agents yet
		creates int
	}{
		// Tenant A has the world's agent already.
		{"tenant reaches the limit", 3, false, 2},
		{"another tenant's agents do not count", 3, true, 3},
		{"at the limit already", 1, false, 0},
		{"zero is no limit", 0, false, 5},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorldWith(t, identity.Options{MaxAgentsPerTenant: tc.limit})
			tenantID, u := w.tenantA.ID, w.member
			if tc.tenantB {
				tenantID, u = w.tenantB.ID, w.outB
			}
			err := createUpTo(t, tc.creates, func(i int) error {
				_, err := w.svc.CreateAgent(w.ctx, w.as(u), tenantID, identity.NewAgent{Name: fmt.Sprintf("extra-%d", i)})
				return err
			})
			if tc.limit == 0 {
				if err != nil {
					t.Fatalf("no limit: %v", err)
				}
				return
			}
			wantLimit(t, err, "max_agents_per_tenant", tc.limit)
		})
	}
}
