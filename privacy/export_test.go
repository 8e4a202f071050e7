package privacy_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/tollgate/tollgate/apikey"
	"github.com/tollgate/tollgate/audit"
	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/ids"
	"github.com/tollgate/tollgate/privacy"
	"github.com/tollgate/tollgate/session"
	"github.com/tollgate/tollgate/store/sqlite/sqlitetest"
)

func TestExportHoldsThePersonsDataOnly(t *testing.T) {
	ctx := context.Background()
	st := sqlitetest.Open(t)
	idents := identity.NewService(identity.Deps{Store: st}, identity.Options{})
	user := func(email string) identity.User {
		u, err := idents.CreateUser(ctx, identity.NewUser{Email: email, PasswordHash: "$argon2id$secret"})
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	ann, bob := user("ann@example.com"), user("bob@example.com")
	alpha, err := idents.CreateTenant(ctx, ann.ActorID(), identity.NewTenant{Slug: "alpha"})
	if err != nil {
		t.Fatal(err)
	}
	beta, err := idents.CreateTenant(ctx, bob.ActorID(), identity.NewTenant{Slug: "beta"})
	if err != nil {
		t.Fatal(err)
	}
	agent, err := idents.CreateAgent(ctx, identity.Caller{ActorID: ann.ActorID()}, alpha.ID, identity.NewAgent{Name: "helper"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := idents.CreateAgent(ctx, identity.Caller{ActorID: bob.ActorID()}, beta.ID, identity.NewAgent{Name: "bob's"}); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	newSession := func(actor, tenant string, expires time.Duration) string {
		id := ids.New()
		s := session.Session{ID: id, ActorID: actor, TenantID: tenant, CreatedAt: now, RefreshedAt: now,
			ExpiresAt: now.Add(expires), EndsAt: now.Add(time.Hour), UserAgent: "ua", IP: "192.0.2.1"}
		if err := st.CreateSession(ctx, s, []byte(id)); err != nil {
			t.Fatal(err)
		}
		return id
	}
	annLive := newSession(ann.ActorID(), alpha.ID, time.Hour)
	newSession(ann.ActorID(), alpha.ID, -time.Minute) // expired: not held as a session
	newSession(bob.ActorID(), beta.ID, time.Hour)
	newKey := func(tenant, actor string) string {
		k := apikey.Key{ID: ids.New(), TenantID: tenant, ActorID: actor, CreatedBy: actor, Name: "k", Scopes: []string{"tenant:read"},
			Hash: []byte(ids.New()), PreviousHash: []byte("old"), CreatedAt: now}
		if err := st.CreateAPIKey(ctx, k); err != nil {
			t.Fatal(err)
		}
		return k.ID
	}
	annKey := newKey(alpha.ID, ann.ActorID())
	newKey(beta.ID, bob.ActorID())
	if _, err := st.AppendAudit(ctx, []audit.Event{
		{ID: ids.New(), Time: now, TenantID: alpha.ID, ActorID: ann.ActorID(), Action: audit.ActionTenantUpdate, Outcome: audit.Success},
		{ID: ids.New(), Time: now, TenantID: alpha.ID, ActorID: bob.ActorID(), Action: audit.ActionTenantUpdate, Outcome: audit.Success},
		{ID: ids.New(), Time: now, ActorID: ann.ActorID(), Action: audit.ActionSessionLogin, Outcome: audit.Success},
	}); err != nil {
		t.Fatal(err)
	}

	svc := privacy.NewService(privacy.Deps{Accounts: st, Agents: idents, Sessions: st, Keys: st, Audit: st, Now: func() time.Time { return now }})
	annSession := identity.ActorContext{ActorID: ann.ActorID(), Credential: identity.CredentialSession, SessionID: annLive}
	got, err := svc.Export(ctx, annSession)
	if err != nil {
		t.Fatal(err)
	}
	if got.User.ID != ann.ID || got.User.Email != "ann@example.com" || got.User.PasswordHash != "" {
		t.Fatalf("user %+v", got.User)
	}
	if len(got.Memberships) != 1 || got.Memberships[0].Tenant.ID != alpha.ID {
		t.Fatalf("memberships %+v", got.Memberships)
	}
	if len(got.Agents) != 1 || got.Agents[0].ID != agent.ID {
		t.Fatalf("agents %+v", got.Agents)
	}
	if len(got.Sessions) != 1 || got.Sessions[0].ID != annLive {
		t.Fatalf("sessions %+v", got.Sessions)
	}
	if len(got.APIKeys) != 1 || got.APIKeys[0].ID != annKey || got.APIKeys[0].Hash != nil || got.APIKeys[0].PreviousHash != nil {
		t.Fatalf("keys %+v", got.APIKeys)
	}
	var streams []string
	for _, e := range got.AuditEvents {
		if e.ActorID != ann.ActorID() {
			t.Fatalf("another actor's event %+v", e)
		}
		streams = append(streams, e.TenantID)
	}
	if !slices.Equal(streams, []string{"", alpha.ID}) || len(got.Truncated) != 0 {
		t.Fatalf("audit streams %v, truncated %v", streams, got.Truncated)
	}

	for _, c := range []struct {
		name string
		ac   identity.ActorContext
	}{
		{"an API key", identity.ActorContext{ActorID: ann.ActorID(), TenantID: alpha.ID, Credential: identity.CredentialAPIKey}},
		{"a delegated token", identity.ActorContext{ActorID: "agent:" + agent.ID, OnBehalfOf: ann.ActorID(), TenantID: alpha.ID, Credential: identity.CredentialDelegation}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := svc.Export(ctx, c.ac)
			if fault.KindOf(err) != fault.Forbidden {
				t.Fatalf("err = %v, want session_required", err)
			}
		})
	}
}
