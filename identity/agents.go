package identity

import (
	"context"
	"time"

	"github.com/tollgate/tollgate/cursor"
)

// AgentActorPrefix is the actor-id prefix of agents.
const AgentActorPrefix = "agent:"

// AgentStatus is whether an agent may act.
type AgentStatus string

const (
	AgentActive   AgentStatus = "active"
	AgentDisabled AgentStatus = "disabled"
)

// Agent is an AI agent that acts in one tenant, owned by the human who
// created it. Its actor id is "agent:" + ID.
type Agent struct {
	ID          string
	TenantID    string
	OwnerID     string // actor id of the owning human, "user:…"
	Name        string
	Description string
	Status      AgentStatus
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// ActorID returns the agent's typed actor id.
func (a Agent) ActorID() string { return AgentActorPrefix + a.ID }

// AgentStore persists agents.
type AgentStore interface {
	// CreateAgent: Conflict "agent_name_taken" when the tenant has an agent
	// of that name.
	CreateAgent(ctx context.Context, a Agent) error
	// CountAgents counts tenantID's agents, whatever their status.
	CountAgents(ctx context.Context, tenantID string) (int, error)
	// GetAgent: NotFound "agent_not_found", also for an agent of another
	// tenant.
	GetAgent(ctx context.Context, tenantID, id string) (Agent, error)
	// ListAgents lists a tenant's agents ordered by id; ownerID "" lists all.
	ListAgents(ctx context.Context, tenantID, ownerID string, p cursor.Page) ([]Agent, error)
	// UpdateAgent writes Name, Description, Status and UpdatedAt.
	// NotFound "agent_not_found"; Conflict "agent_name_taken".
	UpdateAgent(ctx context.Context, a Agent) error
	// DeleteAgent deletes the agent and, in the same transaction, revokes
	// every API key it holds at at, returning their ids.
	// NotFound "agent_not_found".
	DeleteAgent(ctx context.Context, tenantID, id string, at time.Time) (revokedKeys []string, err error)
}
