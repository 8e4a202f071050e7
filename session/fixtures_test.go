package session_test

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tollgate/tollgate/audit/audittest"
	"github.com/tollgate/tollgate/credential"
	"github.com/tollgate/tollgate/cursor"
	"github.com/tollgate/tollgate/event"
	"github.com/tollgate/tollgate/event/eventtest"
	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/internal/stacktest"
	"github.com/tollgate/tollgate/internal/testclock"
	"github.com/tollgate/tollgate/password"
	"github.com/tollgate/tollgate/ratelimit"
	"github.com/tollgate/tollgate/session"
	"github.com/tollgate/tollgate/store/sqlite"
	"github.com/tollgate/tollgate/store/sqlite/sqlitetest"
	"github.com/tollgate/tollgate/token"
)

// The pieces are built as app.New builds them, over the embedded store, with
// cheap password hashing and a clock the tests move.

const (
	testPassword = "correct horse battery staple"
	issuer       = "https://tollgate.test"
	audience     = "tollgate"
	accessTTL    = stacktest.AccessTTL
	refreshTTL   = 24 * time.Hour
)

// announced records what the service notifies.
type announced struct{ eventtest.Recorder }

// revoked returns the ids of credential_revoked events.
func (a *announced) revoked() []string { return a.IDs(event.KindCredentialRevoked) }

func (a *announced) count() int { return len(a.Events()) }

// outcomes records the LoginOutcome callback.
type outcomes struct {
	mu   sync.Mutex
	list []string
}

func (o *outcomes) record(s string) {
	o.mu.Lock()
	o.list = append(o.list, s)
	o.mu.Unlock()
}

func (o *outcomes) last() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.list) == 0 {
		return ""
	}
	return o.list[len(o.list)-1]
}

// throttle is a LoginThrottle that records what it is asked and refuses
// while refuse is set.
type throttle struct {
	mu     sync.Mutex
	calls  []throttleCall
	refuse bool
}

// throttleCall is one call: "begin", "failed" or "succeeded", for the
// attempt's account key and IP.
type throttleCall struct{ what, key, ip string }

func (th *throttle) record(what string, a ratelimit.LoginAttempt) {
	th.mu.Lock()
	defer th.mu.Unlock()
	th.calls = append(th.calls, throttleCall{what, a.Account, a.IP})
}

func (th *throttle) BeginLogin(_ context.Context, a ratelimit.LoginAttempt) error {
	th.record("begin", a)
	th.mu.Lock()
	defer th.mu.Unlock()
	if th.refuse {
		return &fault.Error{Kind: fault.RateLimited, Code: "quota_exceeded", Detail: "slow down", RetryAfter: time.Minute}
	}
	return nil
}

func (th *throttle) LoginFailed(_ context.Context, a ratelimit.LoginAttempt) { th.record("failed", a) }

func (th *throttle) LoginSucceeded(_ context.Context, a ratelimit.LoginAttempt) {
	th.record("succeeded", a)
}

func (th *throttle) set(refuse bool) {
	th.mu.Lock()
	th.refuse = refuse
	th.mu.Unlock()
}

func (th *throttle) all() []throttleCall {
	th.mu.Lock()
	defer th.mu.Unlock()
	return slices.Clone(th.calls)
}

// hasher wraps the real hasher, counting the work Login asks for; before,
// when set, runs ahead of each call with its context.
type hasher struct {
	inner               *password.Hasher
	verify, dummy, hash atomic.Int32
	mu                  sync.Mutex
	before              func(ctx context.Context)
}

func (h *hasher) run(ctx context.Context) {
	h.mu.Lock()
	f := h.before
	h.mu.Unlock()
	if f != nil {
		f(ctx)
	}
}

func (h *hasher) setBefore(f func(ctx context.Context)) {
	h.mu.Lock()
	h.before = f
	h.mu.Unlock()
}

func (h *hasher) Verify(ctx context.Context, plain, encoded string) (bool, bool, error) {
	h.verify.Add(1)
	h.run(ctx)
	return h.inner.Verify(ctx, plain, encoded)
}

