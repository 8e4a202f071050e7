package credential_test

import (
	"context"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tollgate/tollgate/apikey"
	"github.com/tollgate/tollgate/event"
	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/ids"
	"github.com/tollgate/tollgate/secret"
	"github.com/tollgate/tollgate/serviceaccount"
	"github.com/tollgate/tollgate/session"
	"github.com/tollgate/tollgate/token"
)

// sameActor compares ActorContexts, their expiry by instant.
func sameActor(t *testing.T, got, want identity.ActorContext) {
	t.Helper()
	if !got.ExpiresAt.Equal(want.ExpiresAt) {
		t.Fatalf("expires at %v, want %v", got.ExpiresAt, want.ExpiresAt)
	}
	got.ExpiresAt, want.ExpiresAt = time.Time{}, time.Time{}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("actor\n got %+v\nwant %+v", got, want)
	}
}

func TestResolveAccessTokens(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	w := newWorld(t, e)
	ctx := context.Background()
	ann := e.login(t, w.ann, "")
	hank := e.user(t, "hank@example.com", false)
	tenantless := e.login(t, hank, "")
	carl := e.login(t, w.carl, w.alpha.ID)
	ag := e.agent(t, w.carl, w.alpha, "helper")
	ownerPerms, err := e.idents.RolePermissions(ctx, w.alpha.ID, []string{"owner"})
	if err != nil {
		t.Fatal(err)
	}
	exp := e.clock.Now().Add(accessTTL)
	secretID, keyID := ids.New(), ids.New()
	e.service(t, w.root, "gateway", "authz:check")

	cases := []struct {
		name string
		raw  string
		want identity.ActorContext
	}{
		{"session token", ann.AccessToken, identity.ActorContext{
			ActorID: w.ann.ActorID(), ActorType: identity.ActorHuman, TenantID: w.alpha.ID, Roles: []string{"owner"},
			Permissions: ownerPerms, Credential: identity.CredentialSession, SessionID: ann.SessionID, ExpiresAt: exp,
			AMR: []string{"pwd"},
		}},
		{"tenantless session token", tenantless.AccessToken, identity.ActorContext{
			ActorID: hank.ActorID(), ActorType: identity.ActorHuman, Roles: []string{}, Permissions: []string{},
			Credential: identity.CredentialSession, SessionID: tenantless.SessionID, ExpiresAt: exp, AMR: []string{"pwd"},
		}},
		{"service token", e.sign(t, token.Claims{
			Subject: "service:gateway", ActorType: identity.ActorService, SessionID: secretID, Scope: []string{"authz:check"},
		}), identity.ActorContext{
			ActorID: "service:gateway", ActorType: identity.ActorService, Roles: []string{}, Permissions: []string{"authz:check"},
			Scopes: []string{"authz:check"}, Credential: identity.CredentialClientCredentials, CredentialID: secretID, ExpiresAt: exp,
			Tenants: []string{"*"}, ResourceTypes: []string{"*"},
		}},
		{"delegated token", e.sign(t, token.Claims{
			Subject: w.carl.ActorID(), ActorType: identity.ActorAgent, TenantID: w.alpha.ID, Roles: []string{"member"},
			SessionID: carl.SessionID, CredentialID: keyID, Act: &token.Actor{Subject: ag.ActorID(), Owner: w.carl.ActorID()},
			Scope: []string{"tenant:read"},
		}), identity.ActorContext{
			ActorID: ag.ActorID(), ActorType: identity.ActorAgent, TenantID: w.alpha.ID, Roles: []string{"member"},
			Permissions: []string{"tenant:read"}, Scopes: []string{"tenant:read"}, Credential: identity.CredentialDelegation,
			CredentialID: keyID, SessionID: carl.SessionID, OnBehalfOf: w.carl.ActorID(), ExpiresAt: exp,
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sameActor(t, e.mustResolve(t, c.raw), c.want)
			if got := e.rejected.take(); len(got) != 0 {
				t.Fatalf("rejections %v for a good token", got)
			}
		})
	}
}

