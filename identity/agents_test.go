package identity_test

import (
	"crypto/rand"
	"crypto/sha256"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tollgate/tollgate/apikey"
	"github.com/tollgate/tollgate/cursor"
	"github.com/tollgate/tollgate/event"
	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/ids"
)

func TestCreateAgentIsOwnedByTheCallingHuman(t *testing.T) {
	w := newWorld(t)
	ag, err := w.svc.CreateAgent(w.ctx, w.as(w.admin), w.tenantA.ID, identity.NewAgent{Name: "triage", Description: "sorts tickets"})
	if err != nil {
		t.Fatal(err)
	}
	if ag.OwnerID != w.admin.ActorID() || ag.TenantID != w.tenantA.ID || ag.Status != identity.AgentActive ||
		ag.ActorID() != "agent:"+ag.ID || !ids.Valid(ag.ID) || ag.Description != "sorts tickets" {
		t.Fatalf("created %+v", ag)
	}
	wantEvents(t, w.events.Take(), evIn(event.KindActorChanged, ag.ActorID(), w.tenantA.ID))
	stored, err := w.svc.Agent(w.ctx, w.tenantA.ID, ag.ID)
	if err != nil || stored.Name != "triage" || stored.OwnerID != w.admin.ActorID() {
		t.Fatalf("stored %+v, %v", stored, err)
	}
}

func TestCreateAgentRejectsBadInputAndNonHumans(t *testing.T) {
	w := newWorld(t)
	for _, c := range []struct {
		name   string
		caller identity.Caller
		in     identity.NewAgent
		kind   fault.Kind
		field  string
		code   string
	}{
		{"missing name", w.as(w.member), identity.NewAgent{Description: "x"}, fault.Invalid, "name", "invalid_name"},
		{"padded name", w.as(w.member), identity.NewAgent{Name: " helper"}, fault.Invalid, "name", "invalid_name"},
		{"control in name", w.as(w.member), identity.NewAgent{Name: "a\x00b"}, fault.Invalid, "name", "invalid_name"},
		{"long name", w.as(w.member), identity.NewAgent{Name: strings.Repeat("a", 201)}, fault.Invalid, "name", "invalid_name"},
		{"long description", w.as(w.member), identity.NewAgent{Name: "a", Description: strings.Repeat("d", 1001)}, fault.Invalid, "description", "description_too_long"},
		{"zero-width joiner in name", w.as(w.member), identity.NewAgent{Name: "a\u200db"}, fault.Invalid, "name", "invalid_name"},
		{"bidi override in description", w.as(w.member), identity.NewAgent{Name: "a", Description: "a\u202eb"}, fault.Invalid, "description", "invalid_description"},
		{"taken name", w.as(w.admin), identity.NewAgent{Name: w.agent.Name}, fault.Conflict, "", "agent_name_taken"},
		{"an agent", identity.Caller{ActorID: w.agent.ActorID()}, identity.NewAgent{Name: "child"}, fault.Forbidden, "", "human_required"},
		{"a service", identity.Caller{ActorID: "service:billing", Bounded: true, TenantID: w.tenantA.ID, Scopes: []string{"agents:write"}}, identity.NewAgent{Name: "svc"}, fault.Forbidden, "", "human_required"},
		{"not a member", w.as(w.stranger), identity.NewAgent{Name: "intruder"}, fault.NotFound, "", "tenant_not_found"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := w.svc.CreateAgent(w.ctx, c.caller, w.tenantA.ID, c.in)
			if fe := wantFault(t, err, c.kind, c.code); fe.Field != c.field {
				t.Fatalf("field %q, want %q", fe.Field, c.field)
			}
		})
	}
	if agents, err := w.st.ListAgents(w.ctx, w.tenantA.ID, "", cursor.Page{Limit: 10}); err != nil || len(agents) != 1 {
		t.Fatalf("bad input created agents: %v, %v", agents, err)
	}
	wantEvents(t, w.events.Take())
}

