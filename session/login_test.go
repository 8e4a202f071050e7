package session_test

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/ids"
	"github.com/tollgate/tollgate/internal/stacktest"
	"github.com/tollgate/tollgate/password"
	"github.com/tollgate/tollgate/session"
)

// world is a few users and tenants:
//   - ann owns alpha and is a member of beta and of frozen (suspended);
//   - bob owns beta and frozen; carl owns gamma; hank belongs nowhere.
type world struct {
	ann, bob, carl, hank       identity.User
	alpha, beta, gamma, frozen identity.Tenant
}

func newWorld(t *testing.T, e *env) world {
	t.Helper()
	var w world
	w.ann, w.bob, w.carl, w.hank = e.user(t, "ann@example.com"), e.user(t, "bob@example.com"), e.user(t, "carl@example.com"), e.user(t, "hank@example.com")
	w.alpha = e.tenant(t, w.ann, "alpha")
	w.beta = e.tenant(t, w.bob, "beta")
	e.join(t, w.beta, w.ann, identity.RoleMember)
	w.gamma = e.tenant(t, w.carl, "gamma")
	w.frozen = e.tenant(t, w.bob, "frozen")
	e.join(t, w.frozen, w.ann, identity.RoleMember)
	e.setTenantStatus(t, w.frozen, identity.TenantSuspended)
	return w
}

func TestLoginOpensASessionInTheChosenTenant(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	w := newWorld(t, e)
	// gina's first tenant is suspended, so a login without a tenant lands in
	// her second.
	gina := e.user(t, "gina@example.com")
	old := e.tenant(t, gina, "gina-old")
	current := e.tenant(t, gina, "gina-new")
	e.setTenantStatus(t, old, identity.TenantSuspended)

	cases := []struct {
		name       string
		email      string
		tenant     string
		who        identity.User
		wantTenant string
		wantRoles  []string
	}{
		{"no tenant asked: the first active one", "ann@example.com", "", w.ann, w.alpha.ID, []string{"owner"}},
		{"email is normalised", "  ANN@Example.COM ", "", w.ann, w.alpha.ID, []string{"owner"}},
		{"tenant by id", "ann@example.com", w.beta.ID, w.ann, w.beta.ID, []string{"member"}},
		{"tenant by slug", "ann@example.com", "beta", w.ann, w.beta.ID, []string{"member"}},
		{"first tenant suspended: the next active one", "gina@example.com", "", gina, current.ID, []string{"owner"}},
		{"no tenant at all: a tenantless session", "hank@example.com", "", w.hank, "", []string{}},
	}
	longUA := strings.Repeat("u", 300)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			tok, err := e.svc.Login(ctx, session.LoginRequest{
				Email: c.email, Password: testPassword, Tenant: c.tenant,
				Client: session.Client{IP: "192.0.2.7", UserAgent: longUA},
			})
			if err != nil {
				t.Fatal(err)
			}
			if tok.ActorID != c.who.ActorID() || tok.TenantID != c.wantTenant || !slices.Equal(tok.Roles, c.wantRoles) ||
				tok.ExpiresIn != accessTTL || !strings.HasPrefix(tok.RefreshToken, "tgr_") || !ids.Valid(tok.SessionID) {
				t.Fatalf("tokens = %+v", tok)
			}
			if got := e.outcomes.last(); got != "success" {
				t.Fatalf("outcome %q", got)
			}
			now := e.clock.Now()
			cl := e.claims(t, tok.AccessToken)
			perms, err := e.idents.RolePermissions(ctx, c.wantTenant, c.wantRoles)
			if err != nil {
				t.Fatal(err)
			}
			if cl.Subject != c.who.ActorID() || cl.SessionID != tok.SessionID || cl.TenantID != c.wantTenant ||
				!slices.Equal(cl.Roles, c.wantRoles) || cl.ActorType != identity.ActorHuman || cl.Issuer != issuer ||
				!slices.Equal(cl.Audience, []string{audience}) || !slices.Equal(cl.Scope, perms) ||
				!cl.ExpiresAt.Equal(now.Add(accessTTL)) {
				t.Fatalf("claims = %+v", cl)
			}
			s := e.session(t, tok.SessionID)
			if s.ActorID != c.who.ActorID() || s.TenantID != c.wantTenant || !s.ExpiresAt.Equal(now.Add(refreshTTL)) ||
				s.IP != "192.0.2.7" || s.UserAgent != longUA[:256] || s.RevokedAt != nil {
				t.Fatalf("session = %+v", s)
			}
		})
	}
}