// tamper changes one character of a JWT's payload, keeping its shape.
func tamper(jwt string) string {
	b := []byte(jwt)
	i := strings.IndexByte(jwt, '.') + 5
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}

func TestResolveRefusesInvalidAccessTokens(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	w := newWorld(t, e)
	tok := e.login(t, w.ann, "")
	// A token signed by a key this replica does not publish: another
	// installation's.
	foreign := newEnv(t).sign(t, token.Claims{Subject: w.ann.ActorID(), ActorType: identity.ActorHuman})
	cases := []struct{ name, raw string }{
		{"empty", ""},
		{"garbage", "not a token"},
		{"tampered payload", tamper(tok.AccessToken)},
		{"wrong audience", e.sign(t, token.Claims{Subject: w.ann.ActorID(), ActorType: identity.ActorHuman, Audience: []string{"billing"}})},
		{"wrong issuer", e.sign(t, token.Claims{Subject: w.ann.ActorID(), ActorType: identity.ActorHuman, Issuer: "https://evil.example"})},
		{"another installation's key", foreign},
		{"a refresh token", tok.RefreshToken},
		{"an API key without the key prefix", "tx_live_" + ids.New() + "_" + strings.Repeat("a", 49)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e.wantRefused(t, c.raw, fault.Unauthenticated, "invalid_token")
		})
	}
	e.mustResolve(t, tok.AccessToken)
}

func TestResolveRefusesExpiredAccessTokens(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	w := newWorld(t, e)
	tok := e.login(t, w.ann, "")
	short := e.sign(t, token.Claims{Subject: w.bob.ActorID(), ActorType: identity.ActorHuman, ExpiresAt: e.clock.Now().Add(time.Minute)})
	for _, raw := range []string{tok.AccessToken, short} {
		e.mustResolve(t, raw) // and into the verifier's cache
	}
	// One minute of clock skew is allowed past exp.
	e.clock.Advance(time.Minute + token.DefaultLeeway)
	e.wantRefused(t, short, fault.Unauthenticated, "invalid_token")
	e.mustResolve(t, tok.AccessToken)
	e.clock.Advance(accessTTL)
	e.wantRefused(t, tok.AccessToken, fault.Unauthenticated, "invalid_token")
}

// TestResolveRefusesTokensOfRevokedSessions: however this replica learns of
// a revoked session, its tokens stop, and nobody else's.
func TestResolveRefusesTokensOfRevokedSessions(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	w := newWorld(t, e)
	ctx := context.Background()
	cases := []struct {
		name   string
		revoke func(t *testing.T, tok session.Tokens)
	}{
		{"logged out here", func(t *testing.T, tok session.Tokens) {
			ac := sessionOf(w.ann, tok.TenantID)
			ac.SessionID = tok.SessionID
			if err := e.sessions.Logout(ctx, ac, false); err != nil {
				t.Fatal(err)
			}
		}},
		{"revoked by another process, learned by Sync", func(t *testing.T, tok session.Tokens) {
			if err := e.st.RevokeSession(ctx, tok.SessionID, "admin", e.clock.Now()); err != nil {
				t.Fatal(err)
			}
			// Not known here until the next sync.
			e.mustResolve(t, tok.AccessToken)
			if err := e.revoked.Sync(ctx); err != nil {
				t.Fatal(err)
			}
		}},
		{"revoked on another replica, learned by its event", func(t *testing.T, tok session.Tokens) {
			e.r.Apply(event.Event{Kind: event.KindCredentialRevoked, ID: tok.SessionID, At: e.clock.Now()})
		}},
	}
	bystanders := []session.Tokens{e.login(t, w.ann, ""), e.login(t, w.bob, "")}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tok := e.login(t, w.ann, "")
			e.mustResolve(t, tok.AccessToken)
			c.revoke(t, tok)
			e.wantRefused(t, tok.AccessToken, fault.Unauthenticated, "token_revoked")
			for _, b := range bystanders {
				e.mustResolve(t, b.AccessToken)
			}
		})
	}
}

