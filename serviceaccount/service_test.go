package serviceaccount_test

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tollgate/tollgate/apikey"
	"github.com/tollgate/tollgate/cursor"
	"github.com/tollgate/tollgate/event"
	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/ids"
	"github.com/tollgate/tollgate/secret"
	"github.com/tollgate/tollgate/serviceaccount"
)

// secretID is the id a client secret carries.
func secretID(t *testing.T, raw string) string {
	t.Helper()
	p, err := secret.Parse(raw, secret.ClientSecretPrefix, "client_secret")
	must(t, err)
	return p.ID
}

func TestRegisterIssuesServiceWithClientSecret(t *testing.T) {
	w := newWorld(t)
	svc, raw, err := w.registry.Register(w.ctx, w.rootS, serviceaccount.NewService{
		Name: "messaging", Description: "sends mail",
		Scopes:  []string{serviceaccount.ScopeRateLimitCheck, serviceaccount.ScopeAuthzCheck, serviceaccount.ScopeAuthzCheck},
		Tenants: []string{w.tenantB, w.tenantA, w.tenantB},
	})
	must(t, err)
	if !ids.Valid(svc.ID) || svc.Name != "messaging" || svc.ActorID() != "service:messaging" || svc.Description != "sends mail" ||
		svc.Status != serviceaccount.Active || !slices.Equal(svc.Scopes, []string{"authz:check", "ratelimit:check"}) ||
		!slices.Equal(svc.Tenants, slices.Sorted(slices.Values([]string{w.tenantA, w.tenantB}))) ||
		!slices.Equal(svc.ResourceTypes, []string{"*"}) ||
		!svc.CreatedAt.Equal(t0) || !svc.UpdatedAt.Equal(t0) {
		t.Fatalf("registered %+v", svc)
	}
	if !strings.HasPrefix(raw, "tgcs_live_") {
		t.Fatalf("client secret %q", raw)
	}
	stored, err := w.st.GetServiceSecret(w.ctx, secretID(t, raw))
	must(t, err)
	if sum := sha256.Sum256([]byte(raw)); stored.ServiceID != svc.ID || string(stored.Hash) != string(sum[:]) ||
		stored.ExpiresAt != nil || stored.RevokedAt != nil {
		t.Fatalf("stored secret %+v, want the SHA-256 of the secret", stored)
	}
	if id := w.authenticates(t, svc.ID, raw); id != stored.ID {
		t.Fatalf("authenticated with secret %s, want %s", id, stored.ID)
	}
	got, err := w.registry.Get(w.ctx, w.rootS, svc.ID)
	must(t, err)
	if got.Name != svc.Name || !slices.Equal(got.Scopes, svc.Scopes) || got.Status != serviceaccount.Active {
		t.Fatalf("get %+v, want %+v", got, svc)
	}
	if ev := w.events.Take(); len(ev) != 0 {
		t.Fatalf("registering announced %v", ev)
	}
}

func TestRegisterMarksSecretsWithTheConfiguredEnvironment(t *testing.T) {
	for _, c := range []struct{ env, prefix string }{
		{"", "tgcs_live_"},
		{secret.EnvLive, "tgcs_live_"},
		{secret.EnvTest, "tgcs_test_"},
	} {
		t.Run("env="+c.env, func(t *testing.T) {
			w := newWorldWith(t, serviceaccount.Options{Env: c.env})
			svc, raw := w.register(t, "messaging")
			if !strings.HasPrefix(raw, c.prefix) {
				t.Fatalf("secret %q, want prefix %s", raw, c.prefix)
			}
			_, rotated, err := w.registry.RotateSecret(w.ctx, w.rootS, svc.ID, 0)
			must(t, err)
			if !strings.HasPrefix(rotated, c.prefix) {
				t.Fatalf("rotated secret %q, want prefix %s", rotated, c.prefix)
			}
			w.authenticates(t, svc.ID, rotated)
		})
	}
}