// TestBoundedCallersCreateAgentsOnlyWithAgentsWrite: a person may always
// make their own agents, but a key or a delegated token needs agents:write
// both in its scopes and in its holder's rights.
func TestBoundedCallersCreateAgentsOnlyWithAgentsWrite(t *testing.T) {
	w := newWorld(t)
	delegated := identity.ActorContext{
		ActorID: w.agent.ActorID(), ActorType: identity.ActorAgent, TenantID: w.tenantA.ID,
		Credential: identity.CredentialDelegation, OnBehalfOf: w.admin.ActorID(), Permissions: []string{"agents:write"},
	}.Caller()
	for _, c := range []struct {
		name   string
		caller identity.Caller
		owner  string
		code   string
	}{
		{"member's session", w.as(w.member), w.member.ActorID(), ""},
		{"member's key with agents:read", bounded(w.member, w.tenantA.ID, identity.PermAgentsRead, identity.PermTenantRead), "", "permission_denied"},
		{"member's key with agents:write the member lacks", bounded(w.member, w.tenantA.ID, identity.PermAgentsWrite), "", "permission_denied"},
		{"admin's key with agents:write", bounded(w.admin, w.tenantA.ID, identity.PermAgentsWrite), w.admin.ActorID(), ""},
		{"agent delegated by the admin with agents:write", delegated, w.admin.ActorID(), ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			ag, err := w.svc.CreateAgent(w.ctx, c.caller, w.tenantA.ID, identity.NewAgent{Name: "by " + c.name})
			want(t, err, fault.Forbidden, c.code)
			if c.code == "" && ag.OwnerID != c.owner {
				t.Fatalf("owner %q, want %q", ag.OwnerID, c.owner)
			}
		})
	}
}

// TestAgentsAreManagedByTheirOwnerOrAgentsWrite checks who may read, change
// and delete an agent: its owner, holders of agents:write; holders of
// agents:read may only read; anyone else is told it does not exist.
func TestAgentsAreManagedByTheirOwnerOrAgentsWrite(t *testing.T) {
	w := newWorld(t)
	w.role(w.tenantA.ID, "viewer", identity.PermTenantRead)
	viewer := w.memberWith("viewer@a.example", "viewer")
	other := w.memberWith("other@a.example", "member")
	type outcome struct {
		kind fault.Kind
		code string
	}
	ok := outcome{}
	denied := outcome{fault.Forbidden, "permission_denied"}
	hidden := outcome{fault.NotFound, "agent_not_found"}
	outside := outcome{fault.NotFound, "tenant_not_found"}
	for _, c := range []struct {
		name                string
		caller              identity.Caller
		get, update, delete outcome
	}{
		{"its owner", w.as(w.member), ok, ok, ok},
		{"an admin", w.as(w.admin), ok, ok, ok},
		{"the tenant's owner", w.as(w.owner), ok, ok, ok},
		{"a platform admin", w.as(w.root), ok, ok, ok},
		{"another member", w.as(other), ok, denied, denied},
		{"a member without agents:read", w.as(viewer), hidden, hidden, hidden},
		{"an admin's key with agents:read only", bounded(w.admin, w.tenantA.ID, identity.PermAgentsRead), ok, denied, denied},
		{"an admin's key without agents scopes", bounded(w.admin, w.tenantA.ID, identity.PermTenantRead), hidden, hidden, hidden},
		{"an admin's key with agents:write", bounded(w.admin, w.tenantA.ID, identity.PermAgentsRead, identity.PermAgentsWrite), ok, ok, ok},
		// A key or delegated token of its owner gets no owner's shortcut:
		// it reads with agents:read and changes with agents:write, which
		// a plain member does not hold.
		{"its owner's key with tenant:read", bounded(w.member, w.tenantA.ID, identity.PermTenantRead), hidden, denied, denied},
		{"its owner's key with agents:read", bounded(w.member, w.tenantA.ID, identity.PermAgentsRead), ok, denied, denied},
		{"its owner's key with agents:write the owner lacks", bounded(w.member, w.tenantA.ID, identity.PermAgentsRead, identity.PermAgentsWrite), ok, denied, denied},
		{"the owner of tenant B", w.as(w.outB), outside, outside, outside},
	} {
		t.Run(c.name, func(t *testing.T) {
			ag, err := w.svc.CreateAgent(w.ctx, w.as(w.member), w.tenantA.ID, identity.NewAgent{Name: "for " + c.name})
			if err != nil {
				t.Fatal(err)
			}
			got, err := w.svc.GetAgent(w.ctx, c.caller, w.tenantA.ID, ag.ID)
			want(t, err, c.get.kind, c.get.code)
			if c.get.code == "" && got.ID != ag.ID {
				t.Fatalf("GetAgent = %+v", got)
			}

			disabled := identity.AgentDisabled
			_, err = w.svc.UpdateAgent(w.ctx, c.caller, w.tenantA.ID, ag.ID, identity.AgentPatch{Status: &disabled})
			want(t, err, c.update.kind, c.update.code)
			stored, _ := w.st.GetAgent(w.ctx, w.tenantA.ID, ag.ID)
			if (stored.Status == identity.AgentDisabled) != (c.update.code == "") {
				t.Fatalf("agent status %s after update answered %q", stored.Status, c.update.code)
			}

			want(t, w.svc.DeleteAgent(w.ctx, c.caller, w.tenantA.ID, ag.ID), c.delete.kind, c.delete.code)
			_, err = w.st.GetAgent(w.ctx, w.tenantA.ID, ag.ID)
			if (err != nil) != (c.delete.code == "") {
				t.Fatalf("agent after delete answered %q: %v", c.delete.code, err)
			}
		})
	}
}

