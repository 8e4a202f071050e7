package serviceaccount_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/tollgate/tollgate/event"
	"github.com/tollgate/tollgate/event/eventtest"
	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/internal/testclock"
	"github.com/tollgate/tollgate/policy"
	"github.com/tollgate/tollgate/serviceaccount"
	"github.com/tollgate/tollgate/store/sqlite"
	"github.com/tollgate/tollgate/store/sqlite/sqlitetest"
)

// t0 is the fixed time every world starts at.
var t0 = time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)

// world is a tenant A with an owner and a member, a tenant B with its
// owner, and root, a platform admin who belongs to neither.
type world struct {
	ctx      context.Context
	st       *sqlite.Store
	idents   *identity.Service
	registry *serviceaccount.Registry
	events   *eventtest.Recorder
	clock    *testclock.Clock

	tenantA, tenantB          string
	owner, member, outB, root identity.User
	ownerS, memberS, outBS    identity.ActorContext
	rootS                     identity.ActorContext
}

func newWorld(t *testing.T) *world {
	return newWorldWith(t, serviceaccount.Options{})
}

func newWorldWith(t *testing.T, opts serviceaccount.Options) *world {
	t.Helper()
	ctx := context.Background()
	st := sqlitetest.Open(t)
	w := &world{ctx: ctx, st: st, events: &eventtest.Recorder{}, clock: testclock.New(t0)}
	w.idents = identity.NewService(identity.Deps{Store: st, Now: w.clock.Now}, identity.Options{})
	w.registry = serviceaccount.NewRegistry(serviceaccount.Deps{Store: st, Admins: w.idents, KnownResourceType: policy.KnownResourceType,
		Notify: w.events.Notify, Now: w.clock.Now}, opts)

	w.owner, w.member, w.outB = w.user(t, "owner@a.example", false), w.user(t, "member@a.example", false), w.user(t, "owner@b.example", false)
	w.root = w.user(t, "root@platform.example", true)
	a, err := w.idents.CreateTenant(ctx, w.owner.ActorID(), identity.NewTenant{Slug: "tenant-a"})
	must(t, err)
	b, err := w.idents.CreateTenant(ctx, w.outB.ActorID(), identity.NewTenant{Slug: "tenant-b"})
	must(t, err)
	w.tenantA, w.tenantB = a.ID, b.ID
	_, err = w.idents.AddMember(ctx, identity.Caller{ActorID: w.owner.ActorID()}, w.tenantA,
		identity.NewMember{ActorID: w.member.ActorID(), Roles: []string{identity.RoleMember}})
	must(t, err)

	w.ownerS, w.memberS, w.outBS = session(w.owner, w.tenantA), session(w.member, w.tenantA), session(w.outB, w.tenantB)
	w.rootS = session(w.root, "")
	return w
}

func (w *world) user(t *testing.T, email string, platformAdmin bool) identity.User {
	t.Helper()
	u, err := w.idents.CreateUser(w.ctx, identity.NewUser{Email: email, PlatformAdmin: platformAdmin})
	must(t, err)
	return u
}

// session is a human's signed-in ActorContext.
func session(u identity.User, tenantID string) identity.ActorContext {
	return identity.ActorContext{
		ActorID: u.ActorID(), ActorType: identity.ActorHuman, TenantID: tenantID, Credential: identity.CredentialSession,
	}
}

// register registers a service as root and returns it with its secret.
func (w *world) register(t *testing.T, name string, scopes ...string) (serviceaccount.Service, string) {
	t.Helper()
	svc, raw, err := w.registry.Register(w.ctx, w.rootS, serviceaccount.NewService{Name: name, Scopes: scopes, Tenants: []string{identity.Everything}})
	must(t, err)
	return svc, raw
}

// authenticates fails unless clientSecret opens clientID.
func (w *world) authenticates(t *testing.T, clientID, clientSecret string) string {
	t.Helper()
	svc, secretID, err := w.registry.Authenticate(w.ctx, clientID, clientSecret)
	must(t, err)
	if svc.ID != clientID || secretID == "" {
		t.Fatalf("authenticated as %s with secret %q", svc.ID, secretID)
	}
	return secretID
}

// refused fails unless clientSecret is refused for clientID with the one
// answer every failed client authentication gets.
func (w *world) refused(t *testing.T, clientID, clientSecret string) {
	t.Helper()
	svc, secretID, err := w.registry.Authenticate(w.ctx, clientID, clientSecret)
	wantFault(t, err, fault.Unauthenticated, "invalid_client", "")
	if svc.ID != "" || secretID != "" {
		t.Fatalf("a refused authentication returned %+v, %q", svc, secretID)
	}
	var fe *fault.Error
	if errors.As(err, &fe); fe.Detail != "client authentication failed" {
		t.Fatalf("the refusal tells more: %q", fe.Detail)
	}
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