func TestScopeCatalogueIsACopy(t *testing.T) {
	c := serviceaccount.ScopeCatalogue()
	if !slices.Equal(c, []string{serviceaccount.ScopeAuthzCheck, serviceaccount.ScopeAuthzWrite, serviceaccount.ScopeRateLimitCheck}) {
		t.Fatalf("catalogue %v", c)
	}
	c[0] = "tenant:read"
	if serviceaccount.ScopeCatalogue()[0] != serviceaccount.ScopeAuthzCheck {
		t.Fatal("changing the returned catalogue changed the catalogue")
	}
}

func TestRegisterRefusesBadInputAndMakesNothing(t *testing.T) {
	w := newWorld(t)
	w.register(t, "messaging", serviceaccount.ScopeAuthzCheck)
	many := make([]string, 65)
	for i := range many {
		many[i] = serviceaccount.ScopeAuthzCheck
	}
	all := []string{identity.Everything}
	tooManyTenants := make([]string, serviceaccount.MaxTenants+1)
	for i := range tooManyTenants {
		tooManyTenants[i] = fmt.Sprintf("t%d", i)
	}
	for _, c := range []struct {
		name  string
		in    serviceaccount.NewService
		kind  fault.Kind
		code  string
		field string
	}{
		{"taken name", serviceaccount.NewService{Name: "messaging", Tenants: all}, fault.Conflict, "service_name_taken", ""},
		{"no tenants", serviceaccount.NewService{Name: "x-svc"}, fault.Invalid, "tenants_required", "tenants"},
		{"empty tenants", serviceaccount.NewService{Name: "x-svc", Tenants: []string{}}, fault.Invalid, "tenants_required", "tenants"},
		{"every tenant and one more", serviceaccount.NewService{Name: "x-svc", Tenants: []string{"*", w.tenantA}}, fault.Invalid, "invalid_reach", "tenants"},
		{"a tenant that does not exist", serviceaccount.NewService{Name: "x-svc", Tenants: []string{w.tenantA, "01jn8ey4m0yrbv3tdr86dksjsc"}}, fault.Invalid, "unknown_tenant", "tenants"},
		{"a malformed tenant", serviceaccount.NewService{Name: "x-svc", Tenants: []string{"not an id"}}, fault.Invalid, "unknown_tenant", "tenants"},
		{"too many tenants", serviceaccount.NewService{Name: "x-svc", Tenants: tooManyTenants}, fault.Invalid, "invalid_reach", "tenants"},
		{"an unknown resource type", serviceaccount.NewService{Name: "x-svc", Tenants: all, ResourceTypes: []string{"channel", "spaceship"}}, fault.Invalid, "unknown_resource_type", "resource_types"},
		{"no resource types", serviceaccount.NewService{Name: "x-svc", Tenants: all, ResourceTypes: []string{}}, fault.Invalid, "invalid_reach", "resource_types"},
		{"every resource type and one more", serviceaccount.NewService{Name: "x-svc", Tenants: all, ResourceTypes: []string{"tool", "*"}}, fault.Invalid, "invalid_reach", "resource_types"},
		{"upper-case name", serviceaccount.NewService{Name: "Messaging"}, fault.Invalid, "invalid_service_name", "name"},
		{"name with a colon", serviceaccount.NewService{Name: "svc:x"}, fault.Invalid, "invalid_service_name", "name"},
		{"name too short", serviceaccount.NewService{Name: "ab"}, fault.Invalid, "invalid_service_name", "name"},
		{"missing name", serviceaccount.NewService{}, fault.Invalid, "invalid_service_name", "name"},
		{"tenant permission as scope", serviceaccount.NewService{Name: "x-svc", Scopes: []string{"tenant:read"}}, fault.Invalid, "unknown_scope", "scopes"},
		{"too many scopes", serviceaccount.NewService{Name: "x-svc", Scopes: many}, fault.Invalid, "too_many_scopes", "scopes"},
		{"description too long", serviceaccount.NewService{Name: "x-svc", Description: strings.Repeat("d", 1001)}, fault.Invalid, "description_too_long", "description"},
		{"description with a bidi override", serviceaccount.NewService{Name: "x-svc", Description: "safe \u202egnp.exe"}, fault.Invalid, "invalid_description", "description"},
		{"description with a zero-width space", serviceaccount.NewService{Name: "x-svc", Description: "a\u200bb"}, fault.Invalid, "invalid_description", "description"},
	} {
		t.Run(c.name, func(t *testing.T) {
			svc, raw, err := w.registry.Register(w.ctx, w.rootS, c.in)
			wantFault(t, err, c.kind, c.code, c.field)
			if svc.ID != "" || raw != "" {
				t.Fatalf("a refused registration returned %+v, %q", svc, raw)
			}
		})
	}
	list, err := w.registry.List(w.ctx, w.rootS, cursor.Page{})
	must(t, err)
	if len(list) != 1 || list[0].Name != "messaging" {
		t.Fatalf("bad input registered services: %+v", list)
	}
	// The longest description is taken.
	_, _, err = w.registry.Register(w.ctx, w.rootS, serviceaccount.NewService{Name: "x-svc", Description: strings.Repeat("d", 1000), Tenants: all})
	must(t, err)
}

