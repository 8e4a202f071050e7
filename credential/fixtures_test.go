package credential_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tollgate/tollgate/apikey"
	"github.com/tollgate/tollgate/credential"
	"github.com/tollgate/tollgate/event/eventtest"
	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/ids"
	"github.com/tollgate/tollgate/internal/stacktest"
	"github.com/tollgate/tollgate/internal/testclock"
	"github.com/tollgate/tollgate/serviceaccount"
	"github.com/tollgate/tollgate/session"
	"github.com/tollgate/tollgate/store/sqlite"
	"github.com/tollgate/tollgate/token"
)

// The pieces are built as app.New builds them, over the embedded store, with
// cheap password hashing and a clock the tests move. Events the services
// announce are kept, and reach a resolver only when a test applies them.

const (
	testPassword = stacktest.Password
	issuer       = stacktest.Issuer
	audience     = stacktest.Audience
	accessTTL    = stacktest.AccessTTL
	keyCacheTTL  = time.Minute
)

// rejections records the resolver's Rejected callback.
type rejections struct {
	mu   sync.Mutex
	list [][2]string
}

func (r *rejections) record(kind, code string) {
	r.mu.Lock()
	r.list = append(r.list, [2]string{kind, code})
	r.mu.Unlock()
}

func (r *rejections) take() [][2]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.list
	r.list = nil
	return out
}

var errDisk = errors.New("disk I/O error")

// keyStore is the API key store, counting the resolver's reads and writes.
// A failing store fails them; gate, when set, runs after a read and before
// its result is returned.
type keyStore struct {
	apikey.Store
	gets, touches atomic.Int32
	failing       atomic.Bool
	mu            sync.Mutex
	gate          func()
	touched       []map[string]time.Time
}

func (k *keyStore) GetAPIKey(ctx context.Context, id string) (apikey.Key, error) {
	k.gets.Add(1)
	if k.failing.Load() {
		return apikey.Key{}, errDisk
	}
	key, err := k.Store.GetAPIKey(ctx, id)
	k.mu.Lock()
	gate := k.gate
	k.mu.Unlock()
	if gate != nil {
		gate()
	}
	return key, err
}

func (k *keyStore) TouchAPIKeys(ctx context.Context, used map[string]time.Time) error {
	k.touches.Add(1)
	k.mu.Lock()
	k.touched = append(k.touched, used)
	k.mu.Unlock()
	if k.failing.Load() {
		return errDisk
	}
	return k.Store.TouchAPIKeys(ctx, used)
}

func (k *keyStore) setGate(f func()) {
	k.mu.Lock()
	k.gate = f
	k.mu.Unlock()
}

// blockStore fails while failing is set.
type blockStore struct {
	credential.BlockStore
	failing atomic.Bool
}

func (b *blockStore) BlockedActors(ctx context.Context) ([]string, error) {
	if b.failing.Load() {
		return nil, errDisk
	}
	return b.BlockStore.BlockedActors(ctx)
}

// env is a store, the services that write credentials into it and one
// resolver over it.
type env struct {
	stack     *stacktest.Stack
	st        *sqlite.Store
	idents    *identity.Service
	keys      *token.Keyring
	revoked   *credential.Revocations
	sessions  *session.Service
	apikeys   *apikey.Service
	services  *serviceaccount.Registry
	clock     *testclock.Clock
	announced *eventtest.Recorder
	// The resolver and what it is built over.
	r        *credential.Resolver
	keyStore *keyStore
	blocks   *blockStore
	rejected *rejections
}

func newEnv(t *testing.T) *env {
	t.Helper()
	s := stacktest.New(t)
	e := &env{stack: s, st: s.Store, clock: s.Clock, announced: s.Events, idents: s.Identity, keys: s.Keys, revoked: s.Revocations,
		sessions: s.Sessions, apikeys: s.APIKeys, services: s.Services}
	e.newResolver(t)
	return e
}