func TestLoginRefusals(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	w := newWorld(t, e)
	cases := []struct {
		name   string
		req    session.LoginRequest
		kind   fault.Kind
		code   string
		hashed bool // whether a password check ran
	}{
		{"wrong password", session.LoginRequest{Email: "ann@example.com", Password: "not the password"}, fault.Unauthenticated, "invalid_credentials", true},
		{"unknown email", session.LoginRequest{Email: "nobody@example.com", Password: testPassword}, fault.Unauthenticated, "invalid_credentials", true},
		{"malformed email", session.LoginRequest{Email: "no-at-sign", Password: testPassword}, fault.Invalid, "invalid_email", false},
		{"empty password", session.LoginRequest{Email: "ann@example.com"}, fault.Invalid, "invalid_password", false},
		{"password over 1 KiB", session.LoginRequest{Email: "ann@example.com", Password: strings.Repeat("a", 1025)}, fault.Invalid, "invalid_password", false},
		{"tenant neither id nor slug", session.LoginRequest{Email: "ann@example.com", Password: testPassword, Tenant: "NOT A SLUG"}, fault.Invalid, "invalid_tenant", true},
		{"another user's tenant by id", session.LoginRequest{Email: "ann@example.com", Password: testPassword, Tenant: w.gamma.ID}, fault.Forbidden, "tenant_access_denied", true},
		{"another user's tenant by slug", session.LoginRequest{Email: "ann@example.com", Password: testPassword, Tenant: "gamma"}, fault.Forbidden, "tenant_access_denied", true},
		{"tenant id that does not exist", session.LoginRequest{Email: "ann@example.com", Password: testPassword, Tenant: ids.New()}, fault.Forbidden, "tenant_access_denied", true},
		{"tenant slug that does not exist", session.LoginRequest{Email: "ann@example.com", Password: testPassword, Tenant: "nowhere"}, fault.Forbidden, "tenant_access_denied", true},
		{"suspended tenant of the user's", session.LoginRequest{Email: "ann@example.com", Password: testPassword, Tenant: w.frozen.ID}, fault.Forbidden, "tenant_suspended", true},
		// Membership is checked first, so outsiders do not learn that a
		// tenant is suspended.
		{"suspended tenant of someone else's", session.LoginRequest{Email: "carl@example.com", Password: testPassword, Tenant: "frozen"}, fault.Forbidden, "tenant_access_denied", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e.hasher.reset()
			before := e.announced.count()
			tok, err := e.svc.Login(context.Background(), c.req)
			wantFault(t, err, c.kind, c.code)
			if tok.AccessToken != "" || tok.RefreshToken != "" || tok.SessionID != "" {
				t.Fatalf("tokens with an error: %+v", tok)
			}
			if n := e.hasher.verify.Load() + e.hasher.dummy.Load(); (n == 1) != c.hashed || n > 1 {
				t.Fatalf("%d password checks", n)
			}
			if e.announced.count() != before {
				t.Fatal("a refused login announced something")
			}
		})
	}
	// None of it changed the account: it still signs in.
	e.login(t, "ann@example.com", "")
}

