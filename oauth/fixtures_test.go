package oauth_test

import (
	"context"
	"errors"
	"net/url"
	"testing"
	"time"

	"github.com/tollgate/tollgate/apikey"
	"github.com/tollgate/tollgate/audit/audittest"
	"github.com/tollgate/tollgate/credential"
	"github.com/tollgate/tollgate/event/eventtest"
	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/internal/stacktest"
	"github.com/tollgate/tollgate/internal/testclock"
	"github.com/tollgate/tollgate/oauth"
	"github.com/tollgate/tollgate/secret"
	"github.com/tollgate/tollgate/serviceaccount"
	"github.com/tollgate/tollgate/session"
	"github.com/tollgate/tollgate/store/sqlite"
	"github.com/tollgate/tollgate/token"
)

// The endpoint is built as app.New builds it, over the embedded store, with
// the real identity service, credential resolver, service registry, API
// key service and keyring, cheap password hashing and a clock the tests
// move. Sessions live longer than the endpoint's TokenTTL, so that both
// bounds of a delegated token's lifetime can be seen.

const (
	testPassword = stacktest.Password
	issuer       = stacktest.Issuer
	audience     = stacktest.Audience
	accessTTL    = stacktest.AccessTTL // sessions' access tokens
	tokenTTL     = 10 * time.Minute    // the endpoint's TokenTTL
	keyCacheTTL  = time.Minute
)