// TestResolveRefusesDelegatedTokensWhenTheirKeyOrSessionEnds: a delegated
// token stops with the agent's key and with the session of the person it
// acts for.
func TestResolveRefusesDelegatedTokensWhenTheirKeyOrSessionEnds(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	w := newWorld(t, e)
	ctx := context.Background()
	ag := e.agent(t, w.carl, w.alpha, "helper")
	cases := []struct {
		name string
		end  func(t *testing.T, k apikey.Key, carl session.Tokens)
		// sessionLives: the person's own session goes on.
		sessionLives bool
	}{
		{"the agent's key revoked", func(t *testing.T, k apikey.Key, _ session.Tokens) {
			if err := e.apikeys.Revoke(ctx, sessionOf(w.carl, w.alpha.ID), k.ID); err != nil {
				t.Fatal(err)
			}
		}, true},
		{"the person signed out", func(t *testing.T, _ apikey.Key, carl session.Tokens) {
			ac := sessionOf(w.carl, w.alpha.ID)
			ac.SessionID = carl.SessionID
			if err := e.sessions.Logout(ctx, ac, false); err != nil {
				t.Fatal(err)
			}
		}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			carl := e.login(t, w.carl, w.alpha.ID)
			k, _ := e.key(t, sessionOf(w.carl, w.alpha.ID), apikey.NewKey{ActorID: ag.ActorID(), Scopes: []string{"tenant:read"}})
			delegated := e.sign(t, token.Claims{
				Subject: w.carl.ActorID(), ActorType: identity.ActorAgent, TenantID: w.alpha.ID, SessionID: carl.SessionID,
				CredentialID: k.ID, Act: &token.Actor{Subject: ag.ActorID(), Owner: w.carl.ActorID()}, Scope: []string{"tenant:read"},
			})
			e.mustResolve(t, delegated)
			c.end(t, k, carl)
			e.deliver()
			e.wantRefused(t, delegated, fault.Unauthenticated, "token_revoked")
			if c.sessionLives {
				e.mustResolve(t, carl.AccessToken)
			}
		})
	}
}

func TestResolveAPIKeys(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	w := newWorld(t, e)
	ann, carl, root := sessionOf(w.ann, w.alpha.ID), sessionOf(w.carl, w.alpha.ID), sessionOf(w.root, w.alpha.ID)
	until := e.clock.Now().Add(24 * time.Hour)
	human, humanRaw := e.key(t, ann, apikey.NewKey{Scopes: []string{"tenant:read", "members:write"}})
	expiring, expiringRaw := e.key(t, ann, apikey.NewKey{Scopes: []string{"tenant:read"}, ExpiresAt: &until})
	ag := e.agent(t, w.carl, w.alpha, "helper")
	agentKey, agentRaw := e.key(t, carl, apikey.NewKey{ActorID: ag.ActorID(), Scopes: []string{"agents:read", "tenant:read"}})
	svc, _ := e.service(t, w.root, "gateway", "authz:check")
	svcKey, svcRaw := e.key(t, root, apikey.NewKey{ActorID: svc.ActorID(), Scopes: []string{"members:write", "tenant:read"}})
	limited, limitedRaw := e.key(t, root, apikey.NewKey{Scopes: []string{"tenant:read"}, RateLimit: "100/1m"})
	if limited.RateLimit == "" {
		t.Fatal("the key has no rate limit")
	}
	cases := []struct {
		name string
		raw  string
		want identity.ActorContext
	}{
		{"a human's", humanRaw, identity.ActorContext{
			ActorID: w.ann.ActorID(), ActorType: identity.ActorHuman, TenantID: w.alpha.ID, Roles: []string{},
			Permissions: []string{"members:write", "tenant:read"}, Scopes: []string{"members:write", "tenant:read"},
			Credential: identity.CredentialAPIKey, CredentialID: human.ID,
		}},
		{"with an expiry", expiringRaw, identity.ActorContext{
			ActorID: w.ann.ActorID(), ActorType: identity.ActorHuman, TenantID: w.alpha.ID, Roles: []string{},
			Permissions: []string{"tenant:read"}, Scopes: []string{"tenant:read"},
			Credential: identity.CredentialAPIKey, CredentialID: expiring.ID, ExpiresAt: until,
		}},
		{"an agent's", agentRaw, identity.ActorContext{
			ActorID: ag.ActorID(), ActorType: identity.ActorAgent, TenantID: w.alpha.ID, Roles: []string{},
			Permissions: []string{"agents:read", "tenant:read"}, Scopes: []string{"agents:read", "tenant:read"},
			Credential: identity.CredentialAPIKey, CredentialID: agentKey.ID,
		}},
		// A service may do in a tenant exactly what its key says.
		{"a service's", svcRaw, identity.ActorContext{
			ActorID: svc.ActorID(), ActorType: identity.ActorService, TenantID: w.alpha.ID, Roles: []string{},
			Permissions: []string{"members:write", "tenant:read"}, Scopes: []string{"members:write", "tenant:read"},
			Credential: identity.CredentialAPIKey, CredentialID: svcKey.ID,
		}},
		{"with its own rate limit", limitedRaw, identity.ActorContext{
			ActorID: w.root.ActorID(), ActorType: identity.ActorHuman, TenantID: w.alpha.ID, Roles: []string{},
			Permissions: []string{"tenant:read"}, Scopes: []string{"tenant:read"},
			Credential: identity.CredentialAPIKey, CredentialID: limited.ID, RateLimit: limited.RateLimit,
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sameActor(t, e.mustResolve(t, c.raw), c.want)
			if got := e.rejected.take(); len(got) != 0 {
				t.Fatalf("rejections %v for a good key", got)
			}
		})
	}
}