// TestBoundedOwnersChangeTheirAgentsOnlyWithAgentsWrite: CreateAgent
// requires agents:write of a key or a delegated token even for its holder's
// own agents; changing or deleting them must not need less.
func TestBoundedOwnersChangeTheirAgentsOnlyWithAgentsWrite(t *testing.T) {
	w := newWorld(t)
	readOnly := bounded(w.member, w.tenantA.ID, identity.PermTenantRead)
	delegated := identity.ActorContext{
		ActorID: w.agent.ActorID(), ActorType: identity.ActorAgent, TenantID: w.tenantA.ID,
		Credential: identity.CredentialDelegation, OnBehalfOf: w.member.ActorID(), Permissions: []string{"tenant:read"},
	}.Caller()
	for name, c := range map[string]identity.Caller{"read-only key": readOnly, "read-only delegated token": delegated} {
		t.Run(name, func(t *testing.T) {
			disabled := identity.AgentDisabled
			_, err := w.svc.UpdateAgent(w.ctx, c, w.tenantA.ID, w.agent.ID, identity.AgentPatch{Status: &disabled})
			wantFault(t, err, fault.Forbidden, "permission_denied")
			wantFault(t, w.svc.DeleteAgent(w.ctx, c, w.tenantA.ID, w.agent.ID), fault.Forbidden, "permission_denied")
			if ag, err := w.st.GetAgent(w.ctx, w.tenantA.ID, w.agent.ID); err != nil || ag.Status != identity.AgentActive {
				t.Fatalf("agent now %+v, %v", ag, err)
			}
		})
	}
}

// TestBoundedOwnersSeeTheirAgentsOnlyWithAgentsRead: a key without
// agents:read must not read agents, its holder's included.
func TestBoundedOwnersSeeTheirAgentsOnlyWithAgentsRead(t *testing.T) {
	w := newWorld(t)
	readOnly := bounded(w.member, w.tenantA.ID, identity.PermTenantRead)
	_, err := w.svc.GetAgent(w.ctx, readOnly, w.tenantA.ID, w.agent.ID)
	wantFault(t, err, fault.NotFound, "agent_not_found")
	if got, err := w.svc.ListAgents(w.ctx, readOnly, w.tenantA.ID, cursor.Page{}); err == nil && len(got) != 0 {
		t.Fatalf("read-only key lists %d agents", len(got))
	}
}