// TestOnlyPlatformAdminSessionsManageServices checks every operation for
// callers who are not a platform admin's own session: tenant owners and
// members of any tenant, a platform admin's key or delegated token, a
// disabled platform admin. Registering and rotating hand out secrets, so
// no bounded credential may do either.
func TestOnlyPlatformAdminSessionsManageServices(t *testing.T) {
	w := newWorld(t)
	svc, raw := w.register(t, "messaging", serviceaccount.ScopeAuthzCheck)
	retired := w.user(t, "retired@platform.example", true)
	_, err := w.idents.SetUserStatus(w.ctx, identity.Caller{ActorID: w.root.ActorID()}, retired.ID, identity.UserDisabled)
	must(t, err)

	callers := []struct {
		name string
		ac   identity.ActorContext
	}{
		{"tenant owner", w.ownerS},
		{"tenant member", w.memberS},
		{"owner of another tenant", w.outBS},
		{"platform admin through an API key", identity.ActorContext{
			ActorID: w.root.ActorID(), TenantID: w.tenantA, Credential: identity.CredentialAPIKey, Permissions: []string{"tenant:read"},
		}},
		{"platform admin through client credentials", identity.ActorContext{ActorID: w.root.ActorID(), Credential: identity.CredentialClientCredentials}},
		{"an agent acting for a platform admin", identity.ActorContext{
			ActorID: "agent:" + ids.New(), ActorType: identity.ActorAgent, TenantID: w.tenantA, Credential: identity.CredentialDelegation,
			OnBehalfOf: w.root.ActorID(), Permissions: []string{"apikeys:write", "owners:write", "tenant:read"},
		}},
		{"disabled platform admin", session(retired, "")},
		{"nobody", identity.ActorContext{}},
	}
	ops := []struct {
		name string
		do   func(ac identity.ActorContext) error
	}{
		{"register", func(ac identity.ActorContext) error {
			_, _, err := w.registry.Register(w.ctx, ac, serviceaccount.NewService{Name: "rogue"})
			return err
		}},
		{"get", func(ac identity.ActorContext) error { _, err := w.registry.Get(w.ctx, ac, svc.ID); return err }},
		{"get a missing service", func(ac identity.ActorContext) error { _, err := w.registry.Get(w.ctx, ac, ids.New()); return err }},
		{"list", func(ac identity.ActorContext) error { _, err := w.registry.List(w.ctx, ac, cursor.Page{}); return err }},
		{"disable", func(ac identity.ActorContext) error {
			_, err := w.registry.Update(w.ctx, ac, svc.ID, serviceaccount.Patch{Status: ptr(serviceaccount.Disabled)})
			return err
		}},
		{"rotate secret", func(ac identity.ActorContext) error {
			_, _, err := w.registry.RotateSecret(w.ctx, ac, svc.ID, 0)
			return err
		}},
		{"delete", func(ac identity.ActorContext) error { return w.registry.Delete(w.ctx, ac, svc.ID) }},
	}
	for _, c := range callers {
		for _, op := range ops {
			t.Run(c.name+"/"+op.name, func(t *testing.T) {
				wantFault(t, op.do(c.ac), fault.Forbidden, "platform_admin_required", "")
			})
		}
	}
	got, err := w.registry.Get(w.ctx, w.rootS, svc.ID)
	must(t, err)
	if got.Status != serviceaccount.Active || !got.UpdatedAt.Equal(t0) {
		t.Fatalf("refused calls changed the service: %+v", got)
	}
	list, err := w.registry.List(w.ctx, w.rootS, cursor.Page{})
	must(t, err)
	if len(list) != 1 {
		t.Fatalf("refused calls registered services: %+v", list)
	}
	w.authenticates(t, svc.ID, raw)
	if ev := w.events.Take(); len(ev) != 0 {
		t.Fatalf("refused calls announced %v", ev)
	}
}