// TestResolveRefusesBadAPIKeys: a malformed key is refused without a store
// read; a well-formed one that opens nothing after one; and a key refused
// for its record or its holder is not read again while cached.
func TestResolveRefusesBadAPIKeys(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	w := newWorld(t, e)
	ctx := context.Background()
	ann, carl := sessionOf(w.ann, w.alpha.ID), sessionOf(w.carl, w.alpha.ID)
	good, raw := e.key(t, ann, apikey.NewKey{Scopes: []string{"tenant:read"}})
	forged, _ := secret.Generate(secret.KeyPrefix, secret.EnvLive, ids.New())
	otherSecret, _ := secret.Generate(secret.KeyPrefix, secret.EnvLive, good.ID)
	lastChanged := []byte(raw)
	lastChanged[len(lastChanged)-1] = map[bool]byte{true: '0', false: '1'}[lastChanged[len(lastChanged)-1] != '0']
	body, tail := raw[:strings.LastIndexByte(raw, '_')+1], []byte(raw[strings.LastIndexByte(raw, '_')+1:])
	for i, c := range tail {
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' {
			tail[i] ^= 0x20
			break
		}
	}

	revoked, revokedRaw := e.key(t, ann, apikey.NewKey{})
	if err := e.st.RevokeAPIKey(ctx, revoked.ID, e.clock.Now()); err != nil {
		t.Fatal(err)
	}
	past := e.clock.Now().Add(-time.Hour)
	expiredID := ids.New()
	expiredRaw, hash := secret.Generate(secret.KeyPrefix, secret.EnvLive, expiredID)
	if err := e.st.CreateAPIKey(ctx, apikey.Key{
		ID: expiredID, TenantID: w.alpha.ID, ActorID: w.ann.ActorID(), CreatedBy: w.ann.ActorID(), Name: "expired",
		Scopes: []string{"tenant:read"}, Hash: hash, ExpiresAt: &past, CreatedAt: past.Add(-time.Hour),
	}); err != nil {
		t.Fatal(err)
	}
	_, leftRaw := e.key(t, carl, apikey.NewKey{Scopes: []string{"tenant:read"}})
	if err := e.st.RemoveMember(ctx, w.alpha.ID, w.carl.ActorID()); err != nil {
		t.Fatal(err)
	}
	ag := e.agent(t, w.ann, w.alpha, "sleeper")
	_, agentRaw := e.key(t, ann, apikey.NewKey{ActorID: ag.ActorID(), Scopes: []string{"tenant:read"}})
	ag.Status = identity.AgentDisabled
	if err := e.st.UpdateAgent(ctx, ag); err != nil {
		t.Fatal(err)
	}
	svc, _ := e.service(t, w.root, "gateway")
	_, svcRaw := e.key(t, sessionOf(w.root, ""), apikey.NewKey{TenantID: w.alpha.ID, ActorID: svc.ActorID(), Scopes: []string{"tenant:read"}})
	svc.Status = "disabled"
	if err := e.st.UpdateService(ctx, svc); err != nil {
		t.Fatal(err)
	}
	// olga's agent's key, olga disabled since.
	olga := e.user(t, "olga@example.com", false)
	e.join(t, w.alpha, olga, identity.RoleMember)
	orphan := e.agent(t, olga, w.alpha, "orphan")
	_, orphanRaw := e.key(t, sessionOf(olga, w.alpha.ID), apikey.NewKey{ActorID: orphan.ActorID(), Scopes: []string{"tenant:read"}})
	e.setUserStatus(t, olga, identity.UserDisabled)
	e.announced.Take()

	cases := []struct {
		name  string
		raw   string
		kind  fault.Kind
		code  string
		reads int32 // store reads over two attempts
	}{
		{"wrong checksum", string(lastChanged), fault.Unauthenticated, "invalid_api_key", 0},
		{"truncated", raw[:len(raw)-1], fault.Unauthenticated, "invalid_api_key", 0},
		{"extended", raw + "0", fault.Unauthenticated, "invalid_api_key", 0},
		{"changed case", body + string(tail), fault.Unauthenticated, "invalid_api_key", 0},
		{"other environment", strings.Replace(raw, "tg_live_", "tg_test_", 1), fault.Unauthenticated, "invalid_api_key", 0},
		{"bare prefix", "tg_", fault.Unauthenticated, "invalid_api_key", 0},
		{"overlong", raw + strings.Repeat("0", 200), fault.Unauthenticated, "invalid_api_key", 0},
		{"another key's id", strings.Replace(raw, good.ID, revoked.ID, 1), fault.Unauthenticated, "invalid_api_key", 0},
		// Unknown ids are not cached: each attempt reads.
		{"unknown id with a valid checksum", forged, fault.Unauthenticated, "invalid_api_key", 2},
		{"another secret for the key's id", otherSecret, fault.Unauthenticated, "invalid_api_key", 1},
		{"revoked", revokedRaw, fault.Unauthenticated, "api_key_revoked", 1},
		{"expired", expiredRaw, fault.Unauthenticated, "api_key_expired", 1},
		{"holder no longer in the tenant", leftRaw, fault.Unauthenticated, "api_key_holder_inactive", 1},
		{"agent disabled", agentRaw, fault.Unauthenticated, "api_key_holder_inactive", 1},
		{"agent's owner disabled", orphanRaw, fault.Unauthenticated, "api_key_holder_inactive", 1},
		{"service disabled", svcRaw, fault.Unauthenticated, "actor_disabled", 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e.keyStore.gets.Store(0)
			for range 2 {
				e.wantRefused(t, c.raw, c.kind, c.code)
			}
			if n := e.keyStore.gets.Load(); n != c.reads {
				t.Fatalf("%d store reads, want %d", n, c.reads)
			}
		})
	}
	// None of it disturbed the good key.
	e.mustResolve(t, raw)
}

