package session_test

import (
	"context"
	"slices"
	"testing"

	"github.com/tollgate/tollgate/cursor"
	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/ids"
	"github.com/tollgate/tollgate/session"
)

// sessionIDs are the ids of a list.
func sessionIDs(list []session.Session) []string {
	out := []string{}
	for _, s := range list {
		out = append(out, s.ID)
	}
	return out
}

func sortedIDs(list ...string) []string {
	slices.Sort(list)
	return list
}

func check(t *testing.T, what string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("%s = %v, want %v", what, got, want)
	}
}

// keyIn is an API key's ActorContext for holder in tenantID with perms.
func keyIn(holder identity.User, tenantID string, perms ...string) identity.ActorContext {
	return identity.ActorContext{ActorID: holder.ActorID(), ActorType: identity.ActorHuman, TenantID: tenantID,
		Credential: identity.CredentialAPIKey, CredentialID: ids.New(), Permissions: perms, Scopes: perms}
}

func TestListOwnSessions(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	w := newWorld(t, e)
	m := session.NewManager(e.svc, e.st, e.idents)
	ctx := context.Background()
	inAlpha := e.login(t, "ann@example.com", w.alpha.ID)
	inBeta := e.login(t, "ann@example.com", w.beta.ID)
	gone := e.login(t, "ann@example.com", w.beta.ID)
	e.login(t, "bob@example.com", w.beta.ID)
	if err := e.svc.Logout(ctx, actor(gone), false); err != nil {
		t.Fatal(err)
	}
	got, err := m.ListOwn(ctx, actor(inAlpha), cursor.Page{})
	if err != nil {
		t.Fatal(err)
	}
	// Every tenant, not the revoked one, not bob's.
	check(t, "own sessions", sessionIDs(got), sortedIDs(inAlpha.SessionID, inBeta.SessionID))
	_, err = m.ListOwn(ctx, keyIn(w.ann, w.alpha.ID, "sessions:read"), cursor.Page{})
	wantFault(t, err, fault.Forbidden, "session_required")
}

func TestRevokeOwnSession(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	w := newWorld(t, e)
	m := session.NewManager(e.svc, e.st, e.idents)
	ctx := context.Background()
	mine := e.login(t, "ann@example.com", w.alpha.ID)
	other := e.login(t, "ann@example.com", w.beta.ID)
	bobs := e.login(t, "bob@example.com", w.beta.ID)
	for _, c := range []struct {
		name, id string
		ac       identity.ActorContext
		kind     fault.Kind
		code     string
	}{
		{"another person's", bobs.SessionID, actor(mine), fault.NotFound, "session_not_found"},
		{"unknown", ids.New(), actor(mine), fault.NotFound, "session_not_found"},
		{"malformed", "../x", actor(mine), fault.NotFound, "session_not_found"},
		{"through an API key", other.SessionID, keyIn(w.ann, w.alpha.ID, "sessions:write"), fault.Forbidden, "session_required"},
	} {
		t.Run(c.name, func(t *testing.T) {
			wantFault(t, m.RevokeOwn(ctx, c.ac, c.id), c.kind, c.code)
		})
	}
	wantLive(t, e, bobs.SessionID)
	wantLive(t, e, other.SessionID)
	if err := m.RevokeOwn(ctx, actor(mine), other.SessionID); err != nil {
		t.Fatal(err)
	}
	wantRevoked(t, e, other.SessionID, session.ReasonRevokedByUser)
	_, err := e.svc.Refresh(ctx, other.RefreshToken, session.Client{})
	wantFault(t, err, fault.Unauthenticated, "invalid_refresh_token")
	// The current one too: it is a sign-out.
	if err := m.RevokeOwn(ctx, actor(mine), mine.SessionID); err != nil {
		t.Fatal(err)
	}
	wantRevoked(t, e, mine.SessionID, session.ReasonRevokedByUser)
}