// TestListAgentsShowsBoundedCallersNothingWithoutAgentsRead: without
// agents:read a person's session lists their own agents, but a key or
// delegated token lists none, its holder's included.
func TestListAgentsShowsBoundedCallersNothingWithoutAgentsRead(t *testing.T) {
	w := newWorld(t)
	w.role(w.tenantA.ID, "viewer", identity.PermTenantRead)
	viewer := w.memberWith("viewer@a.example", "viewer")
	viewersAgent, err := w.svc.CreateAgent(w.ctx, w.as(viewer), w.tenantA.ID, identity.NewAgent{Name: "viewer's"})
	if err != nil {
		t.Fatal(err)
	}
	delegated := func(scopes ...string) identity.Caller {
		return identity.ActorContext{
			ActorID: w.agent.ActorID(), ActorType: identity.ActorAgent, TenantID: w.tenantA.ID,
			Credential: identity.CredentialDelegation, OnBehalfOf: w.member.ActorID(), Permissions: scopes,
		}.Caller()
	}
	all := []string{w.agent.ID, viewersAgent.ID}
	slices.Sort(all)
	for _, c := range []struct {
		name   string
		caller identity.Caller
		want   []string
		code   string
	}{
		{"a member's session", w.as(w.member), all, ""},
		{"a member's key with agents:read", bounded(w.member, w.tenantA.ID, identity.PermAgentsRead), all, ""},
		{"a delegated token with agents:read", delegated("agents:read"), all, ""},
		{"a session without agents:read, its own", w.as(viewer), []string{viewersAgent.ID}, ""},
		{"a member's key with tenant:read", bounded(w.member, w.tenantA.ID, identity.PermTenantRead), nil, "permission_denied"},
		{"a delegated token with tenant:read", delegated("tenant:read"), nil, "permission_denied"},
		{"a key of a holder without agents:read", bounded(viewer, w.tenantA.ID, identity.PermAgentsRead, identity.PermTenantRead), nil, "permission_denied"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := w.svc.ListAgents(w.ctx, c.caller, w.tenantA.ID, cursor.Page{})
			want(t, err, fault.Forbidden, c.code)
			var ids []string
			for _, a := range got {
				ids = append(ids, a.ID)
			}
			if !slices.Equal(ids, c.want) {
				t.Fatalf("listed %v, want %v", ids, c.want)
			}
		})
	}
}

func TestUpdateAgentChangesOnlyWhatIsGivenAndAnnouncesStatus(t *testing.T) {
	w := newWorld(t)
	name, desc := "mail helper", ""
	disabled, active := identity.AgentDisabled, identity.AgentActive
	updated := w.clock.Advance(time.Minute)

	got, err := w.svc.UpdateAgent(w.ctx, w.as(w.admin), w.tenantA.ID, w.agent.ID, identity.AgentPatch{Name: &name})
	if err != nil || got.Name != name || got.Description != "answers mail" || got.OwnerID != w.member.ActorID() || !got.UpdatedAt.Equal(updated) {
		t.Fatalf("rename = %+v, %v", got, err)
	}
	got, err = w.svc.UpdateAgent(w.ctx, w.as(w.member), w.tenantA.ID, w.agent.ID, identity.AgentPatch{Description: &desc})
	if err != nil || got.Name != name || got.Description != "" {
		t.Fatalf("describe = %+v, %v", got, err)
	}
	wantEvents(t, w.events.Take())

	got, err = w.svc.UpdateAgent(w.ctx, w.as(w.member), w.tenantA.ID, w.agent.ID, identity.AgentPatch{Status: &disabled})
	if err != nil || got.Status != identity.AgentDisabled {
		t.Fatalf("disable = %+v, %v", got, err)
	}
	wantEvents(t, w.events.Take(), evIn(event.KindActorDisabled, w.agent.ActorID(), w.agent.TenantID))
	// Disabling a disabled agent announces nothing.
	if _, err := w.svc.UpdateAgent(w.ctx, w.as(w.member), w.tenantA.ID, w.agent.ID, identity.AgentPatch{Status: &disabled}); err != nil {
		t.Fatal(err)
	}
	wantEvents(t, w.events.Take())
	_, err = w.svc.TenantPermissions(w.ctx, w.tenantA.ID, w.agent.ActorID())
	wantFault(t, err, fault.Forbidden, "agent_disabled")

	if _, err := w.svc.UpdateAgent(w.ctx, w.as(w.admin), w.tenantA.ID, w.agent.ID, identity.AgentPatch{Status: &active}); err != nil {
		t.Fatal(err)
	}
	wantEvents(t, w.events.Take(), evIn(event.KindActorEnabled, w.agent.ActorID(), w.agent.TenantID))
	if _, err := w.svc.TenantPermissions(w.ctx, w.tenantA.ID, w.agent.ActorID()); err != nil {
		t.Fatalf("enabled agent: %v", err)
	}
}

