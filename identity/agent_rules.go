package identity

import (
	"context"
	"errors"
	"strings"

	"github.com/tollgate/tollgate/audit"
	"github.com/tollgate/tollgate/cursor"
	"github.com/tollgate/tollgate/event"
	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/ids"
)

// NewAgent is the input of CreateAgent.
type NewAgent struct {
	Name        string
	Description string
}

// AgentPatch changes an agent; nil fields are left alone.
type AgentPatch struct {
	Name        *string
	Description *string
	Status      *AgentStatus
}

// maxDescriptionLen bounds free-text descriptions.
const maxDescriptionLen = 1000

func errAgentNotFound() error { return fault.NotFoundf(CodeAgentNotFound, "agent not found") }

// ValidateDescription checks an agent's or service's description: at most
// 1000 bytes, valid UTF-8, no control or format characters.
func ValidateDescription(d string) error {
	if len(d) > maxDescriptionLen {
		return fault.Invalidf("description", CodeDescriptionTooLong, "description must be at most %d bytes long, not %d", maxDescriptionLen, len(d))
	}
	return CheckText("description", d, maxDescriptionLen, CodeInvalidDescription)
}

// humanMember resolves the caller's access to a tenant and requires a
// human: agents and services cannot own agents.
func (s *Service) humanMember(ctx context.Context, c Caller, tenantID string) (access, error) {
	if !strings.HasPrefix(c.ActorID, UserActorPrefix) {
		return access{}, fault.Forbiddenf(CodeHumanRequired, "only a human can own and manage agents")
	}
	return s.resolve(ctx, c, tenantID)
}

// CreateAgent creates an agent owned by the calling human. Any member of
// the tenant may create their own agents.
func (s *Service) CreateAgent(ctx context.Context, c Caller, tenantID string, in NewAgent) (Agent, error) {
	acc, err := s.humanMember(ctx, c, tenantID)
	if err != nil {
		return Agent{}, err
	}
	// A person may always make their own agents; a key or an agent acting
	// for them needs that right in its scopes.
	if c.Bounded {
		if err := acc.require(PermAgentsWrite); err != nil {
			return Agent{}, err
		}
	}
	if err := ValidateName("name", in.Name, false); err != nil {
		return Agent{}, err
	}
	if err := ValidateDescription(in.Description); err != nil {
		return Agent{}, err
	}
	if s.opts.MaxAgentsPerTenant > 0 {
		n, err := s.store.CountAgents(ctx, tenantID)
		if err != nil {
			return Agent{}, err
		}
		if err := underLimit(n, 1, s.opts.MaxAgentsPerTenant, "max_agents_per_tenant", "this tenant's number of agents"); err != nil {
			return Agent{}, err
		}
	}
	now := s.timestamp()
	a := Agent{
		ID: ids.NewAt(now), TenantID: tenantID, OwnerID: c.ActorID, Name: in.Name,
		Description: in.Description, Status: AgentActive, CreatedAt: now, UpdatedAt: now,
	}
	ctx = audit.Record(ctx, audit.Event{TenantID: tenantID, Action: audit.ActionAgentCreate, TargetType: "agent", TargetID: a.ActorID(),
		Detail: map[string]string{"owner": a.OwnerID}})
	if err := s.store.CreateAgent(ctx, a); err != nil {
		return Agent{}, err
	}
	s.notify.Notify(ctx, event.Event{Kind: event.KindActorChanged, ID: a.ActorID(), Tenant: tenantID, At: now})
	return a, nil
}

// agentFor loads an agent the caller may act on with p: in their own
// session its owner may do anything to it; anyone else, and any key or
// delegated token (its holder's agents included), needs p. An agent the
// caller may not read is not found, except that a bounded caller changing
// its holder's own agent is told which permission it lacks.
func (s *Service) agentFor(ctx context.Context, c Caller, tenantID, agentID string, p Permission) (Agent, error) {
	acc, err := s.resolve(ctx, c, tenantID)
	if err != nil {
		return Agent{}, err
	}
	if !ids.Valid(agentID) {
		return Agent{}, errAgentNotFound()
	}
	ag, err := s.store.GetAgent(ctx, tenantID, agentID)
	if err != nil {
		return Agent{}, err
	}
	own := ag.OwnerID == c.ActorID
	switch {
	case own && !c.Bounded:
		return ag, nil
	case own && p != PermAgentsRead:
		// The holder knows its agents; hiding them would only confuse.
	case !acc.has(PermAgentsRead):
		return Agent{}, errAgentNotFound()
	}
	if err := acc.require(p); err != nil {
		return Agent{}, err
	}
	return ag, nil
}

// GetAgent returns an agent to its owner or to holders of agents:read.
func (s *Service) GetAgent(ctx context.Context, c Caller, tenantID, agentID string) (Agent, error) {
	return s.agentFor(ctx, c, tenantID, agentID, PermAgentsRead)
}

// ListAgents lists the tenant's agents for holders of agents:read, and the
// caller's own agents for anyone else in their own session. A key or
// delegated token without agents:read may list none, its holder's
// included.
func (s *Service) ListAgents(ctx context.Context, c Caller, tenantID string, p cursor.Page) ([]Agent, error) {
	acc, err := s.resolve(ctx, c, tenantID)
	if err != nil {
		return nil, err
	}
	owner := ""
	if !acc.has(PermAgentsRead) {
		if c.Bounded {
			return nil, acc.require(PermAgentsRead)
		}
		owner = c.ActorID
	}
	return s.store.ListAgents(ctx, tenantID, owner, p.Normalize())
}