// TestLoginFailuresRevealNoAccount: a wrong password, an unknown email, a
// disabled user and a user without a password get the same answer after the
// same hashing work.
func TestLoginFailuresRevealNoAccount(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.user(t, "ann@example.com")
	dave := e.user(t, "dave@example.com")
	e.setUserStatus(t, dave.ID, identity.UserDisabled)
	e.userWithHash(t, "erin@example.com", "")
	e.userWithHash(t, "frank@example.com", "not-a-hash")

	cases := []struct {
		name                string
		email, pass         string
		wantVerify, wantDum int32
	}{
		{"wrong password", "ann@example.com", "not the password", 1, 0},
		{"unknown email", "nobody@example.com", testPassword, 0, 1},
		{"disabled user with the right password", "dave@example.com", testPassword, 1, 0},
		{"user without a password", "erin@example.com", testPassword, 0, 1},
		{"stored hash this build cannot read", "frank@example.com", testPassword, 1, 0},
	}
	var first fault.Error
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e.hasher.reset()
			_, err := e.svc.Login(context.Background(), session.LoginRequest{Email: c.email, Password: c.pass})
			wantFault(t, err, fault.Unauthenticated, "invalid_credentials")
			if i == 0 {
				first = public(err)
			} else if public(err) != first {
				t.Fatalf("answer %+v differs from a wrong password's %+v", public(err), first)
			}
			if v, d := e.hasher.verify.Load(), e.hasher.dummy.Load(); v != c.wantVerify || d != c.wantDum {
				t.Fatalf("verify %d, dummy %d; want %d, %d", v, d, c.wantVerify, c.wantDum)
			}
			if got := e.outcomes.last(); got != "invalid_credentials" {
				t.Fatalf("outcome %q", got)
			}
		})
	}
	if !e.logs.has(slog.LevelError, "stored password hash is unreadable") {
		t.Fatal("an unreadable stored hash was not reported to the operator")
	}
}

// cancelBeforeHashing makes the request's context end just before the
// password check, as when the client goes away while queued for a slot.
func cancelBeforeHashing(e *env) (context.Context, func()) {
	ctx, cancel := context.WithCancel(context.Background())
	e.hasher.setBefore(func(context.Context) { cancel() })
	return ctx, func() { e.hasher.setBefore(nil); cancel() }
}

func TestLoginWhenTheHasherIsBusyAnswersHasherBusyForKnownAndUnknownAccounts(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.user(t, "ann@example.com")
	for _, email := range []string{"ann@example.com", "nobody@example.com"} {
		t.Run(email, func(t *testing.T) {
			ctx, done := cancelBeforeHashing(e)
			defer done()
			_, err := e.svc.Login(ctx, session.LoginRequest{Email: email, Password: testPassword})
			wantFault(t, err, fault.Unavailable, "hasher_busy")
			if got := e.outcomes.last(); got != "error" {
				t.Fatalf("outcome %q", got)
			}
		})
	}
}

func TestLoginWhenTheHasherIsBusyRevealsNoAccount(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.user(t, "ann@example.com")
	answer := func(email string) fault.Error {
		ctx, done := cancelBeforeHashing(e)
		defer done()
		_, err := e.svc.Login(ctx, session.LoginRequest{Email: email, Password: testPassword})
		return public(err)
	}
	if known, unknown := answer("ann@example.com"), answer("nobody@example.com"); known != unknown {
		t.Fatalf("known account: %+v; unknown: %+v", known, unknown)
	}
}