func TestUpdateAgentRejectsBadInput(t *testing.T) {
	w := newWorld(t)
	second, err := w.svc.CreateAgent(w.ctx, w.as(w.member), w.tenantA.ID, identity.NewAgent{Name: "second"})
	if err != nil {
		t.Fatal(err)
	}
	w.events.Take()
	empty, long, paused, taken := "", strings.Repeat("d", 1001), identity.AgentStatus("paused"), w.agent.Name
	for _, c := range []struct {
		name    string
		agentID string
		patch   identity.AgentPatch
		kind    fault.Kind
		field   string
		code    string
	}{
		{"empty name", second.ID, identity.AgentPatch{Name: &empty}, fault.Invalid, "name", "invalid_name"},
		{"long description", second.ID, identity.AgentPatch{Description: &long}, fault.Invalid, "description", "description_too_long"},
		{"unknown status", second.ID, identity.AgentPatch{Status: &paused}, fault.Invalid, "status", "invalid_status"},
		{"taken name", second.ID, identity.AgentPatch{Name: &taken}, fault.Conflict, "", "agent_name_taken"},
		{"malformed agent id", "not-an-id", identity.AgentPatch{Name: &taken}, fault.NotFound, "", "agent_not_found"},
		{"missing agent", ids.New(), identity.AgentPatch{Name: &taken}, fault.NotFound, "", "agent_not_found"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := w.svc.UpdateAgent(w.ctx, w.as(w.member), w.tenantA.ID, c.agentID, c.patch)
			if fe := wantFault(t, err, c.kind, c.code); fe.Field != c.field {
				t.Fatalf("field %q, want %q", fe.Field, c.field)
			}
		})
	}
	got, _ := w.st.GetAgent(w.ctx, w.tenantA.ID, second.ID)
	if got.Name != "second" || got.Status != identity.AgentActive || got.Description != "" {
		t.Fatalf("bad input changed the agent: %+v", got)
	}
	wantEvents(t, w.events.Take())
}

func TestDeleteAgentRevokesItsKeys(t *testing.T) {
	w := newWorld(t)
	key := func(holder string) string {
		h := sha256.Sum256([]byte(rand.Text()))
		k := apikey.Key{
			ID: ids.New(), TenantID: w.tenantA.ID, ActorID: holder, CreatedBy: w.member.ActorID(),
			Name: "k", Scopes: []string{"tenant:read"}, Hash: h[:], CreatedAt: w.clock.Now(),
		}
		if err := w.st.CreateAPIKey(w.ctx, k); err != nil {
			t.Fatal(err)
		}
		return k.ID
	}
	agentKeys := []string{key(w.agent.ActorID()), key(w.agent.ActorID())}
	slices.Sort(agentKeys)
	memberKey := key(w.member.ActorID())

	if err := w.svc.DeleteAgent(w.ctx, w.as(w.member), w.tenantA.ID, w.agent.ID); err != nil {
		t.Fatal(err)
	}
	wantEvents(t, w.events.Take(),
		ev(event.KindCredentialRevoked, agentKeys[0]), ev(event.KindCredentialRevoked, agentKeys[1]),
		evIn(event.KindActorChanged, w.agent.ActorID(), w.agent.TenantID))
	for _, id := range agentKeys {
		if k, err := w.st.GetAPIKey(w.ctx, id); err != nil || k.RevokedAt == nil {
			t.Fatalf("agent key %s: %+v, %v", id, k, err)
		}
	}
	if k, err := w.st.GetAPIKey(w.ctx, memberKey); err != nil || k.RevokedAt != nil {
		t.Fatalf("owner's own key: %+v, %v", k, err)
	}
	_, err := w.svc.GetAgent(w.ctx, w.as(w.member), w.tenantA.ID, w.agent.ID)
	wantFault(t, err, fault.NotFound, "agent_not_found")
	wantFault(t, w.svc.DeleteAgent(w.ctx, w.as(w.member), w.tenantA.ID, w.agent.ID), fault.NotFound, "agent_not_found")
	_, err = w.svc.TenantPermissions(w.ctx, w.tenantA.ID, w.agent.ActorID())
	wantFault(t, err, fault.NotFound, "agent_not_found")
}