type env struct {
	stack     *stacktest.Stack
	st        *sqlite.Store
	clock     *testclock.Clock
	announced *eventtest.Recorder
	idents    *identity.Service
	keys      *token.Keyring
	revoked   *credential.Revocations
	sessions  *session.Service
	apikeys   *apikey.Service
	services  *serviceaccount.Registry
	r         *credential.Resolver
	verifier  *token.Verifier
	ep        *oauth.Endpoint
	// rec receives the endpoint's audit events (audit_test.go).
	rec *audittest.Queue
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	s := stacktest.New(t)
	e := &env{stack: s, st: s.Store, clock: s.Clock, announced: s.Events, idents: s.Identity, keys: s.Keys, revoked: s.Revocations,
		sessions: s.Sessions, rec: &audittest.Queue{}}
	notify := e.announced.Notify
	e.verifier = token.NewVerifier(e.keys, token.VerifierOptions{Issuer: issuer, Audience: audience})
	e.r = credential.NewResolver(credential.Deps{
		Verifier: e.verifier, Revoked: e.revoked, RolePermissions: e.idents.RolePermissions,
		Keys: e.st, Rights: e.idents, Services: e.st, Blocks: e.st, Now: e.clock.Now,
	}, credential.Options{KeyCacheTTL: keyCacheTTL})
	if err := e.r.SyncBlocks(ctx); err != nil {
		t.Fatal(err)
	}
	e.apikeys = apikey.NewService(apikey.Deps{Store: e.st, Rights: e.idents, Services: e.st, Notify: notify, Now: e.clock.Now}, apikey.Options{})
	e.services = serviceaccount.NewRegistry(serviceaccount.Deps{Store: e.st, Admins: e.idents, Notify: notify, Now: e.clock.Now}, serviceaccount.Options{})
	e.ep = oauth.NewEndpoint(oauth.Deps{Resolver: e.r, Clients: e.services, Agents: e.idents, Signer: e.keys, Now: e.clock.Now, Audit: e.rec},
		oauth.Options{Issuer: issuer, Audience: audience, TokenTTL: tokenTTL})
	return e
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

// sessionOf is the ActorContext of u's session in tenantID, enough for the
// services' rules.
func sessionOf(u identity.User, tenantID string) identity.ActorContext {
	return identity.ActorContext{ActorID: u.ActorID(), ActorType: identity.ActorHuman, TenantID: tenantID, Credential: identity.CredentialSession}
}

// login signs u in to tenant (a slug; "" is the user's first tenant).
func (e *env) login(t *testing.T, u identity.User, tenant string) session.Tokens {
	t.Helper()
	tok, err := e.sessions.Login(context.Background(), session.LoginRequest{Email: u.Email, Password: testPassword, Tenant: tenant})
	if err != nil {
		t.Fatal(err)
	}
	return tok
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

// agentKey gives ag an API key with scopes, made by its owner in their
// session; expires nil never expires.
func (e *env) agentKey(t *testing.T, owner identity.User, ag identity.Agent, expires *time.Time, scopes ...string) (apikey.Key, string) {
	t.Helper()
	k, raw, err := e.apikeys.Create(context.Background(), sessionOf(owner, ag.TenantID), apikey.NewKey{
		Name: "k", TenantID: ag.TenantID, ActorID: ag.ActorID(), Scopes: scopes, ExpiresAt: expires,
	})
	if err != nil {
		t.Fatal(err)
	}
	return k, raw
}

// ownKey gives u an API key of their own in tn.
func (e *env) ownKey(t *testing.T, u identity.User, tn identity.Tenant, scopes ...string) (apikey.Key, string) {
	t.Helper()
	k, raw, err := e.apikeys.Create(context.Background(), sessionOf(u, tn.ID), apikey.NewKey{Name: "own", TenantID: tn.ID, Scopes: scopes})
	if err != nil {
		t.Fatal(err)
	}
	return k, raw
}

// service registers a service, by the platform admin root.
func (e *env) service(t *testing.T, root identity.User, name string, scopes ...string) (serviceaccount.Service, string) {
	t.Helper()
	svc, raw, err := e.services.Register(context.Background(), sessionOf(root, ""), serviceaccount.NewService{Name: name, Scopes: scopes, Tenants: []string{identity.Everything}})
	if err != nil {
		t.Fatal(err)
	}
	return svc, raw
}

// secretID is the id a client secret or API key carries.
func secretID(t *testing.T, raw, prefix string) string {
	t.Helper()
	p, err := secret.Parse(raw, prefix, "secret")
	if err != nil {
		t.Fatal(err)
	}
	return p.ID
}

// world is the people, tenants and agents the tests use:
//   - ann owns alpha, where dave is an admin and carl a member;
//   - carl owns beta; bob owns gamma; erin belongs to no tenant;
//   - root is a platform admin, in no tenant;
//   - annBot is ann's agent in alpha, carlBot carl's in alpha, carlBeta
//     carl's in beta.
type world struct {
	ann, bob, carl, dave, erin, root identity.User
	alpha, beta, gamma               identity.Tenant
	annBot, carlBot, carlBeta        identity.Agent
}

func newWorld(t *testing.T, e *env) world {
	t.Helper()
	var w world
	w.ann, w.bob = e.user(t, "ann@example.com", false), e.user(t, "bob@example.com", false)
	w.carl, w.dave = e.user(t, "carl@example.com", false), e.user(t, "dave@example.com", false)
	w.erin, w.root = e.user(t, "erin@example.com", false), e.user(t, "root@example.com", true)
	w.alpha = e.tenant(t, w.ann, "alpha")
	e.join(t, w.alpha, w.dave, identity.RoleAdmin)
	e.join(t, w.alpha, w.carl, identity.RoleMember)
	w.beta = e.tenant(t, w.carl, "beta")
	w.gamma = e.tenant(t, w.bob, "gamma")
	w.annBot = e.agent(t, w.ann, w.alpha, "ann-bot")
	w.carlBot = e.agent(t, w.carl, w.alpha, "carl-bot")
	w.carlBeta = e.agent(t, w.carl, w.beta, "carl-beta")
	return w
}

// token runs a token request from its form and Basic credentials, as the
// HTTP handler does.
func (e *env) token(form url.Values, b basic) (oauth.Response, error) {
	r, err := oauth.ParseRequest(form, b.user, b.pass, b.ok)
	if err != nil {
		return oauth.Response{}, err
	}
	return e.ep.Token(context.Background(), r)
}

// mustToken fails the test unless the request succeeds.
func (e *env) mustToken(t *testing.T, form url.Values, b basic) oauth.Response {
	t.Helper()
	resp, err := e.token(form, b)
	if err != nil {
		t.Fatalf("token request refused: %v", err)
	}
	return resp
}

// claims verifies an issued token with a verifier of its own.
func (e *env) claims(t *testing.T, raw string) *token.Claims {
	t.Helper()
	v := token.NewVerifier(e.keys, token.VerifierOptions{Issuer: issuer, Audience: audience, CacheSize: -1})
	c, err := v.Verify(raw)
	if err != nil {
		t.Fatalf("the issued token does not verify: %v", err)
	}
	return c
}

// wantOAuthError fails unless err is an *oauth.Error of code and status,
// asking for a Basic challenge or not.
// refusal is a token request the endpoint must refuse with an OAuth
// error: its code, HTTP status and whether it asks for a Basic challenge.
type refusal struct {
	name      string
	form      url.Values
	basic     basic
	code      string
	status    int
	challenge bool
}

// wantRefused sends each request and fails unless it is refused as its
// case says, with no token.
func (e *env) wantRefused(t *testing.T, cases []refusal) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, err := e.token(c.form, c.basic)
			wantOAuthError(t, err, c.code, c.status, c.challenge)
			if resp.AccessToken != "" {
				t.Fatalf("a token with the error: %+v", resp)
			}
		})
	}
}

func wantOAuthError(t *testing.T, err error, code string, status int, challenge bool) {
	t.Helper()
	var oe *oauth.Error
	if !errors.As(err, &oe) {
		t.Fatalf("error %v, want *oauth.Error %s", err, code)
	}
	if oe.Code != code || oe.Status != status || oe.Basic != challenge {
		t.Fatalf("got %s %d basic=%v (%q), want %s %d basic=%v", oe.Code, oe.Status, oe.Basic, oe.Description, code, status, challenge)
	}
}

// ccPost is a client credentials request with the client in the form.
func ccPost(clientID, clientSecret string, kv ...string) url.Values {
	return ccForm(append([]string{"client_id", clientID, "client_secret", clientSecret}, kv...)...)
}

// exchange is a token exchange request of subject to the agent of actor.
func exchange(subject, actor string, kv ...string) url.Values {
	return exchangeForm(append([]string{"subject_token", subject, "actor_token", actor}, kv...)...)
}
