package ratelimit_test

import (
	"context"
	"errors"
	"testing"

	"github.com/tollgate/tollgate/cursor"
	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/ratelimit"
	"github.com/tollgate/tollgate/serviceaccount"
	"github.com/tollgate/tollgate/store/sqlite/sqlitetest"
)

// adminWorld is an Admin over a real identity service on the embedded
// store: tenant A with an owner and a member, tenant B, a platform admin.
type adminWorld struct {
	admin                        *ratelimit.Admin
	env                          *limiterEnv
	tenantA, tenantB             string
	owner, member, outB, root    identity.Caller
	checker, plainSvc, memberKey identity.ActorContext
}

func newAdminWorld(t *testing.T, configured bool) *adminWorld {
	t.Helper()
	ctx := context.Background()
	st := sqlitetest.Open(t)
	ids := identity.NewService(identity.Deps{Store: st}, identity.Options{})
	user := func(email string, root bool) identity.Caller {
		u, err := ids.CreateUser(ctx, identity.NewUser{Email: email, DisplayName: email, PlatformAdmin: root})
		if err != nil {
			t.Fatal(err)
		}
		return identity.Caller{ActorID: u.ActorID()}
	}
	tenant := func(owner identity.Caller, slug string) string {
		tn, err := ids.CreateTenant(ctx, owner.ActorID, identity.NewTenant{Slug: slug, Name: slug})
		if err != nil {
			t.Fatal(err)
		}
		return tn.ID
	}
	w := &adminWorld{owner: user("owner@a.example", false), member: user("member@a.example", false),
		outB: user("owner@b.example", false), root: user("root@platform.example", true)}
	w.tenantA, w.tenantB = tenant(w.owner, "tenant-a"), tenant(w.outB, "tenant-b")
	if _, err := ids.AddMember(ctx, w.owner, w.tenantA, identity.NewMember{ActorID: w.member.ActorID, Roles: []string{identity.RoleMember}}); err != nil {
		t.Fatal(err)
	}
	w.checker = identity.ActorContext{ActorID: "service:messaging", ActorType: identity.ActorService, Scopes: []string{serviceaccount.ScopeRateLimitCheck},
		Tenants: []string{identity.Everything}}
	w.plainSvc = identity.ActorContext{ActorID: "service:other", ActorType: identity.ActorService, Scopes: []string{serviceaccount.ScopeAuthzCheck}}
	w.memberKey = identity.ActorContext{ActorID: w.member.ActorID, ActorType: identity.ActorHuman, Credential: identity.CredentialAPIKey,
		TenantID: w.tenantA, Permissions: []string{string(identity.PermTenantRead)}}
	var l *ratelimit.Limiter
	if configured {
		w.env = newLimiterEnv(t, nil, map[string]string{
			ratelimit.TierTenant: "1000/1m sliding_window", ratelimit.TierIP: "100/1m", "messages": "2/1h",
		})
		l = w.env.l
	}
	w.admin = ratelimit.NewAdmin(l, ids)
	return w
}

func wantCode(t *testing.T, err error, kind fault.Kind, code fault.Code) {
	t.Helper()
	var fe *fault.Error
	if !errors.As(err, &fe) || fe.Kind != kind || fe.Code != code {
		t.Fatalf("err = %v, want %v %s", err, kind, code)
	}
}

func TestAdminCheckIsForServicesWithTheScope(t *testing.T) {
	w := newAdminWorld(t, true)
	ctx := context.Background()
	for _, c := range []struct {
		name   string
		caller identity.ActorContext
	}{
		{"a service without ratelimit:check", w.plainSvc},
		{"a member's key", w.memberKey},
		{"a person's session", identity.ActorContext{ActorID: w.owner.ActorID, ActorType: identity.ActorHuman, Credential: identity.CredentialSession}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := w.admin.Check(ctx, c.caller, "", "messages", "k", 1)
			wantCode(t, err, fault.Forbidden, identity.CodeScopeRequired)
		})
	}
	// A service registered for tenant B only checks nothing in A, even a
	// tenant that does not exist: its reach is asked first.
	onlyB := w.checker
	onlyB.Tenants = []string{w.tenantB}
	for _, tenant := range []string{w.tenantA, "no-such-tenant"} {
		_, err := w.admin.Check(ctx, onlyB, tenant, "messages", "user:1", 1)
		wantCode(t, err, fault.Forbidden, identity.CodeTenantNotRegistered)
	}
	// The service consumes the named limit: two per hour, then refused.
	for i, want := range []bool{true, true, false} {
		d, err := w.admin.Check(ctx, w.checker, w.tenantA, "messages", "user:1", 1)
		if err != nil || d.Result.Allowed != want {
			t.Fatalf("check %d: %+v, %v; want allowed %v", i, d.Result, err, want)
		}
	}
}