func TestResolveAPIKeyOfAnUnknownServiceIsRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	w := newWorld(t, e)
	id := ids.New()
	raw, hash := secret.Generate(secret.KeyPrefix, secret.EnvLive, id)
	now := e.clock.Now()
	if err := e.st.CreateAPIKey(context.Background(), apikey.Key{
		ID: id, TenantID: w.alpha.ID, ActorID: "service:ghost", CreatedBy: w.root.ActorID(), Name: "ghost",
		Scopes: []string{"tenant:read"}, Hash: hash, CreatedAt: now,
	}); err != nil {
		t.Fatal(err)
	}
	e.wantRefused(t, raw, fault.Unauthenticated, "actor_disabled")
}

// TestAnAPIKeyExpiresWhileCached: expiry is checked on every use, not only
// when the record is read.
func TestAnAPIKeyExpiresWhileCached(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	w := newWorld(t, e)
	until := e.clock.Now().Add(keyCacheTTL / 2)
	_, raw := e.key(t, sessionOf(w.ann, w.alpha.ID), apikey.NewKey{ExpiresAt: &until})
	e.mustResolve(t, raw)
	e.clock.Advance(keyCacheTTL / 2)
	e.wantRefused(t, raw, fault.Unauthenticated, "api_key_expired")
	if n := e.keyStore.gets.Load(); n != 1 {
		t.Fatalf("%d store reads, want 1", n)
	}
}

