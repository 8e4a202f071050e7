package policy

import (
	"context"

	"github.com/tollgate/tollgate/cursor"
	"github.com/tollgate/tollgate/identity"
)

// IdentityReader is what a snapshot needs from the identity store.
type IdentityReader interface {
	GetTenant(ctx context.Context, id string) (identity.Tenant, error)
	ListMembers(ctx context.Context, tenantID string, p cursor.Page) ([]identity.Membership, error)
	ListAgents(ctx context.Context, tenantID, ownerID string, p cursor.Page) ([]identity.Agent, error)
	ListRoles(ctx context.Context, tenantID string) ([]identity.Role, error)
	// BlockedActors lists disabled users, agents and services.
	BlockedActors(ctx context.Context) ([]string, error)
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
	roles, err := s.Identity.ListRoles(ctx, tenantID)
	if err != nil {
		return TenantData{}, err
	}
	for _, r := range roles {
		td.Roles = append(td.Roles, r.Name)
	}
	for p := (cursor.Page{Limit: loadPage}); ; {
		ms, err := s.Identity.ListMembers(ctx, tenantID, p)
		if err != nil {
			return TenantData{}, err
		}
		for _, m := range ms {
			td.Members = append(td.Members, Member{ActorID: m.ActorID, Roles: m.Roles, Active: !disabled[m.ActorID]})
		}
		if len(ms) < loadPage {
			break
		}
		p.After = ms[len(ms)-1].ActorID
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