func TestMissingServicesAreNotFound(t *testing.T) {
	w := newWorld(t)
	w.register(t, "messaging")
	ops := []struct {
		name string
		do   func(id string) error
	}{
		{"get", func(id string) error { _, err := w.registry.Get(w.ctx, w.rootS, id); return err }},
		{"update", func(id string) error {
			_, err := w.registry.Update(w.ctx, w.rootS, id, serviceaccount.Patch{Description: ptr("x")})
			return err
		}},
		{"rotate secret", func(id string) error { _, _, err := w.registry.RotateSecret(w.ctx, w.rootS, id, 0); return err }},
		{"delete", func(id string) error { return w.registry.Delete(w.ctx, w.rootS, id) }},
	}
	for _, op := range ops {
		for _, id := range []string{ids.New(), "not-an-id", "' OR 1=1"} {
			t.Run(op.name+"/"+id, func(t *testing.T) {
				wantFault(t, op.do(id), fault.NotFound, "service_not_found", "")
			})
		}
	}
	if ev := w.events.Take(); len(ev) != 0 {
		t.Fatalf("announced %v", ev)
	}
}

func TestListPagesThroughServices(t *testing.T) {
	w := newWorld(t)
	var want []string
	for _, name := range []string{"messaging", "agent-runtime", "tool-registry"} {
		svc, _ := w.register(t, name)
		want = append(want, svc.ID)
	}
	slices.Sort(want)
	var got []string
	p := cursor.Page{Limit: 2}
	for pages := 0; ; pages++ {
		page, err := w.registry.List(w.ctx, w.rootS, p)
		must(t, err)
		if len(page) > 2 {
			t.Fatalf("page of %d, over the limit", len(page))
		}
		for _, s := range page {
			got = append(got, s.ID)
		}
		if len(page) < p.Limit {
			break
		}
		if pages > 10 {
			t.Fatal("pagination does not end")
		}
		p.After = page[len(page)-1].ID
	}
	if !slices.Equal(got, want) {
		t.Fatalf("listed %v, want %v", got, want)
	}
	all, err := w.registry.List(w.ctx, w.rootS, cursor.Page{})
	must(t, err)
	if len(all) != 3 {
		t.Fatalf("a page without a limit listed %d", len(all))
	}
}