func TestRevokingAnAPIKeyTakesEffectWhenItsEventIsApplied(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	w := newWorld(t, e)
	ann := sessionOf(w.ann, w.alpha.ID)
	k, raw := e.key(t, ann, apikey.NewKey{})
	_, bobs := e.key(t, sessionOf(w.bob, w.gamma.ID), apikey.NewKey{})
	e.mustResolve(t, raw)
	e.mustResolve(t, bobs)

	if err := e.apikeys.Revoke(context.Background(), ann, k.ID); err != nil {
		t.Fatal(err)
	}
	// Until the event arrives, the cache answers.
	e.mustResolve(t, raw)
	e.deliver()
	e.wantRefused(t, raw, fault.Unauthenticated, "api_key_revoked")
	e.mustResolve(t, bobs)

	// A revocation known only from another replica's event applies too.
	k2, raw2 := e.key(t, ann, apikey.NewKey{})
	e.mustResolve(t, raw2)
	e.r.Apply(event.Event{Kind: event.KindCredentialRevoked, ID: k2.ID, At: e.clock.Now()})
	e.wantRefused(t, raw2, fault.Unauthenticated, "api_key_revoked")
}

// TestKeyCacheTTLBoundsHowLongAnUnannouncedChangeGoesUnseen: a change made
// without an event (another process, a lost event) is seen once the cached
// record expires.
func TestKeyCacheTTLBoundsHowLongAnUnannouncedChangeGoesUnseen(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	w := newWorld(t, e)
	k, raw := e.key(t, sessionOf(w.ann, w.alpha.ID), apikey.NewKey{})
	e.mustResolve(t, raw)
	if err := e.st.RevokeAPIKey(context.Background(), k.ID, e.clock.Now()); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(keyCacheTTL - time.Second)
	e.mustResolve(t, raw)
	e.clock.Advance(time.Second)
	e.wantRefused(t, raw, fault.Unauthenticated, "api_key_revoked")
}

