package sqlite

import (
	"context"
	"database/sql"
	"slices"
	"time"

	"github.com/tollgate/tollgate/cursor"
	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/identity"
)

const agentCols = `id, tenant_id, owner_id, name, description, status, created_at, updated_at`

func errAgentNotFound() error { return fault.NotFoundf("agent_not_found", "agent not found") }

func errAgentNameTaken() error {
	return fault.Conflictf("agent_name_taken", "the tenant has an agent with this name")
}

func scanAgent(r scanner) (identity.Agent, error) {
	var a identity.Agent
	var created, updated int64
	err := r.Scan(&a.ID, &a.TenantID, &a.OwnerID, &a.Name, &a.Description, &a.Status, &created, &updated)
	if err != nil {
		return identity.Agent{}, err
	}
	a.CreatedAt, a.UpdatedAt = fromTS(created), fromTS(updated)
	return a, nil
}

// CreateAgent inserts a. NotFound "tenant_not_found" when the tenant does
// not exist.
func (s *Store) CreateAgent(ctx context.Context, a identity.Agent) error {
	_, err := s.write.ExecContext(ctx,
		`INSERT INTO agents (`+agentCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		a.ID, a.TenantID, a.OwnerID, a.Name, a.Description, string(a.Status), ts(a.CreatedAt), ts(a.UpdatedAt))
	switch {
	case isUnique(err, "agents.name"):
		return errAgentNameTaken()
	case isUnique(err, "agents.id"):
		return fault.Conflictf("agent_exists", "an agent with this id exists")
	case isForeignKey(err):
		return errTenantNotFound()
	}
	return dbErr(err)
}

// GetAgent returns tenantID's agent id; another tenant's agent is not found.
func (s *Store) GetAgent(ctx context.Context, tenantID, id string) (identity.Agent, error) {
	a, err := scanAgent(s.read.QueryRowContext(ctx,
		`SELECT `+agentCols+` FROM agents WHERE tenant_id = ? AND id = ?`, tenantID, id))
	return one(a, err, errAgentNotFound)
}

// ListAgents pages through tenantID's agents by id, only ownerID's unless it
// is "".
func (s *Store) ListAgents(ctx context.Context, tenantID, ownerID string, p cursor.Page) ([]identity.Agent, error) {
	p = p.Normalize()
	var rows *sql.Rows
	var err error
	if ownerID == "" {
		rows, err = s.read.QueryContext(ctx,
			`SELECT `+agentCols+` FROM agents WHERE tenant_id = ? AND id > ? ORDER BY id LIMIT ?`,
			tenantID, p.After, p.Limit)
	} else {
		rows, err = s.read.QueryContext(ctx,
			`SELECT `+agentCols+` FROM agents WHERE tenant_id = ? AND owner_id = ? AND id > ? ORDER BY id LIMIT ?`,
			tenantID, ownerID, p.After, p.Limit)
	}
	if err != nil {
		return nil, dbErr(err)
	}
	return collect(rows, scanAgent)
}

// UpdateAgent writes a's name, description, status and update time, within
// a.TenantID only.
func (s *Store) UpdateAgent(ctx context.Context, a identity.Agent) error {
	res, err := s.write.ExecContext(ctx,
		`UPDATE agents SET name = ?, description = ?, status = ?, updated_at = ? WHERE tenant_id = ? AND id = ?`,
		a.Name, a.Description, string(a.Status), ts(a.UpdatedAt), a.TenantID, a.ID)
	if isUnique(err, "agents.name") {
		return errAgentNameTaken()
	}
	return affectedOne(res, err, errAgentNotFound)
}

// DeleteAgent deletes the agent and revokes its unrevoked keys in the same
// transaction, returning the key ids in ascending order.
func (s *Store) DeleteAgent(ctx context.Context, tenantID, id string, at time.Time) ([]string, error) {
	var revoked []string
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM agents WHERE tenant_id = ? AND id = ?`, tenantID, id)
		if err := affectedOne(res, err, errAgentNotFound); err != nil {
			return err
		}
		revoked, err = revokeKeys(ctx, tx, at, `tenant_id = ? AND actor_id = ?`, tenantID, identity.AgentActorPrefix+id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return revoked, nil
}

// sortedIDs scans a one-column result of ids and sorts them, since
// RETURNING gives rows in no particular order.
func sortedIDs(rows *sql.Rows) ([]string, error) {
	ids, err := collect(rows, scanString)
	if err != nil {
		return nil, err
	}
	slices.Sort(ids)
	return ids, nil
}