func TestLoginThrottleIsAskedPerAccountBeforeAnyPasswordCheck(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.user(t, "ann@example.com")
	e.user(t, "bob@example.com")
	ctx := context.Background()
	attempt := func(email, pass string) error {
		_, err := e.svc.Login(ctx, session.LoginRequest{Email: email, Password: pass})
		return err
	}

	// Allowed: every attempt is asked about before the password, and its
	// outcome reported after, unknown accounts counting as failures, under
	// a key that does not hold the address.
	for _, a := range []struct{ email, pass string }{
		{"ann@example.com", testPassword}, {" ANN@Example.com", "wrong password!"},
		{"bob@example.com", testPassword}, {"ghost@example.com", "wrong password!"},
	} {
		_ = attempt(a.email, a.pass)
	}
	calls := e.throttle.all()
	var whats []string
	for _, c := range calls {
		whats = append(whats, c.what)
		if strings.Contains(c.key, "example") {
			t.Fatalf("throttle asked %+v", c)
		}
	}
	if want := []string{"begin", "succeeded", "begin", "failed", "begin", "succeeded", "begin", "failed"}; !slices.Equal(whats, want) {
		t.Fatalf("throttle calls %q, want %q", whats, want)
	}
	if calls[0].key != calls[2].key || calls[0].key == calls[4].key || calls[4].key == calls[6].key {
		t.Fatalf("account keys %q", []string{calls[0].key, calls[2].key, calls[4].key, calls[6].key})
	}
	// Malformed input is refused before it is counted.
	_ = attempt("no-at-sign", testPassword)
	_ = attempt("ann@example.com", "")
	if n := len(e.throttle.all()); n != 8 {
		t.Fatalf("bad input reached the throttle: %d calls", n)
	}

	// Refused: even the right password is not checked.
	e.throttle.set(true)
	for _, email := range []string{"ann@example.com", "ghost@example.com"} {
		e.hasher.reset()
		err := attempt(email, testPassword)
		wantFault(t, err, fault.RateLimited, "quota_exceeded")
		if public(err).RetryAfter == 0 {
			t.Fatal("the throttle's Retry-After was lost")
		}
		if n := e.hasher.verify.Load() + e.hasher.dummy.Load(); n != 0 {
			t.Fatalf("%d password checks after the throttle refused", n)
		}
		if got := e.outcomes.last(); got != "rate_limited" {
			t.Fatalf("outcome %q", got)
		}
	}
	e.throttle.set(false)
	e.login(t, "ann@example.com", "")
}

func TestLoginWithoutAThrottleIsNotLimited(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(_ *env, d *session.Deps) { d.Throttle = nil })
	e.user(t, "ann@example.com")
	e.login(t, "ann@example.com", "")
	if n := len(e.throttle.all()); n != 0 {
		t.Fatalf("throttle asked %d times", n)
	}
}

func TestLoginOutcomeIsReportedForEveryAttempt(t *testing.T) {
	t.Parallel()
	failing := func(f failingAccounts) func(*env, *session.Deps) {
		return func(e *env, d *session.Deps) { f.Accounts = e.st; d.Identities = f }
	}
	cases := []struct {
		name     string
		edit     []func(*env, *session.Deps)
		email    string
		pass     string
		throttle bool
		want     string
		wantErr  error // nil: success
	}{
		{"success", nil, "ann@example.com", testPassword, false, "success", nil},
		{"wrong password", nil, "ann@example.com", "wrong password!", false, "invalid_credentials", fault.ErrUnauthenticated},
		{"throttled", nil, "ann@example.com", testPassword, true, "rate_limited", fault.ErrRateLimited},
		{"store failure reading the user", []func(*env, *session.Deps){failing(failingAccounts{failUserByEmail: true})}, "ann@example.com", testPassword, false, "error", errDisk},
		{"store failure choosing the tenant", []func(*env, *session.Deps){failing(failingAccounts{failListTenants: true})}, "ann@example.com", testPassword, false, "error", errDisk},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, c.edit...)
			e.user(t, "ann@example.com")
			e.throttle.set(c.throttle)
			_, err := e.svc.Login(context.Background(), session.LoginRequest{Email: c.email, Password: c.pass})
			if c.wantErr == nil && err != nil || c.wantErr != nil && !errors.Is(err, c.wantErr) {
				t.Fatalf("err = %v, want %v", err, c.wantErr)
			}
			if got := e.outcomes.list; len(got) != 1 || got[0] != c.want {
				t.Fatalf("outcomes %q, want [%s]", got, c.want)
			}
		})
	}
}