func (h *hasher) VerifyDummy(ctx context.Context, plain string) {
	h.dummy.Add(1)
	h.run(ctx)
	h.inner.VerifyDummy(ctx, plain)
}

func (h *hasher) Hash(ctx context.Context, plain string) (string, error) {
	h.hash.Add(1)
	h.run(ctx)
	return h.inner.Hash(ctx, plain)
}

func (h *hasher) reset() {
	h.verify.Store(0)
	h.dummy.Store(0)
	h.hash.Store(0)
}

// logs keeps log records.
type logs struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (l *logs) Enabled(context.Context, slog.Level) bool { return true }
func (l *logs) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *logs) WithGroup(string) slog.Handler            { return l }
func (l *logs) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	l.recs = append(l.recs, r.Clone())
	l.mu.Unlock()
	return nil
}

func (l *logs) has(level slog.Level, msg string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, r := range l.recs {
		if r.Level == level && r.Message == msg {
			return true
		}
	}
	return false
}

// failingAccounts is the store with some reads and writes failing as a
// broken database would.
type failingAccounts struct {
	session.Accounts
	failUserByEmail, failUpdate, failListTenants, failGetTenant bool
}

var errDisk = errors.New("disk I/O error")

func (f failingAccounts) GetUserByEmail(ctx context.Context, email string) (identity.User, error) {
	if f.failUserByEmail {
		return identity.User{}, errDisk
	}
	return f.Accounts.GetUserByEmail(ctx, email)
}

func (f failingAccounts) ReplacePasswordHash(ctx context.Context, id, oldHash, newHash string, at time.Time) (bool, error) {
	if f.failUpdate {
		return false, errDisk
	}
	return f.Accounts.ReplacePasswordHash(ctx, id, oldHash, newHash, at)
}

func (f failingAccounts) ListTenantsOf(ctx context.Context, actorID string, p cursor.Page) ([]identity.TenantMembership, error) {
	if f.failListTenants {
		return nil, errDisk
	}
	return f.Accounts.ListTenantsOf(ctx, actorID, p)
}

func (f failingAccounts) GetTenant(ctx context.Context, id string) (identity.Tenant, error) {
	if f.failGetTenant {
		return identity.Tenant{}, errDisk
	}
	return f.Accounts.GetTenant(ctx, id)
}

// env is one session service and everything around it.
type env struct {
	st        *sqlite.Store
	idents    *identity.Service
	hasher    *hasher
	keys      *token.Keyring
	verifier  *token.Verifier
	revoked   *credential.Revocations
	clock     *testclock.Clock
	announced *announced
	outcomes  *outcomes
	throttle  *throttle
	logs      *logs
	svc       *session.Service
	// rec, when set, receives the audit events (audit_test.go).
	rec *audittest.Queue
}

// take drops the audit events recorded so far.
func (e *env) take() {
	if e.rec != nil {
		e.rec.Take()
	}
}

// newEnv builds an env; edit, when given, changes the service's Deps.
func newEnv(t *testing.T, edit ...func(*env, *session.Deps)) *env {
	t.Helper()
	e := &env{
		st:        sqlitetest.Open(t),
		clock:     testclock.New(time.Now().UTC().Truncate(time.Second)),
		announced: &announced{}, outcomes: &outcomes{}, throttle: &throttle{}, logs: &logs{},
	}
	e.idents = identity.NewService(identity.Deps{Store: e.st, Now: e.clock.Now}, identity.Options{})
	h, err := password.NewHasher(stacktest.FastParams(), 2)
	if err != nil {
		t.Fatal(err)
	}
	e.hasher = &hasher{inner: h}
	e.keys = stacktest.NewKeyring(t, e.st, e.clock)
	e.verifier = token.NewVerifier(e.keys, token.VerifierOptions{Issuer: issuer, Audience: audience, CacheSize: -1})
	e.revoked = credential.NewRevocations(e.st, accessTTL, token.DefaultLeeway, e.clock.Now)
	d := session.Deps{
		Sessions: e.st, Identities: e.st, Roles: e.idents, Hasher: e.hasher, Keys: e.keys,
		Throttle: e.throttle, Revocations: e.revoked, Log: slog.New(e.logs), Now: e.clock.Now,
		Notify: e.announced.Notify, LoginOutcome: e.outcomes.record,
	}
	for _, f := range edit {
		f(e, &d)
	}
	e.svc = session.NewService(d, session.Options{Issuer: issuer, Audience: audience, AccessTTL: accessTTL, RefreshTTL: refreshTTL})
	return e
}