func TestUpdateChangesServiceAndAnnouncesIt(t *testing.T) {
	for _, c := range []struct {
		name    string
		initial serviceaccount.Status
		patch   serviceaccount.Patch
		kind    string
		check   func(s serviceaccount.Service) bool
	}{
		{"description", serviceaccount.Active, serviceaccount.Patch{Description: ptr("sends mail and SMS")}, event.KindActorChanged,
			func(s serviceaccount.Service) bool {
				return s.Description == "sends mail and SMS" && slices.Equal(s.Scopes, []string{"authz:check"})
			}},
		{"scopes", serviceaccount.Active, serviceaccount.Patch{Scopes: &[]string{"ratelimit:check", "authz:check", "ratelimit:check"}}, event.KindActorChanged,
			func(s serviceaccount.Service) bool {
				return slices.Equal(s.Scopes, []string{"authz:check", "ratelimit:check"}) && s.Description == "before"
			}},
		{"no scopes", serviceaccount.Active, serviceaccount.Patch{Scopes: &[]string{}}, event.KindActorChanged,
			func(s serviceaccount.Service) bool { return len(s.Scopes) == 0 }},
		{"disable", serviceaccount.Active, serviceaccount.Patch{Status: ptr(serviceaccount.Disabled)}, event.KindActorDisabled,
			func(s serviceaccount.Service) bool { return s.Status == serviceaccount.Disabled }},
		{"disable again", serviceaccount.Disabled, serviceaccount.Patch{Status: ptr(serviceaccount.Disabled)}, event.KindActorChanged,
			func(s serviceaccount.Service) bool { return s.Status == serviceaccount.Disabled }},
		{"enable", serviceaccount.Disabled, serviceaccount.Patch{Status: ptr(serviceaccount.Active)}, event.KindActorEnabled,
			func(s serviceaccount.Service) bool { return s.Status == serviceaccount.Active }},
		{"nothing", serviceaccount.Active, serviceaccount.Patch{}, event.KindActorChanged,
			func(s serviceaccount.Service) bool {
				return s.Description == "before" && s.Status == serviceaccount.Active
			}},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := newWorld(t)
			svc, _, err := w.registry.Register(w.ctx, w.rootS, serviceaccount.NewService{
				Name: "messaging", Description: "before", Scopes: []string{"authz:check"}, Tenants: []string{identity.Everything},
			})
			must(t, err)
			if c.initial != serviceaccount.Active {
				_, err := w.registry.Update(w.ctx, w.rootS, svc.ID, serviceaccount.Patch{Status: &c.initial})
				must(t, err)
			}
			w.events.Take()
			w.clock.Advance(time.Minute)
			now := t0.Add(time.Minute)

			got, err := w.registry.Update(w.ctx, w.rootS, svc.ID, c.patch)
			must(t, err)
			if !c.check(got) || got.Name != "messaging" || !got.UpdatedAt.Equal(now) || !got.CreatedAt.Equal(t0) {
				t.Fatalf("updated %+v", got)
			}
			stored, err := w.registry.Get(w.ctx, w.rootS, svc.ID)
			must(t, err)
			if !c.check(stored) || !stored.UpdatedAt.Equal(now) {
				t.Fatalf("stored %+v", stored)
			}
			sameEvents(t, w.events.Take(), []event.Event{{Kind: c.kind, ID: "service:messaging", At: now}})
		})
	}
}

func TestUpdateRefusesBadInputAndChangesNothing(t *testing.T) {
	w := newWorld(t)
	svc, _, err := w.registry.Register(w.ctx, w.rootS, serviceaccount.NewService{Name: "messaging", Description: "before", Scopes: []string{"authz:check"}, Tenants: []string{w.tenantA}})
	must(t, err)
	for _, c := range []struct {
		name  string
		patch serviceaccount.Patch
		code  string
		field string
	}{
		{"bad status", serviceaccount.Patch{Status: ptr(serviceaccount.Status("deleted"))}, "invalid_status", "status"},
		{"bad status with a good description", serviceaccount.Patch{Description: ptr("after"), Status: ptr(serviceaccount.Status(""))}, "invalid_status", "status"},
		{"bad scope", serviceaccount.Patch{Scopes: &[]string{"everything"}}, "unknown_scope", "scopes"},
		{"bad scope with a good status", serviceaccount.Patch{Scopes: &[]string{"tenant:read"}, Status: ptr(serviceaccount.Disabled)}, "unknown_scope", "scopes"},
		{"description too long", serviceaccount.Patch{Description: ptr(strings.Repeat("d", 1001))}, "description_too_long", "description"},
		{"description with a control character", serviceaccount.Patch{Description: ptr("a\x07b")}, "invalid_description", "description"},
		{"no tenants", serviceaccount.Patch{Tenants: &[]string{}}, "tenants_required", "tenants"},
		{"a tenant that does not exist", serviceaccount.Patch{Tenants: &[]string{"01jn8ey4m0yrbv3tdr86dksjsc"}}, "unknown_tenant", "tenants"},
		{"an unknown resource type", serviceaccount.Patch{ResourceTypes: &[]string{"spaceship"}}, "unknown_resource_type", "resource_types"},
		{"no resource types", serviceaccount.Patch{ResourceTypes: &[]string{}}, "invalid_reach", "resource_types"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := w.registry.Update(w.ctx, w.rootS, svc.ID, c.patch)
			wantFault(t, err, fault.Invalid, c.code, c.field)
			if got.ID != "" {
				t.Fatalf("a refused update returned %+v", got)
			}
		})
	}
	got, err := w.registry.Get(w.ctx, w.rootS, svc.ID)
	must(t, err)
	if got.Description != "before" || got.Status != serviceaccount.Active || !slices.Equal(got.Scopes, []string{"authz:check"}) ||
		!slices.Equal(got.Tenants, []string{w.tenantA}) || !slices.Equal(got.ResourceTypes, []string{"*"}) || !got.UpdatedAt.Equal(t0) {
		t.Fatalf("refused updates changed the service: %+v", got)
	}
	if ev := w.events.Take(); len(ev) != 0 {
		t.Fatalf("refused updates announced %v", ev)
	}
}