func TestAdminCheckRefusesBadInput(t *testing.T) {
	w := newAdminWorld(t, true)
	ctx := context.Background()
	long := string(make([]byte, ratelimit.MaxNameLen+1))
	for _, c := range []struct {
		name, tenant, limit string
		kind                fault.Kind
		code                fault.Code
	}{
		{"no name", "", "", fault.Invalid, ratelimit.CodeNameRequired},
		{"a name too long", "", long, fault.Invalid, cursor.CodeInvalidLimit},
		{"a tier's name", "", ratelimit.TierIP, fault.NotFound, ratelimit.CodeLimitNotFound},
		{"an unknown tenant", "no-such-tenant", "messages", fault.NotFound, identity.CodeTenantNotFound},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := w.admin.Check(ctx, w.checker, c.tenant, c.limit, "k", 1)
			wantCode(t, err, c.kind, c.code)
		})
	}
}

func TestAdminWithoutALimiterSaysSo(t *testing.T) {
	w := newAdminWorld(t, false)
	ctx := context.Background()
	_, err := w.admin.Check(ctx, w.checker, "", "messages", "k", 1)
	wantCode(t, err, fault.Unavailable, ratelimit.CodeRatelimitUnavailable)
	_, err = w.admin.TenantPlan(ctx, w.owner, w.tenantA)
	wantCode(t, err, fault.Unavailable, ratelimit.CodeRatelimitUnavailable)
	_, err = w.admin.SetTenantPlan(ctx, w.root, w.tenantA, map[string]string{})
	wantCode(t, err, fault.Unavailable, ratelimit.CodeRatelimitUnavailable)
	// Who may ask is still checked first.
	_, err = w.admin.Check(ctx, w.plainSvc, "", "messages", "k", 1)
	wantCode(t, err, fault.Forbidden, identity.CodeScopeRequired)
}

func TestAdminTenantPlanMergesOverridesOverTheConfiguredPolicies(t *testing.T) {
	w := newAdminWorld(t, true)
	ctx := context.Background()
	p, err := w.admin.TenantPlan(ctx, w.member, w.tenantA)
	if err != nil {
		t.Fatal(err)
	}
	// Only what a tenant may override is shown as effective: not the IP tier.
	if len(p.Limits) != 0 || p.Effective[ratelimit.TierTenant] != "1000/1m sliding_window" || p.Effective["messages"] != "2/1h" {
		t.Fatalf("plan %+v", p)
	}
	if _, ok := p.Effective[ratelimit.TierIP]; ok {
		t.Fatalf("the ip tier is not the tenant's: %+v", p.Effective)
	}
	p, err = w.admin.SetTenantPlan(ctx, w.root, w.tenantA, map[string]string{ratelimit.TierTenant: "5000/1m"})
	if err != nil {
		t.Fatal(err)
	}
	if p.TenantID != w.tenantA || p.Limits[ratelimit.TierTenant] != "5000/1m" || p.Effective[ratelimit.TierTenant] != "5000/1m" || p.Effective["messages"] != "2/1h" {
		t.Fatalf("plan after the change %+v", p)
	}
	if got := w.env.takeChanged(); len(got) != 1 || got[0] != w.tenantA {
		t.Fatalf("changes announced %v", got)
	}
}

func TestAdminTenantPlanIsForTheTenantsReaders(t *testing.T) {
	w := newAdminWorld(t, true)
	ctx := context.Background()
	// A member of A naming B learns nothing about B.
	_, err := w.admin.TenantPlan(ctx, w.member, w.tenantB)
	wantCode(t, err, fault.NotFound, identity.CodeTenantNotFound)
	_, err = w.admin.TenantPlan(ctx, w.member, "no-such-tenant")
	wantCode(t, err, fault.NotFound, identity.CodeTenantNotFound)
	if _, err := w.admin.TenantPlan(ctx, w.root, w.tenantB); err != nil {
		t.Fatalf("a platform admin reads any plan: %v", err)
	}
}

func TestAdminSetTenantPlanIsForPlatformAdmins(t *testing.T) {
	w := newAdminWorld(t, true)
	ctx := context.Background()
	// A tenant raising its own limits would defeat them: even its owner may not.
	_, err := w.admin.SetTenantPlan(ctx, w.owner, w.tenantA, map[string]string{ratelimit.TierTenant: "1000000/1m"})
	wantCode(t, err, fault.Forbidden, identity.CodePlatformAdminRequired)
	_, err = w.admin.SetTenantPlan(ctx, w.member, w.tenantB, map[string]string{})
	wantCode(t, err, fault.NotFound, identity.CodeTenantNotFound)
	_, err = w.admin.SetTenantPlan(ctx, w.root, w.tenantA, nil)
	wantCode(t, err, fault.Invalid, ratelimit.CodeLimitsRequired)
	_, err = w.admin.SetTenantPlan(ctx, w.root, w.tenantA, map[string]string{ratelimit.TierIP: "1/1m"})
	wantCode(t, err, fault.Invalid, ratelimit.CodeLimitNotOverridable)
	if got := w.env.takeChanged(); len(got) != 0 {
		t.Fatalf("refused changes announced %v", got)
	}
}