// user creates an active user whose password is testPassword.
func (e *env) user(t *testing.T, email string) identity.User {
	t.Helper()
	h, err := e.hasher.inner.Hash(context.Background(), testPassword)
	if err != nil {
		t.Fatal(err)
	}
	return e.userWithHash(t, email, h)
}

func (e *env) userWithHash(t *testing.T, email, hash string) identity.User {
	t.Helper()
	u, err := e.idents.CreateUser(context.Background(), identity.NewUser{Email: email, PasswordHash: hash})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// tenant creates a tenant owned by owner. The clock moves a second on, so
// that tenants sort by creation.
func (e *env) tenant(t *testing.T, owner identity.User, slug string) identity.Tenant {
	t.Helper()
	e.clock.Advance(time.Second)
	tn, err := e.idents.CreateTenant(context.Background(), owner.ActorID(), identity.NewTenant{Slug: slug})
	if err != nil {
		t.Fatal(err)
	}
	return tn
}

func (e *env) join(t *testing.T, tn identity.Tenant, u identity.User, roles ...string) {
	t.Helper()
	now := e.clock.Now()
	if err := e.st.AddMember(context.Background(), identity.Membership{
		TenantID: tn.ID, ActorID: u.ActorID(), Roles: roles, CreatedAt: now, UpdatedAt: now,
	}); err != nil {
		t.Fatal(err)
	}
}

func (e *env) setTenantStatus(t *testing.T, tn identity.Tenant, s identity.TenantStatus) {
	t.Helper()
	tn.Status = s
	if err := e.st.UpdateTenant(context.Background(), tn); err != nil {
		t.Fatal(err)
	}
}

func (e *env) setUserStatus(t *testing.T, id string, s identity.UserStatus) {
	t.Helper()
	u, err := e.st.GetUser(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	u.Status = s
	if err := e.st.UpdateUser(context.Background(), u); err != nil {
		t.Fatal(err)
	}
}

// login signs email in, failing the test on error.
func (e *env) login(t *testing.T, email, tenant string) session.Tokens {
	t.Helper()
	tok, err := e.svc.Login(context.Background(), session.LoginRequest{Email: email, Password: testPassword, Tenant: tenant})
	if err != nil {
		t.Fatalf("login %s: %v", email, err)
	}
	return tok
}

// claims verifies an access token as the resolver does.
func (e *env) claims(t *testing.T, access string) *token.Claims {
	t.Helper()
	c, err := e.verifier.Verify(access)
	if err != nil {
		t.Fatalf("verifying the access token: %v", err)
	}
	return c
}

func (e *env) session(t *testing.T, id string) session.Session {
	t.Helper()
	s, err := e.st.GetSession(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// actor is the ActorContext of a session token, as the resolver makes it.
func actor(tok session.Tokens) identity.ActorContext {
	return identity.ActorContext{
		ActorID: tok.ActorID, ActorType: identity.ActorHuman, TenantID: tok.TenantID, Roles: tok.Roles,
		Credential: identity.CredentialSession, SessionID: tok.SessionID, AMR: tok.AMR,
	}
}

// wantFault fails unless err is a fault of kind and code.
func wantFault(t *testing.T, err error, kind fault.Kind, code string) {
	t.Helper()
	var fe *fault.Error
	if !errors.As(err, &fe) || fe.Kind != kind || string(fe.Code) != code {
		t.Fatalf("err = %v, want %s %q", err, kind, code)
	}
}

// public is what a client sees of a fault.
func public(err error) fault.Error {
	var fe *fault.Error
	if !errors.As(err, &fe) {
		return fault.Error{Kind: fault.Internal, Code: "not a fault"}
	}
	return fault.Error{Kind: fe.Kind, Code: fe.Code, Detail: fe.Detail, Field: fe.Field, RetryAfter: fe.RetryAfter}
}