func TestRotateSecretWithoutGraceRevokesEveryEarlierSecret(t *testing.T) {
	w := newWorld(t)
	svc, s1 := w.register(t, "messaging")
	w.clock.Advance(time.Minute)

	got, s2, err := w.registry.RotateSecret(w.ctx, w.rootS, svc.ID, 0)
	must(t, err)
	if got.ID != svc.ID || s2 == s1 || !strings.HasPrefix(s2, "tgcs_live_") {
		t.Fatalf("rotated %+v with %q", got, s2)
	}
	w.refused(t, svc.ID, s1)
	w.authenticates(t, svc.ID, s2)
	now := t0.Add(time.Minute)
	sameEvents(t, w.events.Take(), []event.Event{{Kind: event.KindCredentialRevoked, ID: secretID(t, s1), At: now}})

	// A secret in its grace period stops too, with the current one.
	_, s3, err := w.registry.RotateSecret(w.ctx, w.rootS, svc.ID, time.Hour)
	must(t, err)
	w.events.Take()
	_, s4, err := w.registry.RotateSecret(w.ctx, w.rootS, svc.ID, 0)
	must(t, err)
	for _, s := range []string{s1, s2, s3} {
		w.refused(t, svc.ID, s)
	}
	w.authenticates(t, svc.ID, s4)
	revoked := slices.Sorted(slices.Values([]string{secretID(t, s2), secretID(t, s3)}))
	sameEvents(t, w.events.Take(), event.Of(event.KindCredentialRevoked, now, revoked...))
}

func TestRotateSecretWithGraceKeepsTheOldSecretUntilItEnds(t *testing.T) {
	w := newWorld(t)
	svc, s1 := w.register(t, "messaging")
	_, s2, err := w.registry.RotateSecret(w.ctx, w.rootS, svc.ID, 30*time.Minute)
	must(t, err)
	if ev := w.events.Take(); len(ev) != 0 {
		t.Fatalf("a rotation with grace revoked %v", ev)
	}
	old := w.authenticates(t, svc.ID, s1)
	current := w.authenticates(t, svc.ID, s2)
	if old == current {
		t.Fatal("both secrets have one id")
	}
	stored, err := w.st.GetServiceSecret(w.ctx, old)
	must(t, err)
	if end := t0.Add(30 * time.Minute); stored.ExpiresAt == nil || !stored.ExpiresAt.Equal(end) || stored.RevokedAt != nil {
		t.Fatalf("the old secret %+v, want it to expire at %v", stored, end)
	}

	w.clock.Advance(30*time.Minute - time.Microsecond)
	w.authenticates(t, svc.ID, s1)
	w.clock.Advance(time.Microsecond)
	w.refused(t, svc.ID, s1)
	w.clock.Advance(24 * time.Hour)
	w.refused(t, svc.ID, s1)
	w.authenticates(t, svc.ID, s2)
}

func TestRotateSecretBoundsTheGracePeriod(t *testing.T) {
	for _, c := range []struct {
		name  string
		grace time.Duration
		ok    bool
	}{
		{"zero", 0, true},
		{"a week", 7 * 24 * time.Hour, true},
		{"negative", -time.Second, false},
		{"just over a week", 7*24*time.Hour + time.Second, false},
		{"a year", 365 * 24 * time.Hour, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := newWorld(t)
			svc, s1 := w.register(t, "messaging")
			_, raw, err := w.registry.RotateSecret(w.ctx, w.rootS, svc.ID, c.grace)
			if c.ok {
				must(t, err)
				w.authenticates(t, svc.ID, raw)
				return
			}
			wantFault(t, err, fault.Invalid, "invalid_grace_period", "grace_period_seconds")
			if raw != "" {
				t.Fatalf("a refused rotation issued %q", raw)
			}
			w.authenticates(t, svc.ID, s1)
			if ev := w.events.Take(); len(ev) != 0 {
				t.Fatalf("a refused rotation announced %v", ev)
			}
		})
	}
}

