package policy

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/tollgate/tollgate/cursor"
	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/identity"
)

// IdentityReader is what a snapshot needs from the identity store.
type IdentityReader interface {
	GetTenant(ctx context.Context, id string) (identity.Tenant, error)
	AllMembers(ctx context.Context, tenantID string) ([]identity.Membership, error)
	ListAgents(ctx context.Context, tenantID, ownerID string, p cursor.Page) ([]identity.Agent, error)
	ListRoles(ctx context.Context, tenantID string) ([]identity.Role, error)
	// BlockedActors lists disabled users, agents and services.
	BlockedActors(ctx context.Context) ([]string, error)
	GetMember(ctx context.Context, tenantID, actorID string) (identity.Membership, error)
	GetAgent(ctx context.Context, tenantID, id string) (identity.Agent, error)
	GetUser(ctx context.Context, id string) (identity.User, error)
}

// StoreSource builds TenantData from the identity store and the policy
// store.
type StoreSource struct {
	Identity IdentityReader
	Policies Store
}

// loadPage is the page size of the lists a snapshot reads.
const loadPage = cursor.MaxLimit

// TenantData implements Source.
func (s StoreSource) TenantData(ctx context.Context, tenantID string) (TenantData, error) {
	t, err := s.Identity.GetTenant(ctx, tenantID)
	if err != nil {
		return TenantData{}, err
	}
	blocked, err := s.Identity.BlockedActors(ctx)
	if err != nil {
		return TenantData{}, err
	}
	disabled := make(map[string]bool, len(blocked))
	for _, a := range blocked {
		disabled[a] = true
	}
	td := TenantData{TenantID: t.ID, Active: t.Status == identity.TenantActive}
	if td.Roles, err = s.Roles(ctx, tenantID); err != nil {
		return TenantData{}, err
	}
	ms, err := s.Identity.AllMembers(ctx, tenantID)
	if err != nil {
		return TenantData{}, err
	}
	td.Members = make([]Member, len(ms))
	for i, m := range ms {
		td.Members[i] = Member{ActorID: m.ActorID, Roles: m.Roles, Active: !disabled[m.ActorID]}
	}
	for p := (cursor.Page{Limit: loadPage}); ; {
		as, err := s.Identity.ListAgents(ctx, tenantID, "", p)
		if err != nil {
			return TenantData{}, err
		}
		for _, a := range as {
			td.Agents = append(td.Agents, AgentInfo{ActorID: a.ActorID(), OwnerID: a.OwnerID,
				Active: a.Status == identity.AgentActive && !disabled[a.ActorID()]})
		}
		if len(as) < loadPage {
			break
		}
		p.After = as[len(as)-1].ID
	}
	if td.Resources, err = s.Policies.ListResources(ctx, tenantID, cursor.Page{}); err != nil {
		return TenantData{}, err
	}
	if td.Policies, err = s.Policies.CurrentPolicySet(ctx, tenantID); err != nil {
		return TenantData{}, err
	}
	if td.Schema, err = s.Policies.CurrentSchema(ctx, tenantID); err != nil {
		return TenantData{}, err
	}
	return td, nil
}

var _ PartSource = StoreSource{}

// TenantActive implements PartSource.
func (s StoreSource) TenantActive(ctx context.Context, tenantID string) (bool, error) {
	t, err := s.Identity.GetTenant(ctx, tenantID)
	return t.Status == identity.TenantActive, err
}

// Roles implements PartSource.
func (s StoreSource) Roles(ctx context.Context, tenantID string) ([]string, error) {
	roles, err := s.Identity.ListRoles(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(roles))
	for i, r := range roles {
		names[i] = r.Name
	}
	return names, nil
}

// Actor implements PartSource: the membership and the agent record, with
// the status TenantData would give them.
func (s StoreSource) Actor(ctx context.Context, tenantID, actorID string) (ActorData, error) {
	var d ActorData
	m, err := s.Identity.GetMember(ctx, tenantID, actorID)
	switch {
	case err == nil:
		d.Member = &Member{ActorID: actorID, Roles: m.Roles}
	case !errors.Is(err, fault.ErrNotFound):
		return ActorData{}, err
	}
	if id, ok := strings.CutPrefix(actorID, identity.AgentActorPrefix); ok {
		a, err := s.Identity.GetAgent(ctx, tenantID, id)
		switch {
		case err == nil:
			d.Agent = &AgentInfo{ActorID: actorID, OwnerID: a.OwnerID, Active: a.Status == identity.AgentActive}
		case !errors.Is(err, fault.ErrNotFound):
			return ActorData{}, err
		}
	}
	if d.Member == nil {
		return d, nil
	}
	switch id, isUser := strings.CutPrefix(actorID, identity.UserActorPrefix); {
	case isUser:
		u, err := s.Identity.GetUser(ctx, id)
		if err != nil && !errors.Is(err, fault.ErrNotFound) {
			return ActorData{}, err
		}
		d.Member.Active = err == nil && u.Status != identity.UserDisabled
	case d.Agent != nil:
		d.Member.Active = d.Agent.Active
	default:
		blocked, err := s.Identity.BlockedActors(ctx)
		if err != nil {
			return ActorData{}, err
		}
		d.Member.Active = !slices.Contains(blocked, actorID)
	}
	return d, nil
}

// Resource implements PartSource.
func (s StoreSource) Resource(ctx context.Context, tenantID string, ref ResourceRef) (Resource, error) {
	return s.Policies.GetResource(ctx, tenantID, ref.Type, ref.ID)
}

// PolicySet implements PartSource.
func (s StoreSource) PolicySet(ctx context.Context, tenantID string) (PolicySet, error) {
	return s.Policies.CurrentPolicySet(ctx, tenantID)
}