// TestKeyCacheInvalidationByEvents: events about a key or about anyone's
// rights drop cached keys; other events leave them.
func TestKeyCacheInvalidationByEvents(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	w := newWorld(t, e)
	k, raw := e.key(t, sessionOf(w.ann, w.alpha.ID), apikey.NewKey{Scopes: []string{"tenant:read"}})
	other := ids.New()
	cases := []struct {
		name   string
		ev     event.Event
		reread bool
	}{
		{"this key changed", event.Event{Kind: event.KindCredentialChanged, ID: k.ID}, true},
		{"another key changed", event.Event{Kind: event.KindCredentialChanged, ID: other}, false},
		{"another credential revoked", event.Event{Kind: event.KindCredentialRevoked, ID: other}, false},
		{"any actor changed", event.Event{Kind: event.KindActorChanged, ID: w.bob.ActorID()}, true},
		{"any actor disabled", event.Event{Kind: event.KindActorDisabled, ID: w.bob.ActorID()}, true},
		{"any actor enabled", event.Event{Kind: event.KindActorEnabled, ID: w.bob.ActorID()}, true},
		{"any tenant suspended", event.Event{Kind: event.KindTenantSuspended, ID: w.gamma.ID}, true},
		{"any tenant activated", event.Event{Kind: event.KindTenantActivated, ID: w.gamma.ID}, true},
		{"a tenant's rate limits changed", event.Event{Kind: event.KindTenantLimitsChanged, ID: w.alpha.ID}, false},
		{"a tenant's policies changed", event.Event{Kind: event.KindPolicyChanged, ID: w.alpha.ID}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e.newResolver(t)
			e.mustResolve(t, raw)
			c.ev.At = e.clock.Now()
			e.r.Apply(c.ev)
			e.mustResolve(t, raw)
			want := int32(1)
			if c.reread {
				want = 2
			}
			if n := e.keyStore.gets.Load(); n != want {
				t.Fatalf("%d store reads, want %d", n, want)
			}
		})
	}
}

// TestDemotionNarrowsKeysOnceAnnounced: a key does what its scopes say and
// its holder (or its agent's owner) may still do.
func TestDemotionNarrowsKeysOnceAnnounced(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	w := newWorld(t, e)
	dana := e.user(t, "dana@example.com", false)
	e.join(t, w.alpha, dana, identity.RoleAdmin)
	asDana := sessionOf(dana, w.alpha.ID)
	_, own := e.key(t, asDana, apikey.NewKey{Scopes: []string{"members:write", "tenant:read"}})
	ag := e.agent(t, dana, w.alpha, "helper")
	_, agents := e.key(t, asDana, apikey.NewKey{ActorID: ag.ActorID(), Scopes: []string{"members:write", "tenant:read"}})
	for _, raw := range []string{own, agents} {
		if got := e.mustResolve(t, raw).Permissions; !slices.Equal(got, []string{"members:write", "tenant:read"}) {
			t.Fatalf("before: %v", got)
		}
	}
	if _, err := e.idents.UpdateMemberRoles(context.Background(), identity.Caller{ActorID: w.ann.ActorID()}, w.alpha.ID, dana.ActorID(), []string{"member"}); err != nil {
		t.Fatal(err)
	}
	if got := e.mustResolve(t, own).Permissions; !slices.Contains(got, "members:write") {
		t.Fatalf("the cache was dropped without an event: %v", got)
	}
	e.deliver()
	for _, raw := range []string{own, agents} {
		ac := e.mustResolve(t, raw)
		if !slices.Equal(ac.Permissions, []string{"tenant:read"}) || !slices.Equal(ac.Scopes, []string{"members:write", "tenant:read"}) {
			t.Fatalf("after: %+v", ac)
		}
	}
}

