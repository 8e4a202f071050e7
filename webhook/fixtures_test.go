package webhook_test

import (
	"context"
	"crypto/rand"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/internal/testclock"
	"github.com/tollgate/tollgate/mail"
	"github.com/tollgate/tollgate/store/sqlite"
	"github.com/tollgate/tollgate/store/sqlite/sqlitetest"
	"github.com/tollgate/tollgate/token"
	"github.com/tollgate/tollgate/webhook"
)

// world is a tenant A with an owner and a user who is not yet a member, a
// tenant B, and the webhook service and worker over one SQLite store,
// with deliveries allowed to 127.0.0.1 only.
type world struct {
	ctx      context.Context
	st       *sqlite.Store
	clock    *testclock.Clock
	idents   *identity.Service
	hooks    *webhook.Service
	worker   *webhook.Worker
	tenantA  string
	tenantB  string
	owner    identity.User
	outsider identity.User
	ownerS   identity.ActorContext
	outB     identity.ActorContext
	// observed counts the worker's attempts by outcome.
	mu       sync.Mutex
	observed map[string]int
}

func (w *world) observe(outcome string, _ time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.observed[outcome]++
}

func (w *world) outcomes() map[string]int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return maps.Clone(w.observed)
}

func newWorld(t *testing.T, opts webhook.WorkerOptions) *world {
	t.Helper()
	ctx := context.Background()
	st := sqlitetest.Open(t)
	// The clock starts at the real time: audit events are timed by the
	// store's clock, and an endpoint receives only events after its
	// creation.
	w := &world{ctx: ctx, st: st, clock: testclock.New(time.Now().UTC()), observed: map[string]int{}}
	w.idents = identity.NewService(identity.Deps{Store: st, Now: w.clock.Now}, identity.Options{})
	sealer := sealerFor(t)
	guard := webhook.NewGuard([]netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")})
	w.hooks = webhook.NewService(webhook.Deps{Store: st, Rights: w.idents, Sealer: sealer, Now: w.clock.Now}, webhook.Options{Guard: guard})
	opts.Timeout = 5 * time.Second
	templates, terr := mail.LoadTemplates("", nil)
	must(t, terr)
	w.worker = webhook.NewWorker(webhook.WorkerDeps{Store: st, Sealer: sealer, Client: webhook.NewClient(guard, opts.Timeout), Now: w.clock.Now,
		Mail: templates, Observe: w.observe}, opts)

	user := func(email string) identity.User {
		u, err := w.idents.CreateUser(ctx, identity.NewUser{Email: email})
		must(t, err)
		return u
	}
	w.owner, w.outsider = user("owner@a.example"), user("someone@elsewhere.example")
	outB := user("owner@b.example")
	a, err := w.idents.CreateTenant(ctx, w.owner.ActorID(), identity.NewTenant{Slug: "tenant-a"})
	must(t, err)
	b, err := w.idents.CreateTenant(ctx, outB.ActorID(), identity.NewTenant{Slug: "tenant-b"})
	must(t, err)
	w.tenantA, w.tenantB = a.ID, b.ID
	w.ownerS = identity.ActorContext{ActorID: w.owner.ActorID(), ActorType: identity.ActorHuman, TenantID: a.ID, Credential: identity.CredentialSession}
	w.outB = identity.ActorContext{ActorID: outB.ActorID(), ActorType: identity.ActorHuman, TenantID: b.ID, Credential: identity.CredentialSession}
	return w
}

// addMember is an act the audit log records and webhooks deliver as
// member.added.
func (w *world) addMember(t *testing.T, u identity.User) {
	t.Helper()
	_, err := w.idents.AddMember(w.ctx, identity.Caller{ActorID: w.owner.ActorID()}, w.tenantA,
		identity.NewMember{ActorID: u.ActorID(), Roles: []string{identity.RoleMember}})
	must(t, err)
}

// drain runs the worker until it has nothing more to do now.
func (w *world) drain(t *testing.T) {
	t.Helper()
	for range 100 {
		busy, err := w.worker.RunOnce(w.ctx)
		must(t, err)
		if !busy {
			return
		}
	}
	t.Fatal("the worker is still busy after 100 rounds")
}

// receiver is an HTTP endpoint on 127.0.0.1 that records what it gets and
// answers status.
type receiver struct {
	*httptest.Server
	mu     sync.Mutex
	status int
	got    []received
}

type received struct {
	header http.Header
	body   []byte
}

func newReceiver(t *testing.T, status int) *receiver {
	t.Helper()
	rc := &receiver{status: status}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.got = append(rc.got, received{header: r.Header.Clone(), body: body})
		status := rc.status
		rc.mu.Unlock()
		w.WriteHeader(status)
		_, _ = io.WriteString(w, "answered")
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) received() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.got...)
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func newUser(t *testing.T, w *world, email string) identity.User {
	t.Helper()
	u, err := w.idents.CreateUser(w.ctx, identity.NewUser{Email: email})
	must(t, err)
	return u
}

func callerOf(actorID string) identity.Caller { return identity.Caller{ActorID: actorID} }

func agentNamed(name string) identity.NewAgent { return identity.NewAgent{Name: name} }

// sealerFor seals with a random master key.
func sealerFor(t *testing.T) *token.Sealer {
	t.Helper()
	mk := make([]byte, token.MasterKeySize)
	_, _ = rand.Read(mk)
	sealer, err := token.NewSealer(mk)
	must(t, err)
	return sealer
}