func TestAuthenticateRefusesEveryWrongCredentialAlike(t *testing.T) {
	w := newWorld(t)
	svc, sec := w.register(t, "messaging", serviceaccount.ScopeAuthzCheck)
	other, otherSec := w.register(t, "other")
	idle, idleSec := w.register(t, "idle")
	_, err := w.registry.Update(w.ctx, w.rootS, idle.ID, serviceaccount.Patch{Status: ptr(serviceaccount.Disabled)})
	must(t, err)
	forged, _ := secret.Generate(secret.ClientSecretPrefix, secret.EnvLive, ids.New())
	flipped := []byte(sec)
	for i := len("tgcs_live_") + ids.Len + 1; i < len(flipped); i++ {
		if c := flipped[i]; c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' {
			flipped[i] ^= 0x20
			break
		}
	}

	got, secretUsed, err := w.registry.Authenticate(w.ctx, svc.ID, sec)
	must(t, err)
	if got.ID != svc.ID || got.Name != "messaging" || !slices.Equal(got.Scopes, []string{"authz:check"}) || secretUsed != secretID(t, sec) {
		t.Fatalf("authenticated %+v with %q", got, secretUsed)
	}

	for _, c := range []struct{ name, clientID, secret string }{
		{"another service's secret", svc.ID, otherSec},
		{"own secret, another client id", other.ID, sec},
		{"unknown client id", ids.New(), sec},
		{"malformed client id", "messaging", sec},
		{"no client id", "", sec},
		{"forged secret", svc.ID, forged},
		{"secret with changed case", svc.ID, string(flipped)},
		{"truncated secret", svc.ID, sec[:len(sec)-1]},
		{"API key shape", svc.ID, strings.Replace(sec, "tgcs_", "tg_", 1)},
		{"no secret", svc.ID, ""},
		{"disabled service", idle.ID, idleSec},
	} {
		t.Run(c.name, func(t *testing.T) {
			w.refused(t, c.clientID, c.secret)
		})
	}
}

func TestDeleteRevokesSecretsAndKeysAndAnnouncesThem(t *testing.T) {
	for _, status := range []serviceaccount.Status{serviceaccount.Active, serviceaccount.Disabled} {
		t.Run(string(status), func(t *testing.T) {
			w := newWorld(t)
			svc, s1 := w.register(t, "messaging")
			_, s2, err := w.registry.RotateSecret(w.ctx, w.rootS, svc.ID, time.Hour)
			must(t, err)
			if status != serviceaccount.Active {
				_, err := w.registry.Update(w.ctx, w.rootS, svc.ID, serviceaccount.Patch{Status: &status})
				must(t, err)
			}
			earlier := t0.Add(-time.Hour)
			key := func(tenant, holder string, revokedAt *time.Time) string {
				id := ids.NewAt(t0)
				_, hash := secret.Generate(secret.KeyPrefix, secret.EnvLive, id)
				must(t, w.st.CreateAPIKey(w.ctx, apikey.Key{
					ID: id, TenantID: tenant, ActorID: holder, CreatedBy: w.root.ActorID(), Name: "k",
					Scopes: []string{"tenant:read"}, Hash: hash, CreatedAt: earlier, RevokedAt: revokedAt,
				}))
				return id
			}
			inA, inB := key(w.tenantA, svc.ActorID(), nil), key(w.tenantB, svc.ActorID(), nil)
			alreadyRevoked := key(w.tenantA, svc.ActorID(), &earlier)
			someoneElse := key(w.tenantA, w.member.ActorID(), nil)
			w.events.Take()
			w.clock.Advance(time.Minute)
			now := t0.Add(time.Minute)

			must(t, w.registry.Delete(w.ctx, w.rootS, svc.ID))

			revoked := slices.Sorted(slices.Values([]string{secretID(t, s1), secretID(t, s2), inA, inB}))
			want := append(event.Of(event.KindCredentialRevoked, now, revoked...),
				event.Event{Kind: event.KindActorChanged, ID: "service:messaging", At: now})
			if status == serviceaccount.Disabled {
				// A new service of that name must not inherit the block.
				want = append(want, event.Event{Kind: event.KindActorEnabled, ID: "service:messaging", At: now})
			}
			sameEvents(t, w.events.Take(), want)

			for id, at := range map[string]*time.Time{inA: &now, inB: &now, alreadyRevoked: &earlier, someoneElse: nil} {
				k, err := w.st.GetAPIKey(w.ctx, id)
				must(t, err)
				if (k.RevokedAt == nil) != (at == nil) || at != nil && !k.RevokedAt.Equal(*at) {
					t.Fatalf("key %s revoked at %v, want %v", id, k.RevokedAt, at)
				}
			}
			_, err = w.registry.Get(w.ctx, w.rootS, svc.ID)
			wantFault(t, err, fault.NotFound, "service_not_found", "")
			wantFault(t, w.registry.Delete(w.ctx, w.rootS, svc.ID), fault.NotFound, "service_not_found", "")
			w.refused(t, svc.ID, s1)
			w.refused(t, svc.ID, s2)

			// The name is free again; nothing of the old service opens the new one.
			again, s3 := w.register(t, "messaging")
			if again.ID == svc.ID {
				t.Fatal("a new service reused the client id")
			}
			w.refused(t, again.ID, s2)
			w.authenticates(t, again.ID, s3)
		})
	}
}