// newResolver replaces e.r with a fresh resolver (empty caches) over the
// same store and revocations, as a new replica would be.
func (e *env) newResolver(t *testing.T) {
	t.Helper()
	e.keyStore = &keyStore{Store: e.st}
	e.blocks = &blockStore{BlockStore: e.st}
	e.rejected = &rejections{}
	verifier := token.NewVerifier(e.keys, token.VerifierOptions{Issuer: issuer, Audience: audience})
	e.r = credential.NewResolver(credential.Deps{
		Verifier: verifier, Revoked: e.revoked, RolePermissions: e.idents.RolePermissions,
		Keys: e.keyStore, Rights: e.idents, Services: e.st, Blocks: e.blocks, Now: e.clock.Now,
		Rejected: e.rejected.record,
	}, credential.Options{KeyCacheTTL: keyCacheTTL})
	if err := e.r.SyncBlocks(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// deliver applies the announced events to the resolver, as the app's
// notifier and bus subscription do.
func (e *env) deliver() {
	for _, ev := range e.announced.Take() {
		e.r.Apply(ev)
	}
}

func (e *env) user(t *testing.T, email string, platformAdmin bool) identity.User {
	return e.stack.User(t, email, platformAdmin)
}

func (e *env) tenant(t *testing.T, owner identity.User, slug string) identity.Tenant {
	return e.stack.Tenant(t, owner, slug)
}

func (e *env) join(t *testing.T, tn identity.Tenant, u identity.User, roles ...string) {
	e.stack.Join(t, tn, u, roles...)
}

func (e *env) setUserStatus(t *testing.T, u identity.User, s identity.UserStatus) {
	t.Helper()
	cur, err := e.st.GetUser(context.Background(), u.ID)
	if err != nil {
		t.Fatal(err)
	}
	cur.Status = s
	if err := e.st.UpdateUser(context.Background(), cur); err != nil {
		t.Fatal(err)
	}
}

func (e *env) setTenantStatus(t *testing.T, tn identity.Tenant, s identity.TenantStatus) {
	t.Helper()
	cur, err := e.st.GetTenant(context.Background(), tn.ID)
	if err != nil {
		t.Fatal(err)
	}
	cur.Status = s
	if err := e.st.UpdateTenant(context.Background(), cur); err != nil {
		t.Fatal(err)
	}
}

// sessionOf is the ActorContext a session token of u in tenantID resolves to,
// enough for the services' rules.
func sessionOf(u identity.User, tenantID string) identity.ActorContext {
	return identity.ActorContext{ActorID: u.ActorID(), ActorType: identity.ActorHuman, TenantID: tenantID, Credential: identity.CredentialSession}
}

// key creates an API key through the API key service.
func (e *env) key(t *testing.T, creator identity.ActorContext, in apikey.NewKey) (apikey.Key, string) {
	t.Helper()
	if in.Name == "" {
		in.Name = "k"
	}
	if in.TenantID == "" {
		in.TenantID = creator.TenantID
	}
	k, raw, err := e.apikeys.Create(context.Background(), creator, in)
	if err != nil {
		t.Fatal(err)
	}
	return k, raw
}

// login signs u in through the session service.
func (e *env) login(t *testing.T, u identity.User, tenant string) session.Tokens {
	t.Helper()
	tok, err := e.sessions.Login(context.Background(), session.LoginRequest{Email: u.Email, Password: testPassword, Tenant: tenant})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// sign issues an access token with the defaults of a live one for what c
// leaves unset.
func (e *env) sign(t *testing.T, c token.Claims) string {
	t.Helper()
	now := e.clock.Now()
	if c.Issuer == "" {
		c.Issuer = issuer
	}
	if c.Audience == nil {
		c.Audience = []string{audience}
	}
	if c.ExpiresAt.IsZero() {
		c.ExpiresAt = now.Add(accessTTL)
	}
	if c.ID == "" {
		c.ID = ids.NewAt(now)
	}
	if c.SessionID == "" {
		c.SessionID = ids.NewAt(now)
	}
	c.IssuedAt, c.NotBefore = now, now
	raw, err := e.keys.Sign(c)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// world is three tenants and the people in them:
//   - ann owns alpha; carl is a member of alpha and owns beta;
//   - bob owns gamma and belongs nowhere else;
//   - root is a platform admin and a member of alpha.
type world struct {
	ann, bob, carl, root identity.User
	alpha, gamma, beta   identity.Tenant
}

func newWorld(t *testing.T, e *env) world {
	t.Helper()
	var w world
	w.ann, w.bob, w.carl = e.user(t, "ann@example.com", false), e.user(t, "bob@example.com", false), e.user(t, "carl@example.com", false)
	w.root = e.user(t, "root@example.com", true)
	w.alpha = e.tenant(t, w.ann, "alpha")
	e.join(t, w.alpha, w.carl, identity.RoleMember)
	e.join(t, w.alpha, w.root, identity.RoleMember)
	w.beta = e.tenant(t, w.carl, "beta")
	w.gamma = e.tenant(t, w.bob, "gamma")
	return w
}

// agent creates an agent of owner's in tn.
func (e *env) agent(t *testing.T, owner identity.User, tn identity.Tenant, name string) identity.Agent {
	t.Helper()
	ag, err := e.idents.CreateAgent(context.Background(), identity.Caller{ActorID: owner.ActorID()}, tn.ID, identity.NewAgent{Name: name})
	if err != nil {
		t.Fatal(err)
	}
	return ag
}

// service registers a service, by root.
func (e *env) service(t *testing.T, root identity.User, name string, scopes ...string) (serviceaccount.Service, string) {
	t.Helper()
	svc, secret, err := e.services.Register(context.Background(), sessionOf(root, ""), serviceaccount.NewService{Name: name, Scopes: scopes, Tenants: []string{identity.Everything}})
	if err != nil {
		t.Fatal(err)
	}
	return svc, secret
}

// resolve resolves raw with e.r.
func (e *env) resolve(raw string) (identity.ActorContext, error) {
	return e.r.Resolve(context.Background(), raw)
}

// mustResolve fails the test unless raw resolves.
func (e *env) mustResolve(t *testing.T, raw string) identity.ActorContext {
	t.Helper()
	ac, err := e.resolve(raw)
	if err != nil {
		t.Fatalf("resolve: %v", err)
	}
	return ac
}

// wantFault fails unless err is a fault of kind and code.
func wantFault(t *testing.T, err error, kind fault.Kind, code string) {
	t.Helper()
	var fe *fault.Error
	if !errors.As(err, &fe) || fe.Kind != kind || string(fe.Code) != code {
		t.Fatalf("err = %v, want %s %q", err, kind, code)
	}
}

// wantRefused fails unless raw is refused with kind and code, and the
// Rejected callback was told so.
func (e *env) wantRefused(t *testing.T, raw string, kind fault.Kind, code string) {
	t.Helper()
	e.rejected.take()
	ac, err := e.resolve(raw)
	wantFault(t, err, kind, code)
	if ac.ActorID != "" {
		t.Fatalf("an actor with the error: %+v", ac)
	}
	what := "access_token"
	if credential.IsAPIKey(raw) {
		what = "api_key"
	}
	if got := e.rejected.take(); len(got) != 1 || got[0] != [2]string{what, code} {
		t.Fatalf("rejections %v, want [%s %s]", got, what, code)
	}
}
