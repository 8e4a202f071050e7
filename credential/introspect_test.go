package credential_test

import (
	"context"
	"testing"

	"github.com/tollgate/tollgate/apikey"
	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/token"
)

// TestIntrospectAskers: only services and platform admins, signed in as
// themselves, may ask.
func TestIntrospectAskers(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	w := newWorld(t, e)
	ctx := context.Background()
	svc, _ := e.service(t, w.root, "gateway", "authz:check")
	asService := e.mustResolve(t, e.sign(t, token.Claims{Subject: svc.ActorID(), ActorType: identity.ActorService, Scope: []string{"authz:check"}}))
	_, svcKey := e.key(t, sessionOf(w.root, ""), apikey.NewKey{TenantID: w.alpha.ID, ActorID: svc.ActorID(), Scopes: []string{"tenant:read"}})
	_, rootKey := e.key(t, sessionOf(w.root, w.alpha.ID), apikey.NewKey{Scopes: []string{"tenant:read"}})
	ag := e.agent(t, w.root, w.alpha, "helper")
	retired := e.user(t, "retired@example.com", true)
	e.setUserStatus(t, retired, identity.UserDisabled)
	target := e.login(t, w.ann, "").AccessToken

	cases := []struct {
		name    string
		asker   identity.ActorContext
		allowed bool
	}{
		{"a service's token", asService, true},
		{"a service's key", e.mustResolve(t, svcKey), true},
		{"a platform admin's session", e.mustResolve(t, e.login(t, w.root, "").AccessToken), true},
		{"a tenant owner's session", e.mustResolve(t, e.login(t, w.ann, "").AccessToken), false},
		{"a platform admin's API key", e.mustResolve(t, rootKey), false},
		{"an agent acting for a platform admin", identity.ActorContext{
			ActorID: ag.ActorID(), ActorType: identity.ActorAgent, OnBehalfOf: w.root.ActorID(), TenantID: w.alpha.ID,
			Credential: identity.CredentialDelegation,
		}, false},
		{"a disabled platform admin", sessionOf(retired, ""), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := e.r.MayIntrospect(ctx, c.asker)
			ac, ok, ierr := e.r.Introspect(ctx, c.asker, target)
			if c.allowed {
				if err != nil || ierr != nil || !ok || ac.ActorID != w.ann.ActorID() {
					t.Fatalf("MayIntrospect %v; Introspect %+v %v %v", err, ac, ok, ierr)
				}
				return
			}
			wantFault(t, err, fault.Forbidden, "introspection_not_allowed")
			wantFault(t, ierr, fault.Forbidden, "introspection_not_allowed")
			if ok || ac.ActorID != "" {
				t.Fatalf("a refused asker learned %+v %v", ac, ok)
			}
			// The asker is refused before the token is even looked at.
			_, _, ierr = e.r.Introspect(ctx, c.asker, "")
			wantFault(t, ierr, fault.Forbidden, "introspection_not_allowed")
		})
	}
}

// TestIntrospectAnswers: an active credential is described; any refused
// one is simply inactive; only a store failure is an error.
func TestIntrospectAnswers(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	w := newWorld(t, e)
	ctx := context.Background()
	svc, clientSecret := e.service(t, w.root, "gateway", "authz:check")
	asker := identity.ActorContext{ActorID: svc.ActorID(), ActorType: identity.ActorService, Credential: identity.CredentialClientCredentials,
		Tenants: []string{identity.Everything}}
	ann := sessionOf(w.ann, w.alpha.ID)
	tok := e.login(t, w.ann, "")
	k, key := e.key(t, ann, apikey.NewKey{Scopes: []string{"tenant:read"}})
	revoked, revokedKey := e.key(t, ann, apikey.NewKey{})
	if err := e.apikeys.Revoke(ctx, ann, revoked.ID); err != nil {
		t.Fatal(err)
	}
	loggedOut := e.login(t, w.ann, "")
	out := ann
	out.SessionID = loggedOut.SessionID
	if err := e.sessions.Logout(ctx, out, false); err != nil {
		t.Fatal(err)
	}
	e.deliver()

	for _, c := range []struct {
		name, raw string
		actor     string
		credID    string
	}{
		{"session token", tok.AccessToken, w.ann.ActorID(), ""},
		{"API key", key, w.ann.ActorID(), k.ID},
	} {
		t.Run("active "+c.name, func(t *testing.T) {
			ac, ok, err := e.r.Introspect(ctx, asker, c.raw)
			if err != nil || !ok || ac.ActorID != c.actor || ac.CredentialID != c.credID || ac.TenantID != w.alpha.ID {
				t.Fatalf("%+v %v %v", ac, ok, err)
			}
		})
		// A service that does not serve alpha — registered for gamma, or
		// asking with its API key of beta — learns nothing of it.
		elsewhere := asker
		elsewhere.Tenants = []string{w.gamma.ID}
		betaKey := identity.ActorContext{ActorID: svc.ActorID(), ActorType: identity.ActorService, Credential: identity.CredentialAPIKey, TenantID: w.beta.ID}
		for name, other := range map[string]identity.ActorContext{"registered for gamma": elsewhere, "with a key of beta": betaKey} {
			t.Run("inactive "+c.name+" to a service "+name, func(t *testing.T) {
				ac, ok, err := e.r.Introspect(ctx, other, c.raw)
				if err != nil || ok || ac.ActorID != "" {
					t.Fatalf("%+v %v %v", ac, ok, err)
				}
			})
		}
	}
	for _, c := range []struct{ name, raw string }{
		{"garbage", "not a token"},
		{"malformed key", "tg_live_nothing"},
		{"revoked key", revokedKey},
		{"logged-out session's token", loggedOut.AccessToken},
		{"tampered token", tamper(tok.AccessToken)},
		{"refresh token", tok.RefreshToken},
		{"client secret", clientSecret},
	} {
		t.Run("inactive "+c.name, func(t *testing.T) {
			ac, ok, err := e.r.Introspect(ctx, asker, c.raw)
			if err != nil || ok || ac.ActorID != "" {
				t.Fatalf("%+v %v %v", ac, ok, err)
			}
		})
	}
	t.Run("no token", func(t *testing.T) {
		_, ok, err := e.r.Introspect(ctx, asker, "")
		wantFault(t, err, fault.Invalid, "token_required")
		if ok {
			t.Fatal("active")
		}
	})
	t.Run("store failure", func(t *testing.T) {
		_, cold := e.key(t, ann, apikey.NewKey{})
		e.keyStore.failing.Store(true)
		defer e.keyStore.failing.Store(false)
		ac, ok, err := e.r.Introspect(ctx, asker, cold)
		if err == nil || ok || ac.ActorID != "" {
			t.Fatalf("%+v %v %v", ac, ok, err)
		}
	})
}