func TestListAgentsShowsAllWithAgentsReadAndOwnOtherwise(t *testing.T) {
	w := newWorld(t)
	w.role(w.tenantA.ID, "viewer", identity.PermTenantRead)
	viewer := w.memberWith("viewer@a.example", "viewer")
	all := []string{w.agent.ID}
	create := func(u identity.User, tenantID, name string) string {
		ag, err := w.svc.CreateAgent(w.ctx, w.as(u), tenantID, identity.NewAgent{Name: name})
		if err != nil {
			t.Fatal(err)
		}
		return ag.ID
	}
	all = append(all, create(w.member, w.tenantA.ID, "m2"), create(w.admin, w.tenantA.ID, "a1"))
	viewers := create(viewer, w.tenantA.ID, "v1")
	all = append(all, viewers)
	slices.Sort(all)
	create(w.outB, w.tenantB.ID, "of B")

	listAll := func(c identity.Caller) []string {
		var out []string
		p := cursor.Page{Limit: 2}
		for range 10 {
			page, err := w.svc.ListAgents(w.ctx, c, w.tenantA.ID, p)
			if err != nil {
				t.Fatal(err)
			}
			for _, ag := range page {
				out = append(out, ag.ID)
			}
			if len(page) < p.Limit {
				break
			}
			p.After = page[len(page)-1].ID
		}
		return out
	}
	for name, c := range map[string]identity.Caller{"member": w.as(w.member), "admin": w.as(w.admin), "platform admin": w.as(w.root)} {
		if got := listAll(c); !slices.Equal(got, all) {
			t.Errorf("%s lists %v, want %v", name, got, all)
		}
	}
	if got := listAll(w.as(viewer)); !slices.Equal(got, []string{viewers}) {
		t.Errorf("viewer lists %v, want only their own", got)
	}
	_, err := w.svc.ListAgents(w.ctx, w.as(w.stranger), w.tenantA.ID, cursor.Page{})
	wantFault(t, err, fault.NotFound, "tenant_not_found")

	owned, err := w.svc.OwnedAgents(w.ctx, w.tenantA.ID, w.member.ActorID())
	if err != nil || len(owned) != 2 {
		t.Fatalf("OwnedAgents = %v, %v", owned, err)
	}
	for _, ag := range owned {
		if ag.OwnerID != w.member.ActorID() {
			t.Fatalf("OwnedAgents lists %+v", ag)
		}
	}
}

func TestAnAgentOfAnotherTenantIsNotFound(t *testing.T) {
	w := newWorld(t)
	bAgent, err := w.svc.CreateAgent(w.ctx, w.as(w.outB), w.tenantB.ID, identity.NewAgent{Name: "b's"})
	if err != nil {
		t.Fatal(err)
	}
	// Asked under tenant A, which the caller may use, B's agent is not there.
	_, err = w.svc.GetAgent(w.ctx, w.as(w.owner), w.tenantA.ID, bAgent.ID)
	wantFault(t, err, fault.NotFound, "agent_not_found")
	_, err = w.svc.Agent(w.ctx, w.tenantA.ID, bAgent.ID)
	wantFault(t, err, fault.NotFound, "agent_not_found")
	_, err = w.svc.TenantPermissions(w.ctx, w.tenantA.ID, bAgent.ActorID())
	wantFault(t, err, fault.NotFound, "agent_not_found")
	// Its owner may not reach it through tenant A either.
	w.join(w.tenantA.ID, w.outB, identity.RoleMember)
	wantFault(t, w.svc.DeleteAgent(w.ctx, w.as(w.outB), w.tenantA.ID, bAgent.ID), fault.NotFound, "agent_not_found")
}