// UpdateAgent renames, describes, disables or enables an agent (its owner
// in their own session, or agents:write).
func (s *Service) UpdateAgent(ctx context.Context, c Caller, tenantID, agentID string, p AgentPatch) (Agent, error) {
	ag, err := s.agentFor(ctx, c, tenantID, agentID, PermAgentsWrite)
	if err != nil {
		return Agent{}, err
	}
	before := ag.Status
	if p.Name != nil {
		if err := ValidateName("name", *p.Name, false); err != nil {
			return Agent{}, err
		}
		ag.Name = *p.Name
	}
	if p.Description != nil {
		if err := ValidateDescription(*p.Description); err != nil {
			return Agent{}, err
		}
		ag.Description = *p.Description
	}
	if p.Status != nil {
		if *p.Status != AgentActive && *p.Status != AgentDisabled {
			return Agent{}, fault.Invalidf("status", CodeInvalidStatus, "status must be active or disabled")
		}
		ag.Status = *p.Status
	}
	ag.UpdatedAt = s.timestamp()
	ctx = audit.Record(ctx, audit.Event{TenantID: tenantID, Action: audit.ActionAgentUpdate, TargetType: "agent", TargetID: ag.ActorID(),
		Detail: map[string]string{"status": string(ag.Status)}})
	if err := s.store.UpdateAgent(ctx, ag); err != nil {
		return Agent{}, err
	}
	if ag.Status != before {
		kind := event.KindActorEnabled
		if ag.Status == AgentDisabled {
			kind = event.KindActorDisabled
		}
		s.notify.Notify(ctx, event.Event{Kind: kind, ID: ag.ActorID(), Tenant: tenantID, At: ag.UpdatedAt})
	}
	return ag, nil
}

// DeleteAgent deletes an agent and revokes its API keys (its owner in
// their own session, or agents:write). Tokens delegated to it name one of those keys, so they
// stop working too.
func (s *Service) DeleteAgent(ctx context.Context, c Caller, tenantID, agentID string) error {
	ag, err := s.agentFor(ctx, c, tenantID, agentID, PermAgentsWrite)
	if err != nil {
		return err
	}
	now := s.timestamp()
	ctx = audit.Record(ctx, audit.Event{TenantID: tenantID, Action: audit.ActionAgentDelete, TargetType: "agent", TargetID: ag.ActorID()})
	revoked, err := s.store.DeleteAgent(ctx, tenantID, ag.ID, now)
	if err != nil {
		return err
	}
	s.notify.Notify(ctx, append(event.Of(event.KindCredentialRevoked, now, revoked...),
		event.Event{Kind: event.KindActorChanged, ID: ag.ActorID(), Tenant: tenantID, At: now})...)
	return nil
}

// TenantPermissions returns what actorID may do in tenantID right now as a
// member: a human's role permissions, or an agent's ceiling — its owner's
// permissions — while the agent is active. Platform-admin standing does not
// count: keys are tenant credentials, bounded by membership.
// NotFound when the actor has no standing there; Forbidden
// "tenant_suspended" when the tenant is not active, "user_disabled" when
// the user (or the agent's owner) is.
func (s *Service) TenantPermissions(ctx context.Context, tenantID, actorID string) (PermissionSet, error) {
	if id, ok := strings.CutPrefix(actorID, AgentActorPrefix); ok {
		ag, err := s.store.GetAgent(ctx, tenantID, id)
		if err != nil {
			return nil, err
		}
		if ag.Status != AgentActive {
			return nil, fault.Forbiddenf(CodeAgentDisabled, "this agent is disabled")
		}
		actorID = ag.OwnerID
	}
	userID, ok := strings.CutPrefix(actorID, UserActorPrefix)
	if !ok {
		return nil, fault.NotFoundf(CodeMemberNotFound, "member not found")
	}
	if !ids.Valid(tenantID) {
		return nil, errTenantNotFound()
	}
	// One read for the tenant, the membership and the user: this runs for
	// every API key the resolver does not hold (BENCHMARKS.md, issue 11).
	// The checks and their order are resolve's for a member, then the user.
	st, err := s.store.GetStanding(ctx, tenantID, userID)
	switch {
	case errors.Is(err, fault.ErrNotFound):
		return nil, errTenantNotFound()
	case err != nil:
		return nil, err
	case !st.Member:
		return nil, errTenantNotFound()
	case st.TenantStatus != TenantActive:
		return nil, fault.Forbiddenf(CodeTenantSuspended, "this tenant is suspended")
	}
	custom, err := s.customRolesFor(ctx, tenantID, st.Roles)
	if err != nil {
		return nil, err
	}
	if st.UserStatus != UserActive {
		return nil, fault.Forbiddenf(CodeUserDisabled, "this user is disabled")
	}
	return ResolvePermissions(st.Roles, custom), nil
}

// Agent returns an agent by tenant and id, without access checks, for
// credential resolution.
func (s *Service) Agent(ctx context.Context, tenantID, agentID string) (Agent, error) {
	return s.store.GetAgent(ctx, tenantID, agentID)
}

// maxOwnedAgents bounds OwnedAgents; listing keys "of mine" filters by it.
const maxOwnedAgents = 1000

// OwnedAgents lists up to maxOwnedAgents agents of ownerID in tenantID.
func (s *Service) OwnedAgents(ctx context.Context, tenantID, ownerID string) ([]Agent, error) {
	var out []Agent
	p := cursor.Page{Limit: cursor.MaxLimit}
	for len(out) < maxOwnedAgents {
		page, err := s.store.ListAgents(ctx, tenantID, ownerID, p)
		if err != nil {
			return nil, err
		}
		out = append(out, page...)
		if len(page) < p.Limit {
			break
		}
		p.After = page[len(page)-1].ID
	}
	return out, nil
}
