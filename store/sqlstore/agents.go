package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"github.com/tollgate/tollgate/cursor"
	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/identity"
)

const agentCols = `id, tenant_id, owner_id, name, description, status, created_at, updated_at`

func errAgentNotFound() error { return fault.NotFoundf(identity.CodeAgentNotFound, "agent not found") }

func errAgentNameTaken() error {
	return fault.Conflictf(identity.CodeAgentNameTaken, "the tenant has an agent with this name")
}

func scanAgent(r scanner) (a identity.Agent, err error) {
	err = r.Scan(&a.ID, &a.TenantID, &a.OwnerID, &a.Name, &a.Description, &a.Status,
		at(&a.CreatedAt), at(&a.UpdatedAt))
	return a, err
}

// CreateAgent inserts a. NotFound "tenant_not_found" when the tenant does
// not exist.
func (s *Store) CreateAgent(ctx context.Context, a identity.Agent) error {
	_, err := s.exec(ctx, s.write,
		`INSERT INTO agents (`+agentCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		a.ID, a.TenantID, a.OwnerID, a.Name, a.Description, string(a.Status),
		s.d.Time(a.CreatedAt), s.d.Time(a.UpdatedAt))
	switch {
	case s.violates(err, "agents_name_key"):
		return errAgentNameTaken()
	case s.violates(err, "agents_pkey"):
		return fault.Conflictf(identity.CodeAgentExists, "an agent with this id exists")
	case s.violates(err, "agents_tenant_fkey"):
		return errTenantNotFound()
	}
	return s.dbErr(err)
}

// GetAgent returns tenantID's agent id; another tenant's agent is not found.
func (s *Store) GetAgent(ctx context.Context, tenantID, id string) (identity.Agent, error) {
	return get(ctx, s, scanAgent, errAgentNotFound,
		`SELECT `+agentCols+` FROM agents WHERE tenant_id = ? AND id = ?`, tenantID, id)
}

// ListAgents pages through tenantID's agents by id, only ownerID's unless it
// is "".
func (s *Store) ListAgents(ctx context.Context, tenantID, ownerID string, p cursor.Page) ([]identity.Agent, error) {
	if ownerID == "" {
		return list(ctx, s, p, scanAgent,
			`SELECT `+agentCols+` FROM agents WHERE tenant_id = ? AND id > ? ORDER BY id LIMIT ?`, tenantID)
	}
	return list(ctx, s, p, scanAgent,
		`SELECT `+agentCols+` FROM agents WHERE tenant_id = ? AND owner_id = ? AND id > ? ORDER BY id LIMIT ?`,
		tenantID, ownerID)
}

// UpdateAgent writes a's name, description, status and update time, within
// a.TenantID only.
func (s *Store) UpdateAgent(ctx context.Context, a identity.Agent) error {
	res, err := s.exec(ctx, s.write,
		`UPDATE agents SET name = ?, description = ?, status = ?, updated_at = ? WHERE tenant_id = ? AND id = ?`,
		a.Name, a.Description, string(a.Status), s.d.Time(a.UpdatedAt), a.TenantID, a.ID)
	if s.violates(err, "agents_name_key") {
		return errAgentNameTaken()
	}
	return s.affectedOne(res, err, errAgentNotFound)
}

// DeleteAgent deletes the agent and revokes its unrevoked keys in the same
// transaction, returning the key ids in ascending order.
func (s *Store) DeleteAgent(ctx context.Context, tenantID, id string, at time.Time) ([]string, error) {
	var revoked []string
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := s.exec(ctx, tx, `DELETE FROM agents WHERE tenant_id = ? AND id = ?`, tenantID, id)
		if err := s.affectedOne(res, err, errAgentNotFound); err != nil {
			return err
		}
		revoked, err = s.revokeKeys(ctx, tx, at, `tenant_id = ? AND actor_id = ?`, tenantID, identity.AgentActorPrefix+id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return revoked, nil
}

// CountAgents counts tenantID's agents.
func (s *Store) CountAgents(ctx context.Context, tenantID string) (int, error) {
	return s.count(ctx, `SELECT count(*) FROM agents WHERE tenant_id = ?`, tenantID)
}