func TestLoginStoreFailureWhileChoosingATenantIsAnError(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(e *env, d *session.Deps) { d.Identities = failingAccounts{Accounts: e.st, failGetTenant: true} })
	w := newWorld(t, e)
	_, err := e.svc.Login(context.Background(), session.LoginRequest{Email: "ann@example.com", Password: testPassword, Tenant: w.beta.ID})
	if !errors.Is(err, errDisk) {
		t.Fatalf("err = %v, want the store's", err)
	}
}

// TestLoginRehashesOutdatedPasswords: a hash made with other parameters or
// by bcrypt is replaced by one with the current parameters once the right
// password is presented, and only then.
func TestLoginRehashesOutdatedPasswords(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	stronger := stacktest.FastParams()
	stronger.MemoryKiB = 128
	old, err := password.NewHasher(stronger, 1)
	if err != nil {
		t.Fatal(err)
	}
	argonOld, err := old.Hash(ctx, testPassword)
	if err != nil {
		t.Fatal(err)
	}
	b, err := bcrypt.GenerateFromPassword([]byte(testPassword), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name       string
		hash       func(e *env) string
		pass       string
		disabled   bool
		failWrite  bool
		wantRehash bool
	}{
		{"argon2id with other parameters", func(*env) string { return argonOld }, testPassword, false, false, true},
		{"legacy bcrypt", func(*env) string { return string(b) }, testPassword, false, false, true},
		{"current parameters", func(e *env) string { h, _ := e.hasher.inner.Hash(ctx, testPassword); return h }, testPassword, false, false, false},
		{"wrong password", func(*env) string { return argonOld }, "wrong password!", false, false, false},
		{"disabled user", func(*env) string { return string(b) }, testPassword, true, false, false},
		{"write of the new hash fails", func(*env) string { return argonOld }, testPassword, false, true, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, func(e *env, d *session.Deps) {
				d.Identities = failingAccounts{Accounts: e.st, failUpdate: c.failWrite}
			})
			stored := c.hash(e)
			u := e.userWithHash(t, "ann@example.com", stored)
			if c.disabled {
				e.setUserStatus(t, u.ID, identity.UserDisabled)
			}
			_, err := e.svc.Login(ctx, session.LoginRequest{Email: u.Email, Password: c.pass})
			if ok := c.pass == testPassword && !c.disabled; ok != (err == nil) {
				t.Fatalf("login: %v", err)
			}
			after, err := e.st.GetUser(ctx, u.ID)
			if err != nil {
				t.Fatal(err)
			}
			if changed := after.PasswordHash != stored; changed != c.wantRehash {
				t.Fatalf("hash changed: %v, want %v", changed, c.wantRehash)
			}
			if c.wantRehash {
				ok, rehash, err := e.hasher.inner.Verify(ctx, testPassword, after.PasswordHash)
				if !ok || rehash || err != nil {
					t.Fatalf("new hash: ok %v, outdated %v, %v", ok, rehash, err)
				}
				if !e.logs.has(slog.LevelInfo, "password re-hashed with current parameters") {
					t.Fatal("re-hash not logged")
				}
			}
			if c.failWrite && !e.logs.has(slog.LevelWarn, "re-hashing password failed") {
				t.Fatal("a failed re-hash was not logged")
			}
		})
	}
}

// TestLoginRehashKeepsConcurrentChangesToTheUser: an admin disabling a user
// while that user signs in with an outdated hash must stay disabled.
func TestLoginRehashKeepsConcurrentChangesToTheUser(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b, err := bcrypt.GenerateFromPassword([]byte(testPassword), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t)
	u := e.userWithHash(t, "ann@example.com", string(b))
	// The admin acts while the new hash is being computed.
	e.hasher.setBefore(func(context.Context) {
		if e.hasher.hash.Load() == 1 {
			e.setUserStatus(t, u.ID, identity.UserDisabled)
		}
	})
	if _, err := e.svc.Login(ctx, session.LoginRequest{Email: u.Email, Password: testPassword}); err != nil {
		t.Fatal(err)
	}
	after, err := e.st.GetUser(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if after.Status != identity.UserDisabled {
		t.Fatalf("status %q after a disable during sign-in", after.Status)
	}
}
