package credential_test

import (
	"context"
	"errors"
	"testing"

	"github.com/tollgate/tollgate/apikey"
	"github.com/tollgate/tollgate/event"
	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/token"
)

// blockWorld is credentials of every kind in alpha, and some elsewhere.
type blockWorld struct {
	world
	agent identity.Agent
	// Credentials by name.
	raw map[string]string
}

func newBlockWorld(t *testing.T, e *env) blockWorld {
	t.Helper()
	b := blockWorld{world: newWorld(t, e), raw: map[string]string{}}
	w := b.world
	alpha := w.alpha.ID
	b.agent = e.agent(t, w.carl, w.alpha, "helper")
	svc, _ := e.service(t, w.root, "gateway", "authz:check")
	carl := e.login(t, w.carl, alpha)
	agentKey, agentRaw := e.key(t, sessionOf(w.carl, alpha), apikey.NewKey{ActorID: b.agent.ActorID(), Scopes: []string{"tenant:read"}})
	_, svcKeyRaw := e.key(t, sessionOf(w.root, ""), apikey.NewKey{TenantID: alpha, ActorID: svc.ActorID(), Scopes: []string{"tenant:read"}})
	b.raw = map[string]string{
		"ann's token":           e.login(t, w.ann, alpha).AccessToken,
		"carl's token in alpha": carl.AccessToken,
		"carl's token in beta":  e.login(t, w.carl, w.beta.ID).AccessToken,
		"root's token in alpha": e.login(t, w.root, alpha).AccessToken,
		"bob's token":           e.login(t, w.bob, "").AccessToken,
		"ann's key":             keyRaw(t, e, sessionOf(w.ann, alpha)),
		"carl's key in beta":    keyRaw(t, e, sessionOf(w.carl, w.beta.ID)),
		"root's key in alpha":   keyRaw(t, e, sessionOf(w.root, alpha)),
		"bob's key":             keyRaw(t, e, sessionOf(w.bob, w.gamma.ID)),
		"agent's key":           agentRaw,
		"service's key":         svcKeyRaw,
		"service's token": e.sign(t, token.Claims{
			Subject: svc.ActorID(), ActorType: identity.ActorService, Scope: []string{"authz:check"},
		}),
		"delegated token": e.sign(t, token.Claims{
			Subject: w.carl.ActorID(), ActorType: identity.ActorAgent, TenantID: alpha, Roles: []string{"member"},
			SessionID: carl.SessionID, CredentialID: agentKey.ID, Scope: []string{"tenant:read"},
			Act: &token.Actor{Subject: b.agent.ActorID(), Owner: w.carl.ActorID()},
		}),
		// ann acts through carl's agent: the agent's owner is not the subject.
		"delegated for ann": e.sign(t, token.Claims{
			Subject: w.ann.ActorID(), ActorType: identity.ActorAgent, TenantID: alpha, Roles: []string{"owner"},
			CredentialID: agentKey.ID, Scope: []string{"tenant:read"},
			Act: &token.Actor{Subject: b.agent.ActorID(), Owner: w.carl.ActorID()},
		}),
	}
	for name, raw := range b.raw {
		if _, err := e.resolve(raw); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	e.announced.Take()
	return b
}

func keyRaw(t *testing.T, e *env, ac identity.ActorContext) string {
	t.Helper()
	_, raw := e.key(t, ac, apikey.NewKey{Scopes: []string{"tenant:read"}})
	return raw
}

// refusal is what a blocked credential gets.
type refusal struct {
	kind fault.Kind
	code string
}

var (
	disabled  = refusal{fault.Unauthenticated, "actor_disabled"}
	suspended = refusal{fault.Forbidden, "tenant_suspended"}
)

// wantOnly fails unless exactly the credentials named in refused are
// refused, as said; every other one resolves.
func (b blockWorld) wantOnly(t *testing.T, e *env, refused map[string]refusal) {
	t.Helper()
	for name := range refused {
		if _, ok := b.raw[name]; !ok {
			t.Fatalf("no credential %q", name)
		}
	}
	for name, raw := range b.raw {
		if r, ok := refused[name]; ok {
			_, err := e.resolve(raw)
			var fe *fault.Error
			if !errors.As(err, &fe) || fe.Kind != r.kind || string(fe.Code) != r.code {
				t.Errorf("%s: %v, want %s %s", name, err, r.kind, r.code)
			}
		} else if _, err := e.resolve(raw); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestSyncBlocksRefusesWhatTheStoreBlocks: disabled actors and suspended
// tenants recorded by another process take effect at the next sync, for
// every credential bound to them; a platform admin keeps their session in a
// suspended tenant, since they are who lifts the suspension.
func TestSyncBlocksRefusesWhatTheStoreBlocks(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := newBlockWorld(t, e)
	ctx := context.Background()
	e.setUserStatus(t, b.ann, identity.UserDisabled)
	e.setTenantStatus(t, b.alpha, identity.TenantSuspended)
	b.wantOnly(t, e, nil)

	if err := e.r.SyncBlocks(ctx); err != nil {
		t.Fatal(err)
	}
	b.wantOnly(t, e, map[string]refusal{
		"ann's token": disabled, "ann's key": disabled, "delegated for ann": disabled,
		"carl's token in alpha": suspended, "root's key in alpha": suspended, "agent's key": suspended,
		"service's key": suspended, "delegated token": suspended,
	})

	e.setUserStatus(t, b.ann, identity.UserActive)
	e.setTenantStatus(t, b.alpha, identity.TenantActive)
	if err := e.r.SyncBlocks(ctx); err != nil {
		t.Fatal(err)
	}
	b.wantOnly(t, e, nil)
}

func TestSyncBlocksFailureKeepsWhatWasBlocked(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := newBlockWorld(t, e)
	e.r.Apply(event.Event{Kind: event.KindActorDisabled, ID: b.ann.ActorID(), At: e.clock.Now()})
	e.blocks.failing.Store(true)
	if err := e.r.SyncBlocks(context.Background()); !errors.Is(err, errDisk) {
		t.Fatalf("SyncBlocks = %v, want the store's error", err)
	}
	e.wantRefused(t, b.raw["ann's token"], fault.Unauthenticated, "actor_disabled")
}

// TestBlockEventsApplyAtOnce: each event blocks exactly the credentials of
// its actor or tenant, and its counterpart lifts the block.
func TestBlockEventsApplyAtOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := newBlockWorld(t, e)
	cases := []struct {
		name          string
		block, unlock event.Event
		refused       map[string]refusal
	}{
		{"user disabled",
			event.Event{Kind: event.KindActorDisabled, ID: b.ann.ActorID()},
			event.Event{Kind: event.KindActorEnabled, ID: b.ann.ActorID()},
			map[string]refusal{"ann's token": disabled, "ann's key": disabled, "delegated for ann": disabled}},
		{"agent disabled",
			event.Event{Kind: event.KindActorDisabled, ID: b.agent.ActorID()},
			event.Event{Kind: event.KindActorEnabled, ID: b.agent.ActorID()},
			map[string]refusal{"agent's key": disabled, "delegated token": disabled, "delegated for ann": disabled}},
		// The owner of the agent, not the human it acts for: a delegated
		// token stops with its agent's owner.
		{"agent's owner disabled",
			event.Event{Kind: event.KindActorDisabled, ID: b.carl.ActorID()},
			event.Event{Kind: event.KindActorEnabled, ID: b.carl.ActorID()},
			map[string]refusal{
				"carl's token in alpha": disabled, "carl's token in beta": disabled, "carl's key in beta": disabled,
				"delegated token": disabled, "delegated for ann": disabled,
			}},
		{"service disabled",
			event.Event{Kind: event.KindActorDisabled, ID: "service:gateway"},
			event.Event{Kind: event.KindActorEnabled, ID: "service:gateway"},
			map[string]refusal{"service's token": disabled, "service's key": disabled}},
		{"tenant suspended",
			event.Event{Kind: event.KindTenantSuspended, ID: b.alpha.ID},
			event.Event{Kind: event.KindTenantActivated, ID: b.alpha.ID},
			map[string]refusal{
				"ann's token": suspended, "ann's key": suspended, "carl's token in alpha": suspended, "root's key in alpha": suspended,
				"agent's key": suspended, "service's key": suspended, "delegated token": suspended, "delegated for ann": suspended,
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.block.At, c.unlock.At = e.clock.Now(), e.clock.Now()
			e.r.Apply(c.block)
			b.wantOnly(t, e, c.refused)
			e.r.Apply(c.unlock)
			b.wantOnly(t, e, nil)
		})
	}
}
