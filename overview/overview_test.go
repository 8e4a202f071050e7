package overview_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/tollgate/tollgate/audit"
	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/ids"
	"github.com/tollgate/tollgate/overview"
	"github.com/tollgate/tollgate/store/sqlite/sqlitetest"
)

func TestOverview(t *testing.T) {
	ctx := context.Background()
	st := sqlitetest.Open(t)
	idents := identity.NewService(identity.Deps{Store: st}, identity.Options{})
	user := func(email string) identity.User {
		u, err := idents.CreateUser(ctx, identity.NewUser{Email: email})
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	owner, member, stranger := user("owner@example.com"), user("member@example.com"), user("stranger@example.com")
	tn, err := idents.CreateTenant(ctx, owner.ActorID(), identity.NewTenant{Slug: "acme"})
	if err != nil {
		t.Fatal(err)
	}
	other, err := idents.CreateTenant(ctx, stranger.ActorID(), identity.NewTenant{Slug: "other"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := idents.AddMember(ctx, identity.Caller{ActorID: owner.ActorID()}, tn.ID,
		identity.NewMember{ActorID: member.ActorID(), Roles: []string{identity.RoleMember}}); err != nil {
		t.Fatal(err)
	}
	// 30 events alternating a security act and another, then one in the
	// other tenant.
	now := time.Now().UTC().Truncate(time.Microsecond)
	var evs []audit.Event
	for i := range 30 {
		a := audit.ActionAPIKeyRevoke
		if i%2 == 1 {
			a = audit.ActionRegistryPut
		}
		evs = append(evs, audit.Event{ID: ids.New(), Time: now, TenantID: tn.ID, ActorID: owner.ActorID(), Action: a,
			Outcome: audit.Success, TargetID: fmt.Sprint(i)})
	}
	evs = append(evs, audit.Event{ID: ids.New(), Time: now, TenantID: other.ID, Action: audit.ActionMemberAdd, Outcome: audit.Success})
	if _, err := st.AppendAudit(ctx, evs); err != nil {
		t.Fatal(err)
	}
	svc := overview.NewService(overview.Deps{Store: st, Rights: idents, Now: func() time.Time { return now }})

	session := func(u identity.User) identity.ActorContext {
		return identity.ActorContext{ActorID: u.ActorID(), Credential: identity.CredentialSession}
	}
	key := func(tenantID string, perms ...string) identity.ActorContext {
		return identity.ActorContext{ActorID: owner.ActorID(), TenantID: tenantID, Credential: identity.CredentialAPIKey, Permissions: perms}
	}
	all := []string{"tenant:read", "members:read", "sessions:read", "apikeys:read", "agents:read", "audit:read"}
	got, err := svc.Get(ctx, session(owner), tn.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.TenantID != tn.ID || got.Members != 2 || got.MembersByRole["owner"] != 1 || got.MembersByRole["member"] != 1 || got.Usage != nil {
		t.Fatalf("overview %+v", got)
	}
	// The newest 20 security events: the key revocations 28, 26, … 0 are
	// 15, one member.add (the member joining) is older than them all.
	if len(got.SecurityEvents) != 16 || got.SecurityEvents[0].TargetID != "28" || got.SecurityEvents[14].TargetID != "0" ||
		got.SecurityEvents[15].Action != audit.ActionMemberAdd {
		t.Fatalf("security events %+v", got.SecurityEvents)
	}
	for i := 1; i < len(got.SecurityEvents); i++ {
		if got.SecurityEvents[i].Seq >= got.SecurityEvents[i-1].Seq {
			t.Fatalf("not newest first: %+v", got.SecurityEvents)
		}
	}
	if _, err := svc.Get(ctx, key(tn.ID, all...), tn.ID); err != nil {
		t.Fatalf("a key with every read permission: %v", err)
	}

	for _, c := range []struct {
		name   string
		ac     identity.ActorContext
		tenant string
		kind   fault.Kind
		code   string
	}{
		{"a member", session(member), tn.ID, fault.Forbidden, "permission_denied"},
		{"a key without audit:read", key(tn.ID, all[:5]...), tn.ID, fault.Forbidden, "permission_denied"},
		{"a key of another tenant", key(other.ID, all...), tn.ID, fault.NotFound, "tenant_not_found"},
		{"a stranger", session(stranger), tn.ID, fault.NotFound, "tenant_not_found"},
		{"an unknown tenant", session(owner), ids.New(), fault.NotFound, "tenant_not_found"},
		{"a malformed tenant", session(owner), "acme", fault.NotFound, "tenant_not_found"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := svc.Get(ctx, c.ac, c.tenant)
			var fe *fault.Error
			if fault.KindOf(err) != c.kind || !errors.As(err, &fe) || string(fe.Code) != c.code {
				t.Fatalf("err = %v, want %s %s", err, c.kind, c.code)
			}
		})
	}
}