// TestServiceNameMessagesNameTheRule: "gw" was refused as "must be a
// slug", which it is; the rule it breaks is its length.
func TestServiceNameMessagesNameTheRule(t *testing.T) {
	w := newWorld(t)
	for _, c := range []struct{ name, want string }{
		{"gw", "3 to 63 characters"},
		{strings.Repeat("a", 64), "3 to 63 characters"},
		{"Gateway", "lower-case letters a-z, digits 0-9 and hyphens"},
		{"gate_way", "lower-case letters a-z, digits 0-9 and hyphens"},
		{"-gateway", "must not start or end with a hyphen"},
	} {
		_, _, err := w.registry.Register(w.ctx, w.rootS, serviceaccount.NewService{Name: c.name})
		var fe *fault.Error
		if !errors.As(err, &fe) || fe.Code != serviceaccount.CodeInvalidServiceName || !strings.Contains(fe.Detail, c.want) {
			t.Errorf("Register(%q) = %v, want invalid_service_name naming %q", c.name, err, c.want)
		}
	}
}

// TestUpdateReachIsStoredAndAnnounced narrows and widens a service's
// tenants and resource types: each change is stored and announced, so
// that every replica's resolver reads the new reach.
func TestUpdateReachIsStoredAndAnnounced(t *testing.T) {
	w := newWorld(t)
	svc, _ := w.register(t, "messaging", serviceaccount.ScopeAuthzCheck)
	for _, c := range []struct {
		name           string
		patch          serviceaccount.Patch
		tenants, types []string
	}{
		{"to tenant A", serviceaccount.Patch{Tenants: &[]string{w.tenantA}}, []string{w.tenantA}, []string{"*"}},
		{"to channels and tools", serviceaccount.Patch{ResourceTypes: &[]string{"tool", "channel", "tool"}}, []string{w.tenantA}, []string{"channel", "tool"}},
		{"back to everything", serviceaccount.Patch{Tenants: &[]string{"*"}, ResourceTypes: &[]string{"*"}}, []string{"*"}, []string{"*"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			w.events.Take()
			_, err := w.registry.Update(w.ctx, w.rootS, svc.ID, c.patch)
			must(t, err)
			got, err := w.registry.Get(w.ctx, w.rootS, svc.ID)
			must(t, err)
			if !slices.Equal(got.Tenants, c.tenants) || !slices.Equal(got.ResourceTypes, c.types) {
				t.Fatalf("stored tenants %v, types %v; want %v, %v", got.Tenants, got.ResourceTypes, c.tenants, c.types)
			}
			if ev := w.events.Take(); len(ev) != 1 || ev[0].Kind != event.KindActorChanged || ev[0].ID != "service:messaging" {
				t.Fatalf("announced %v", ev)
			}
		})
	}
}
