package identity_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/tollgate/tollgate/cursor"
	"github.com/tollgate/tollgate/event"
	"github.com/tollgate/tollgate/event/eventtest"
	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/internal/testclock"
	"github.com/tollgate/tollgate/store/sqlite"
	"github.com/tollgate/tollgate/store/sqlite/sqlitetest"
)

// missingTenant is a well-formed id that names no tenant.
const missingTenant = "01jz0000000000000000000000"

// world is tenant A (owner, admin, member, and an agent owned by the
// member), tenant B (outB its owner), a platform admin (root) who belongs to
// no tenant, and a stranger who belongs to none either.
type world struct {
	t      *testing.T
	ctx    context.Context
	st     *sqlite.Store
	svc    *identity.Service
	events *eventtest.Recorder
	clock  *testclock.Clock

	owner, admin, member, outB, root, stranger identity.User
	tenantA, tenantB                           identity.Tenant
	agent                                      identity.Agent
}

func newWorld(t *testing.T) *world {
	t.Helper()
	return newWorldWith(t, identity.Options{})
}

// newWorldWith is newWorld with a Service configured by opts.
func newWorldWith(t *testing.T, opts identity.Options) *world {
	t.Helper()
	w := &world{
		t: t, ctx: context.Background(), st: sqlitetest.Open(t), events: &eventtest.Recorder{},
		clock: testclock.New(time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)),
	}
	w.svc = identity.NewService(identity.Deps{Store: w.st, Notify: w.events.Notify, Now: w.clock.Now}, opts)
	w.owner = w.user("owner@a.example", false)
	w.admin = w.user("admin@a.example", false)
	w.member = w.user("member@a.example", false)
	w.outB = w.user("owner@b.example", false)
	w.root = w.user("root@platform.example", true)
	w.stranger = w.user("stranger@nowhere.example", false)

	w.tenantA = w.tenant(w.owner, "tenant-a", "A")
	w.tenantB = w.tenant(w.outB, "tenant-b", "B")
	w.join(w.tenantA.ID, w.admin, identity.RoleAdmin)
	w.join(w.tenantA.ID, w.member, identity.RoleMember)
	ag, err := w.svc.CreateAgent(w.ctx, w.as(w.member), w.tenantA.ID, identity.NewAgent{Name: "helper", Description: "answers mail"})
	if err != nil {
		t.Fatal(err)
	}
	w.agent = ag
	w.events.Take()
	return w
}

// user creates an active user.
func (w *world) user(email string, platformAdmin bool) identity.User {
	w.t.Helper()
	u, err := w.svc.CreateUser(w.ctx, identity.NewUser{Email: email, DisplayName: "User " + email, PlatformAdmin: platformAdmin})
	if err != nil {
		w.t.Fatal(err)
	}
	return u
}

// tenant creates a tenant owned by owner.
func (w *world) tenant(owner identity.User, slug, name string) identity.Tenant {
	w.t.Helper()
	tn, err := w.svc.CreateTenant(w.ctx, owner.ActorID(), identity.NewTenant{Slug: slug, Name: name})
	if err != nil {
		w.t.Fatal(err)
	}
	return tn
}

// join adds u to tenantID with roles, on the authority of a platform admin.
func (w *world) join(tenantID string, u identity.User, roles ...string) {
	w.t.Helper()
	if _, err := w.svc.AddMember(w.ctx, w.as(w.root), tenantID, identity.NewMember{ActorID: u.ActorID(), Roles: roles}); err != nil {
		w.t.Fatal(err)
	}
}

// role defines a custom role in tenantID, on the authority of a platform admin.
func (w *world) role(tenantID, name string, perms ...identity.Permission) {
	w.t.Helper()
	ps := make([]string, len(perms))
	for i, p := range perms {
		ps[i] = string(p)
	}
	if _, err := w.svc.PutRole(w.ctx, w.as(w.root), tenantID, name, identity.RoleInput{Permissions: ps}); err != nil {
		w.t.Fatal(err)
	}
}

// memberWith creates a user who holds roles in tenant A.
func (w *world) memberWith(email string, roles ...string) identity.User {
	w.t.Helper()
	u := w.user(email, false)
	w.join(w.tenantA.ID, u, roles...)
	return u
}

// as is u acting through their own session.
func (w *world) as(u identity.User) identity.Caller { return identity.Caller{ActorID: u.ActorID()} }

// bounded is u acting through a credential issued for tenantID with scopes.
func bounded(u identity.User, tenantID string, scopes ...identity.Permission) identity.Caller {
	ss := make([]string, len(scopes))
	for i, s := range scopes {
		ss[i] = string(s)
	}
	return identity.Caller{ActorID: u.ActorID(), Bounded: true, TenantID: tenantID, Scopes: ss}
}

// memberIDs lists the actor ids of tenantID's members, straight from the store.
func (w *world) memberIDs(tenantID string) []string {
	w.t.Helper()
	ms, err := w.st.ListMembers(w.ctx, tenantID, cursor.Page{Limit: cursor.MaxLimit})
	if err != nil {
		w.t.Fatal(err)
	}
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.ActorID
	}
	return out
}

// rolesOf returns actorID's roles in tenantID, straight from the store.
func (w *world) rolesOf(tenantID, actorID string) []string {
	w.t.Helper()
	m, err := w.st.GetMember(w.ctx, tenantID, actorID)
	if err != nil {
		w.t.Fatalf("member %s of %s: %v", actorID, tenantID, err)
	}
	return m.Roles
}

// wantFault fails unless err is a fault of kind with code, and returns it.
func wantFault(t *testing.T, err error, kind fault.Kind, code string) *fault.Error {
	t.Helper()
	var fe *fault.Error
	if !errors.As(err, &fe) {
		t.Fatalf("got error %v, want %s %q", err, kind, code)
	}
	if fe.Kind != kind || string(fe.Code) != code {
		t.Fatalf("got %s %q (%v), want %s %q", fe.Kind, fe.Code, err, kind, code)
	}
	return fe
}

// wantInvalid fails unless err is an Invalid fault with code on field.
func wantInvalid(t *testing.T, err error, field, code string) {
	t.Helper()
	if fe := wantFault(t, err, fault.Invalid, code); fe.Field != field {
		t.Fatalf("%s reported on field %q, want %q", code, fe.Field, field)
	}
}

// want checks err against an expected code: "" means success; otherwise
// the code must match and the kind must be kind.
func want(t *testing.T, err error, kind fault.Kind, code string) {
	t.Helper()
	if code == "" {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	wantFault(t, err, kind, code)
}

// wantEvents fails unless the announced events are exactly these kinds
// and ids, in order.
func wantEvents(t *testing.T, got []event.Event, want ...event.Event) {
	t.Helper()
	strip := func(es []event.Event) []event.Event {
		out := make([]event.Event, len(es))
		for i, e := range es {
			out[i] = event.Event{Kind: e.Kind, ID: e.ID, Tenant: e.Tenant}
		}
		return out
	}
	if g, w := strip(got), strip(want); !slices.Equal(g, w) {
		t.Fatalf("events %v, want %v", g, w)
	}
}

func ev(kind, id string) event.Event { return event.Event{Kind: kind, ID: id} }

// evIn is an event about id in tenant.
func evIn(kind, id, tenant string) event.Event {
	return event.Event{Kind: kind, ID: id, Tenant: tenant}
}

func perms(ps ...identity.Permission) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = string(p)
	}
	slices.Sort(out)
	return out
}

func builtinSorted(role string) []string {
	return perms(identity.BuiltinPermissions(role)...)
}
