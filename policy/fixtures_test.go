package policy_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tollgate/tollgate/event"
	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/internal/testclock"
	"github.com/tollgate/tollgate/policy"
	"github.com/tollgate/tollgate/store/sqlite"
	"github.com/tollgate/tollgate/store/sqlite/sqlitetest"
)

// missingTenant is a well-formed id that names no tenant.
const missingTenant = "01jz0000000000000000000000"

// pdpWorld is a policy Service over the embedded store, built as
// app.openPolicy builds it, with tenant A (owner, admin, member), tenant B
// (outB its owner), a platform admin (root) of no tenant and a stranger of
// none.
type pdpWorld struct {
	t     *testing.T
	ctx   context.Context
	st    *sqlite.Store
	ids   *identity.Service
	svc   *policy.Service
	clock *testclock.Clock

	mu      sync.Mutex
	changed []string

	owner, admin, member, outB, root, stranger identity.User
	tenantA, tenantB                           identity.Tenant
}

func newPDP(t *testing.T) *pdpWorld {
	t.Helper()
	return newPDPWith(t, policy.Options{})
}

// newPDPWith is newPDP with a Service configured by opts.
func newPDPWith(t *testing.T, opts policy.Options) *pdpWorld {
	t.Helper()
	w := &pdpWorld{t: t, ctx: context.Background(), st: sqlitetest.Open(t),
		clock: testclock.New(time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC))}
	compiler, err := policy.NewCompiler()
	if err != nil {
		t.Fatal(err)
	}
	engine := policy.NewEngine(policy.EngineDeps{
		Source: policy.StoreSource{Identity: w.st, Policies: w.st}, Compiler: compiler, Now: w.clock.Now,
	}, policy.EngineOptions{})
	apply := func(ctx context.Context, events ...event.Event) {
		for _, e := range events {
			engine.Apply(ctx, policy.ChangesOf(e)...)
		}
	}
	w.ids = identity.NewService(identity.Deps{Store: w.st, Now: w.clock.Now, Notify: apply}, identity.Options{})
	w.svc = policy.NewService(policy.Deps{
		Engine: engine, Store: w.st, Rights: w.ids, Now: w.clock.Now,
		Changed: func(ctx context.Context, events ...event.Event) {
			w.mu.Lock()
			for _, e := range events {
				w.changed = append(w.changed, strings.TrimSpace(e.Tenant+" "+e.Resource))
			}
			w.mu.Unlock()
			apply(ctx, events...)
		},
	}, opts)

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
	return w
}

func (w *pdpWorld) user(email string, platformAdmin bool) identity.User {
	w.t.Helper()
	u, err := w.ids.CreateUser(w.ctx, identity.NewUser{Email: email, DisplayName: "User " + email, PlatformAdmin: platformAdmin})
	if err != nil {
		w.t.Fatal(err)
	}
	return u
}

func (w *pdpWorld) tenant(owner identity.User, slug, name string) identity.Tenant {
	w.t.Helper()
	tn, err := w.ids.CreateTenant(w.ctx, owner.ActorID(), identity.NewTenant{Slug: slug, Name: name})
	if err != nil {
		w.t.Fatal(err)
	}
	return tn
}

func (w *pdpWorld) join(tenantID string, u identity.User, roles ...string) {
	w.t.Helper()
	root := identity.Caller{ActorID: w.root.ActorID()}
	if _, err := w.ids.AddMember(w.ctx, root, tenantID, identity.NewMember{ActorID: u.ActorID(), Roles: roles}); err != nil {
		w.t.Fatal(err)
	}
}

// takeChanged returns the tenants announced as changed since the last call.
func (w *pdpWorld) takeChanged() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := w.changed
	w.changed = nil
	return out
}

// session is u signed in, switched to tenantID ("" for none).
func session(u identity.User, tenantID string) identity.ActorContext {
	return identity.ActorContext{ActorID: u.ActorID(), ActorType: identity.ActorHuman, TenantID: tenantID,
		Credential: identity.CredentialSession}
}