func TestRotatedOutSecretsWorkOnlyWithinTheirGrace(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	w := newWorld(t, e)
	ctx := context.Background()
	ann := sessionOf(w.ann, w.alpha.ID)
	k, k1 := e.key(t, ann, apikey.NewKey{})
	e.mustResolve(t, k1)

	_, k2, err := e.apikeys.Rotate(ctx, ann, k.ID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	e.deliver()
	for _, raw := range []string{k1, k2} {
		if ac := e.mustResolve(t, raw); ac.CredentialID != k.ID {
			t.Fatalf("resolved to %+v", ac)
		}
	}
	e.clock.Advance(time.Hour)
	e.wantRefused(t, k1, fault.Unauthenticated, "invalid_api_key")
	e.mustResolve(t, k2)

	// Without grace the old secret stops at once.
	_, k3, err := e.apikeys.Rotate(ctx, ann, k.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	e.deliver()
	e.wantRefused(t, k2, fault.Unauthenticated, "invalid_api_key")
	e.mustResolve(t, k3)
}

// TestRejectedIsToldOfRefusalsOnly: successes and store failures are not
// rejections.
func TestRejectedIsToldOfRefusalsOnly(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	w := newWorld(t, e)
	tok := e.login(t, w.ann, "")
	_, raw := e.key(t, sessionOf(w.ann, w.alpha.ID), apikey.NewKey{})
	_, cold := e.key(t, sessionOf(w.ann, w.alpha.ID), apikey.NewKey{})
	e.mustResolve(t, tok.AccessToken)
	e.mustResolve(t, raw)
	e.keyStore.failing.Store(true)
	_, err := e.resolve(cold)
	if err == nil || fault.KindOf(err) != fault.Internal {
		t.Fatalf("store failure: %v", err)
	}
	if got := e.rejected.take(); len(got) != 0 {
		t.Fatalf("rejections %v", got)
	}
	// Refusals name the credential kind and the code.
	e.wantRefused(t, "tg_", fault.Unauthenticated, "invalid_api_key")
	e.wantRefused(t, "x", fault.Unauthenticated, "invalid_token")
}

// TestAKeyChangeAnnouncedDuringAReadIsNotUndone: credential_changed for a
// key whose record is being read must not let that read cache the old
// record ("changes announced on the bus apply at once").
func TestAKeyChangeAnnouncedDuringAReadIsNotUndone(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	w := newWorld(t, e)
	ctx := context.Background()
	k, raw := e.key(t, sessionOf(w.ann, w.alpha.ID), apikey.NewKey{})

	read, resume := make(chan struct{}), make(chan struct{})
	e.keyStore.setGate(func() { close(read); <-resume })
	done := make(chan error, 1)
	go func() {
		_, err := e.resolve(raw)
		done <- err
	}()
	<-read
	e.keyStore.setGate(nil)
	// A platform admin gives the key its own rate limit meanwhile.
	if err := e.st.SetAPIKeyRateLimit(ctx, k.ID, "100/1m"); err != nil {
		t.Fatal(err)
	}
	e.r.Apply(event.Event{Kind: event.KindCredentialChanged, ID: k.ID, At: e.clock.Now()})
	close(resume)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := e.mustResolve(t, raw).RateLimit; got != "100/1m" {
		t.Fatalf("rate limit %q after the announced change", got)
	}
}

// TestServiceTokenReachFollowsTheRegistry reads a service token's tenants
// and resource types from the registry, not the token: a narrowing applies
// to tokens already issued, once announced, and a deleted service's tokens
// reach nothing.
func TestServiceTokenReachFollowsTheRegistry(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	w := newWorld(t, e)
	ctx := context.Background()
	root := sessionOf(w.root, "")
	svc, _ := e.service(t, w.root, "mailer", "authz:check")
	raw := e.sign(t, token.Claims{Subject: svc.ActorID(), ActorType: identity.ActorService, SessionID: ids.New(), Scope: []string{"authz:check"}})
	reach := func(t *testing.T, tenants, types []string) {
		t.Helper()
		ac := e.mustResolve(t, raw)
		if !slices.Equal(ac.Tenants, tenants) || !slices.Equal(ac.ResourceTypes, types) {
			t.Fatalf("reach %v on %v, want %v on %v", ac.Tenants, ac.ResourceTypes, tenants, types)
		}
	}
	reach(t, []string{"*"}, []string{"*"})

	_, err := e.services.Update(ctx, root, svc.ID, serviceaccount.Patch{Tenants: &[]string{w.alpha.ID}, ResourceTypes: &[]string{"tool"}})
	if err != nil {
		t.Fatal(err)
	}
	// Until the change is announced, the cached reach holds (at most the
	// key cache's TTL); once it is, the new one.
	reach(t, []string{"*"}, []string{"*"})
	e.deliver()
	reach(t, []string{w.alpha.ID}, []string{"tool"})

	if err := e.services.Delete(ctx, root, svc.ID); err != nil {
		t.Fatal(err)
	}
	e.deliver()
	e.wantRefused(t, raw, fault.Unauthenticated, "actor_disabled")
}