func TestListTenantSessions(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	w := newWorld(t, e)
	m := session.NewManager(e.svc, e.st, e.idents)
	ctx := context.Background()
	annBeta := e.login(t, "ann@example.com", w.beta.ID)
	e.login(t, "ann@example.com", w.alpha.ID)
	bobBeta := e.login(t, "bob@example.com", w.beta.ID)
	carl := e.login(t, "carl@example.com", w.gamma.ID)
	ok := func(ac identity.ActorContext, tenant, actorID string) []string {
		t.Helper()
		got, err := m.ListTenant(ctx, ac, tenant, actorID, cursor.Page{})
		if err != nil {
			t.Fatal(err)
		}
		return sessionIDs(got)
	}
	check(t, "owner lists the tenant", ok(actor(bobBeta), w.beta.ID, ""), sortedIDs(annBeta.SessionID, bobBeta.SessionID))
	check(t, "one member", ok(actor(bobBeta), w.beta.ID, w.ann.ActorID()), []string{annBeta.SessionID})
	check(t, "a key with sessions:read", ok(keyIn(w.bob, w.beta.ID, "sessions:read"), w.beta.ID, ""), sortedIDs(annBeta.SessionID, bobBeta.SessionID))
	for _, c := range []struct {
		name           string
		ac             identity.ActorContext
		tenant, member string
		kind           fault.Kind
		code           string
	}{
		{"a member without sessions:read", actor(annBeta), w.beta.ID, "", fault.Forbidden, "permission_denied"},
		{"a key without sessions:read", keyIn(w.bob, w.beta.ID, "tenant:read"), w.beta.ID, "", fault.Forbidden, "permission_denied"},
		{"a key of another tenant", keyIn(w.bob, w.frozen.ID, "sessions:read"), w.beta.ID, "", fault.NotFound, "tenant_not_found"},
		{"a stranger", actor(carl), w.beta.ID, "", fault.NotFound, "tenant_not_found"},
		{"an unknown tenant", actor(bobBeta), ids.New(), "", fault.NotFound, "tenant_not_found"},
		{"a malformed tenant", actor(bobBeta), "beta", "", fault.NotFound, "tenant_not_found"},
		{"a malformed member", actor(bobBeta), w.beta.ID, "ann@example.com", fault.Invalid, "invalid_actor_id"},
		{"an agent as member", actor(bobBeta), w.beta.ID, "agent:" + ids.New(), fault.Invalid, "invalid_actor_id"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := m.ListTenant(ctx, c.ac, c.tenant, c.member, cursor.Page{})
			wantFault(t, err, c.kind, c.code)
		})
	}
}

func TestRevokeSessionInTenant(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	w := newWorld(t, e)
	m := session.NewManager(e.svc, e.st, e.idents)
	ctx := context.Background()
	// dora is an admin of beta, not an owner.
	dora := e.user(t, "dora@example.com")
	e.join(t, w.beta, dora, identity.RoleAdmin)
	doraBeta := e.login(t, "dora@example.com", w.beta.ID)
	annBeta := e.login(t, "ann@example.com", w.beta.ID)
	annAlpha := e.login(t, "ann@example.com", w.alpha.ID)
	bobBeta := e.login(t, "bob@example.com", w.beta.ID)
	carl := e.login(t, "carl@example.com", w.gamma.ID)
	for _, c := range []struct {
		name       string
		ac         identity.ActorContext
		tenant, id string
		kind       fault.Kind
		code       string
	}{
		{"a session in another tenant", actor(doraBeta), w.beta.ID, annAlpha.SessionID, fault.NotFound, "session_not_found"},
		{"an unknown session", actor(doraBeta), w.beta.ID, ids.New(), fault.NotFound, "session_not_found"},
		{"an owner's, without owners:write", actor(doraBeta), w.beta.ID, bobBeta.SessionID, fault.Forbidden, "permission_denied"},
		{"a member without sessions:write", actor(annBeta), w.beta.ID, bobBeta.SessionID, fault.Forbidden, "permission_denied"},
		{"a key with sessions:read only", keyIn(w.bob, w.beta.ID, "sessions:read"), w.beta.ID, annBeta.SessionID, fault.Forbidden, "permission_denied"},
		{"a stranger", actor(carl), w.beta.ID, annBeta.SessionID, fault.NotFound, "tenant_not_found"},
		{"from the stranger's own tenant", actor(carl), w.gamma.ID, annBeta.SessionID, fault.NotFound, "session_not_found"},
	} {
		t.Run(c.name, func(t *testing.T) {
			wantFault(t, m.RevokeInTenant(ctx, c.ac, c.tenant, c.id), c.kind, c.code)
		})
	}
	for _, tok := range []string{annBeta.SessionID, annAlpha.SessionID, bobBeta.SessionID} {
		wantLive(t, e, tok)
	}
	if err := m.RevokeInTenant(ctx, actor(doraBeta), w.beta.ID, annBeta.SessionID); err != nil {
		t.Fatal(err)
	}
	wantRevoked(t, e, annBeta.SessionID, session.ReasonRevokedByAdmin)
	wantLive(t, e, annAlpha.SessionID)
	// The owner may end an owner's session; so may a key within its
	// holder's rights.
	if err := m.RevokeInTenant(ctx, keyIn(w.bob, w.beta.ID, "sessions:write", "owners:write"), w.beta.ID, bobBeta.SessionID); err != nil {
		t.Fatal(err)
	}
	wantRevoked(t, e, bobBeta.SessionID, session.ReasonRevokedByAdmin)
}
