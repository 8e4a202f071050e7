package apikey_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tollgate/tollgate/apikey"
	"github.com/tollgate/tollgate/event"
	"github.com/tollgate/tollgate/event/eventtest"
	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/internal/testclock"
	"github.com/tollgate/tollgate/serviceaccount"
	"github.com/tollgate/tollgate/store/sqlite"
	"github.com/tollgate/tollgate/store/sqlite/sqlitetest"
)

// t0 is the fixed time every world starts at.
var t0 = time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)

// world is one tenant A with an owner, an admin, a member and the member's
// agent; a tenant B owned by outB; and root, a platform admin who belongs to
// neither tenant.
type world struct {
	ctx      context.Context
	st       *sqlite.Store
	idents   *identity.Service
	keys     *apikey.Service
	registry *serviceaccount.Registry
	events   *eventtest.Recorder
	clock    *testclock.Clock

	tenantA, tenantB        string
	owner, admin, member    identity.User
	outB, root              identity.User
	agent                   identity.Agent // the member's agent in A
	adminsAgent             identity.Agent // the admin's agent in A
	ownerS, adminS, memberS identity.ActorContext
	outBS, rootS            identity.ActorContext
}

func newWorld(t *testing.T) *world {
	return newWorldWith(t, apikey.Options{})
}

func newWorldWith(t *testing.T, opts apikey.Options) *world {
	t.Helper()
	ctx := context.Background()
	st := sqlitetest.Open(t)
	w := &world{ctx: ctx, st: st, events: &eventtest.Recorder{}, clock: testclock.New(t0)}
	w.idents = identity.NewService(identity.Deps{Store: st, Now: w.clock.Now}, identity.Options{})
	w.keys = apikey.NewService(apikey.Deps{Store: st, Rights: w.idents, Services: st, Notify: w.events.Notify, Now: w.clock.Now}, opts)
	w.registry = serviceaccount.NewRegistry(serviceaccount.Deps{Store: st, Admins: w.idents, Now: w.clock.Now}, serviceaccount.Options{})

	user := func(email string, platformAdmin bool) identity.User {
		u, err := w.idents.CreateUser(ctx, identity.NewUser{Email: email, PlatformAdmin: platformAdmin})
		must(t, err)
		return u
	}
	w.owner, w.admin, w.member = user("owner@a.example", false), user("admin@a.example", false), user("member@a.example", false)
	w.outB, w.root = user("owner@b.example", false), user("root@platform.example", true)

	a, err := w.idents.CreateTenant(ctx, w.owner.ActorID(), identity.NewTenant{Slug: "tenant-a"})
	must(t, err)
	b, err := w.idents.CreateTenant(ctx, w.outB.ActorID(), identity.NewTenant{Slug: "tenant-b"})
	must(t, err)
	w.tenantA, w.tenantB = a.ID, b.ID
	for u, role := range map[string]string{w.admin.ActorID(): identity.RoleAdmin, w.member.ActorID(): identity.RoleMember} {
		_, err := w.idents.AddMember(ctx, identity.Caller{ActorID: w.owner.ActorID()}, w.tenantA,
			identity.NewMember{ActorID: u, Roles: []string{role}})
		must(t, err)
	}
	w.agent, err = w.idents.CreateAgent(ctx, identity.Caller{ActorID: w.member.ActorID()}, w.tenantA, identity.NewAgent{Name: "assistant"})
	must(t, err)
	w.adminsAgent, err = w.idents.CreateAgent(ctx, identity.Caller{ActorID: w.admin.ActorID()}, w.tenantA, identity.NewAgent{Name: "admin's agent"})
	must(t, err)

	w.ownerS, w.adminS, w.memberS = session(w.owner, w.tenantA), session(w.admin, w.tenantA), session(w.member, w.tenantA)
	w.outBS, w.rootS = session(w.outB, w.tenantB), session(w.root, "")
	return w
}

// session is a human's signed-in ActorContext.
func session(u identity.User, tenantID string) identity.ActorContext {
	return identity.ActorContext{
		ActorID: u.ActorID(), ActorType: identity.ActorHuman, TenantID: tenantID, Credential: identity.CredentialSession,
	}
}

// keyCaller is the ActorContext a request made with k resolves to: its
// scopes within what its holder may do now, in its tenant only.
func (w *world) keyCaller(t *testing.T, k apikey.Key) identity.ActorContext {
	t.Helper()
	perms := k.Scopes
	if !strings.HasPrefix(k.ActorID, serviceaccount.ActorPrefix) {
		rights, err := w.idents.TenantPermissions(w.ctx, k.TenantID, k.ActorID)
		must(t, err)
		perms = slices.DeleteFunc(slices.Clone(k.Scopes), func(s string) bool { return !rights.Has(identity.Permission(s)) })
	}
	return identity.ActorContext{
		ActorID: k.ActorID, TenantID: k.TenantID, Scopes: k.Scopes, Permissions: perms,
		Credential: identity.CredentialAPIKey, CredentialID: k.ID,
	}
}

// create makes a key that must be created.
func (w *world) create(t *testing.T, ac identity.ActorContext, in apikey.NewKey) (apikey.Key, string) {
	t.Helper()
	if in.TenantID == "" {
		in.TenantID = w.tenantA
	}
	if in.Name == "" {
		in.Name = "key"
	}
	k, raw, err := w.keys.Create(w.ctx, ac, in)
	must(t, err)
	return k, raw
}

// stored reads a key back from the store, bypassing the rules.
func (w *world) stored(t *testing.T, id string) apikey.Key {
	t.Helper()
	k, err := w.st.GetAPIKey(w.ctx, id)
	must(t, err)
	return k
}

// service registers a service as root.
func (w *world) service(t *testing.T, name string) serviceaccount.Service {
	t.Helper()
	svc, _, err := w.registry.Register(w.ctx, w.rootS, serviceaccount.NewService{Name: name, Tenants: []string{identity.Everything}})
	must(t, err)
	return svc
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// wantFault fails unless err is a fault of kind and code (and field, when
// given).
func wantFault(t *testing.T, err error, kind fault.Kind, code, field string) {
	t.Helper()
	var fe *fault.Error
	if !errors.As(err, &fe) {
		t.Fatalf("err = %v, want %s %s", err, kind, code)
	}
	if fe.Kind != kind || string(fe.Code) != code || (field != "" && fe.Field != field) {
		t.Fatalf("err = %s %s (field %q), want %s %s (field %q)", fe.Kind, fe.Code, fe.Field, kind, code, field)
	}
}

// sameFault fails unless a and b would read the same to a client.
func sameFault(t *testing.T, a, b error) {
	t.Helper()
	var fa, fb *fault.Error
	if !errors.As(a, &fa) || !errors.As(b, &fb) {
		t.Fatalf("not faults: %v, %v", a, b)
	}
	if fa.Kind != fb.Kind || fa.Code != fb.Code || fa.Detail != fb.Detail || fa.Field != fb.Field {
		t.Fatalf("distinguishable: %v vs %v", a, b)
	}
}

// sameEvents fails unless got are want, in order.
func sameEvents(t *testing.T, got, want []event.Event) {
	t.Helper()
	if !slices.EqualFunc(got, want, func(a, b event.Event) bool {
		return a.Kind == b.Kind && a.ID == b.ID && a.At.Equal(b.At) && a.Origin == b.Origin
	}) {
		t.Fatalf("announced %v, want %v", got, want)
	}
}

func ptr[T any](v T) *T { return &v }
