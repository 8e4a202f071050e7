package audit_test

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/tollgate/tollgate/audit"
	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/ids"
	"github.com/tollgate/tollgate/store/sqlite/sqlitetest"
)

// rights: admin is a platform admin; auditor holds audit:read in t1;
// member is in t1 without it; nobody is in no tenant.
type rights struct{ t1 string }

func (r rights) TenantPermission(_ context.Context, tenantID, actorID, perm string) (bool, error) {
	if tenantID != r.t1 {
		return false, fault.NotFoundf("tenant_not_found", "no such tenant")
	}
	switch actorID {
	case "user:auditor":
		return perm == audit.PermRead, nil
	case "user:member":
		return false, nil
	}
	return false, fault.NotFoundf("tenant_not_found", "no such tenant")
}

func (r rights) IsPlatformAdmin(_ context.Context, actorID string) bool {
	return actorID == "user:admin"
}

func TestReadRule(t *testing.T) {
	ctx := context.Background()
	st := sqlitetest.Open(t)
	t1, t2 := ids.New(), ids.New()
	if _, err := st.AppendAudit(ctx, []audit.Event{
		{TenantID: t1, Action: audit.ActionDecision, Outcome: audit.Denied},
		{TenantID: t2, Action: audit.ActionDecision, Outcome: audit.Denied},
		{TenantID: "", Action: audit.ActionSessionLogin, Outcome: audit.Failure},
	}); err != nil {
		t.Fatal(err)
	}
	svc := audit.NewService(st, rights{t1: t1})
	session := func(actor string) audit.Requester { return audit.Requester{ActorID: actor, OwnSession: true} }
	key := func(actor, tenant string, perms ...string) audit.Requester {
		return audit.Requester{ActorID: actor, TenantID: tenant, Permissions: perms}
	}
	cases := []struct {
		name   string
		r      audit.Requester
		tenant string
		want   error // nil: reads the stream
	}{
		{"a member with audit:read reads their tenant", session("user:auditor"), t1, nil},
		{"a member without it is refused", session("user:member"), t1, errForbidden},
		{"another tenant is not found", session("user:auditor"), t2, fault.ErrNotFound},
		{"a malformed tenant id is not found", session("user:auditor"), "nope", fault.ErrNotFound},
		{"members never read the platform stream", session("user:auditor"), audit.PlatformStream, errForbidden},
		{"nor by omitting the tenant", session("user:auditor"), "", errForbidden},
		{"a platform admin reads any tenant", session("user:admin"), t2, nil},
		{"a platform admin reads the platform stream", session("user:admin"), audit.PlatformStream, nil},
		{"a key holding audit:read reads its tenant", key("agent:a", t1, audit.PermRead), t1, nil},
		{"a key without it is refused", key("agent:a", t1, "tenant:read"), t1, errForbidden},
		{"a key of another tenant is not found", key("agent:a", t2, audit.PermRead), t1, fault.ErrNotFound},
		{"a platform admin's key is bounded: no platform stream", key("user:admin", t1, audit.PermRead), "", errForbidden},
		{"a platform admin's key is bounded: no other tenant", key("user:admin", t1, audit.PermRead), t2, fault.ErrNotFound},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := svc.Query(ctx, c.r, audit.Query{TenantID: c.tenant})
			if c.want != nil {
				if !errors.Is(err, c.want) {
					t.Fatalf("err %v, want %v", err, c.want)
				}
				if err := svc.Export(ctx, c.r, c.tenant, time.Time{}, time.Time{}, audit.NewNDJSONWriter(io.Discard)); !errors.Is(err, c.want) {
					t.Fatalf("export err %v, want %v", err, c.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := c.tenant
			if want == audit.PlatformStream {
				want = ""
			}
			if len(p.Events) != 1 || p.Events[0].TenantID != want {
				t.Fatalf("read %+v", p.Events)
			}
		})
	}
}

var errForbidden = &fault.Error{Kind: fault.Forbidden}