// apiKey is u's API key for tenantID with scopes (its permissions).
func apiKey(u identity.User, tenantID string, scopes ...identity.Permission) identity.ActorContext {
	ss := make([]string, len(scopes))
	for i, s := range scopes {
		ss[i] = string(s)
	}
	return identity.ActorContext{ActorID: u.ActorID(), ActorType: identity.ActorHuman, TenantID: tenantID,
		Credential: identity.CredentialAPIKey, Permissions: ss, Scopes: ss}
}

// service is a service token with scopes, registered for every tenant and
// resource type.
func service(scopes ...string) identity.ActorContext {
	return identity.ActorContext{ActorID: "service:billing", ActorType: identity.ActorService,
		Credential: identity.CredentialClientCredentials, Scopes: scopes,
		Tenants: []string{identity.Everything}, ResourceTypes: []string{identity.Everything}}
}

// checker is a service holding authz:check.
func checker() identity.ActorContext { return service(policy.ScopeAuthzCheck) }

// writer is a service holding authz:check and authz:write.
func writer() identity.ActorContext { return service(policy.ScopeAuthzCheck, policy.ScopeAuthzWrite) }

// reaching narrows a service to tenants and resource types.
func reaching(ac identity.ActorContext, tenants []string, types ...string) identity.ActorContext {
	ac.Tenants, ac.ResourceTypes = tenants, types
	return ac
}

// channel is a registrable channel whose members are actorIDs.
func channel(id string, members ...string) policy.Resource {
	ms := make([]any, len(members))
	for i, m := range members {
		ms[i] = m
	}
	return policy.Resource{Type: "channel", ID: id, Attrs: map[string]any{"members": ms}}
}

func child(r policy.Resource, parents ...string) policy.Resource {
	for _, p := range parents {
		r.Parents = append(r.Parents, policy.ResourceRef{Type: r.Type, ID: p})
	}
	return r
}

// wantFault fails unless err is a fault of kind with code, and returns it.
func wantFault(t *testing.T, err error, kind fault.Kind, code fault.Code) *fault.Error {
	t.Helper()
	var fe *fault.Error
	if !errors.As(err, &fe) {
		t.Fatalf("got error %v, want %s %q", err, kind, code)
	}
	if fe.Kind != kind || fe.Code != code {
		t.Fatalf("got %s %q (%v), want %s %q", fe.Kind, fe.Code, err, kind, code)
	}
	return fe
}

// wantInvalid fails unless err is an Invalid fault with code on field.
func wantInvalid(t *testing.T, err error, field string, code fault.Code) {
	t.Helper()
	if fe := wantFault(t, err, fault.Invalid, code); fe.Field != field {
		t.Fatalf("%s reported on field %q, want %q", code, fe.Field, field)
	}
}

// fails describes an expected error: the zero value is success.
type fails struct {
	kind  fault.Kind
	code  fault.Code
	field string
}

func (f fails) check(t *testing.T, err error) {
	t.Helper()
	switch {
	case f.code == "":
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
	case f.field != "":
		wantInvalid(t, err, f.field, f.code)
	default:
		wantFault(t, err, f.kind, f.code)
	}
}

var (
	ok                = fails{}
	tenantNotFound    = fails{kind: fault.NotFound, code: identity.CodeTenantNotFound}
	permDenied        = fails{kind: fault.Forbidden, code: identity.CodePermissionDenied}
	scopeRequired     = fails{kind: fault.Forbidden, code: identity.CodeScopeRequired}
	principalNotYou   = fails{kind: fault.Forbidden, code: policy.CodePrincipalNotCaller}
	notRegistered     = fails{kind: fault.Forbidden, code: identity.CodeTenantNotRegistered}
	typeNotRegistered = fails{kind: fault.Forbidden, code: policy.CodeResourceTypeNotRegistered}
)
