// Package stacktest assembles Tollgate's domain services over a migrated
// embedded store, wired as app.New wires them, for the tests of domain
// packages that need several of them at once: password hashing cheap
// enough for tests, a clock the test moves, and an event recorder where a
// replica has its bus.
package stacktest

import (
	"context"
	"crypto/rand"
	"testing"
	"time"

	"github.com/tollgate/tollgate/apikey"
	"github.com/tollgate/tollgate/credential"
	"github.com/tollgate/tollgate/event/eventtest"
	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/internal/testclock"
	"github.com/tollgate/tollgate/password"
	"github.com/tollgate/tollgate/policy"
	"github.com/tollgate/tollgate/serviceaccount"
	"github.com/tollgate/tollgate/session"
	"github.com/tollgate/tollgate/store/sqlite"
	"github.com/tollgate/tollgate/store/sqlite/sqlitetest"
	"github.com/tollgate/tollgate/token"
)

// What the stack's tokens carry and how long they live.
const (
	Issuer     = "https://tollgate.test"
	Audience   = "tollgate"
	AccessTTL  = 15 * time.Minute
	RefreshTTL = 24 * time.Hour
)

// Stack is the services of one replica over one store.
type Stack struct {
	Store       *sqlite.Store
	Clock       *testclock.Clock
	Events      *eventtest.Recorder
	Identity    *identity.Service
	Hasher      *password.Hasher
	Keys        *token.Keyring
	Revocations *credential.Revocations
	Sessions    *session.Service
	APIKeys     *apikey.Service
	Services    *serviceaccount.Registry

	passwordHash string
}

// FastParams are argon2id parameters that cost microseconds: tests check
// rules, not the hash's strength.
func FastParams() password.Params {
	p := password.DefaultParams()
	p.MemoryKiB, p.Iterations, p.Parallelism = 64, 1, 1
	return p
}

// New builds a Stack on a fresh store in t's temporary directory, its clock
// at the current second.
func New(t testing.TB) *Stack {
	t.Helper()
	ctx := context.Background()
	s := &Stack{Store: sqlitetest.Open(t), Clock: testclock.New(time.Now().UTC().Truncate(time.Second)), Events: &eventtest.Recorder{}}
	notify := s.Events.Notify
	s.Identity = identity.NewService(identity.Deps{Store: s.Store, Notify: notify, Now: s.Clock.Now}, identity.Options{})
	var err error
	if s.Hasher, err = password.NewHasher(FastParams(), 2); err != nil {
		t.Fatal(err)
	}
	s.Keys = NewKeyring(t, s.Store, s.Clock)
	s.Revocations = credential.NewRevocations(s.Store, AccessTTL, token.DefaultLeeway, s.Clock.Now)
	if err := s.Revocations.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	s.Sessions = session.NewService(session.Deps{
		Sessions: s.Store, Identities: s.Store, Roles: s.Identity, Hasher: s.Hasher, Keys: s.Keys,
		Revocations: s.Revocations, Now: s.Clock.Now, Notify: notify,
	}, session.Options{Issuer: Issuer, Audience: Audience, AccessTTL: AccessTTL, RefreshTTL: RefreshTTL})
	s.APIKeys = apikey.NewService(apikey.Deps{Store: s.Store, Rights: s.Identity, Services: s.Store, Notify: notify, Now: s.Clock.Now}, apikey.Options{})
	s.Services = serviceaccount.NewRegistry(serviceaccount.Deps{Store: s.Store, Admins: s.Identity, KnownResourceType: policy.KnownResourceType,
		Notify: notify, Now: s.Clock.Now}, serviceaccount.Options{})
	return s
}

// NewKeyring is a loaded signing keyring over st, sealed with a random
// master key, on clock.
func NewKeyring(t testing.TB, st token.KeyStore, clock *testclock.Clock) *token.Keyring {
	t.Helper()
	mk := make([]byte, 32)
	_, _ = rand.Read(mk)
	sealer, err := token.NewSealer(mk)
	if err != nil {
		t.Fatal(err)
	}
	kr := token.NewKeyring(st, sealer, token.KeyringOptions{TokenTTL: AccessTTL, Now: clock.Now})
	if err := kr.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	return kr
}

// Password is the password of every user User creates.
const Password = "correct horse battery staple"

// User creates an active user whose password is Password.
func (s *Stack) User(t testing.TB, email string, platformAdmin bool) identity.User {
	t.Helper()
	if s.passwordHash == "" {
		h, err := s.Hasher.Hash(context.Background(), Password)
		if err != nil {
			t.Fatal(err)
		}
		s.passwordHash = h
	}
	u, err := s.Identity.CreateUser(context.Background(), identity.NewUser{Email: email, PasswordHash: s.passwordHash, PlatformAdmin: platformAdmin})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// Tenant creates a tenant owned by owner.
func (s *Stack) Tenant(t testing.TB, owner identity.User, slug string) identity.Tenant {
	t.Helper()
	tn, err := s.Identity.CreateTenant(context.Background(), owner.ActorID(), identity.NewTenant{Slug: slug})
	if err != nil {
		t.Fatal(err)
	}
	return tn
}

// Join makes u a member of tn with roles, straight in the store: the rules
// of who may add whom are not what these tests are about.
func (s *Stack) Join(t testing.TB, tn identity.Tenant, u identity.User, roles ...string) {
	t.Helper()
	now := s.Clock.Now()
	if err := s.Store.AddMember(context.Background(), identity.Membership{
		TenantID: tn.ID, ActorID: u.ActorID(), Roles: roles, CreatedAt: now, UpdatedAt: now,
	}); err != nil {
		t.Fatal(err)
	}
}
