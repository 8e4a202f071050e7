package postgres

import (
	"context"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tollgate/tollgate/cursor"
	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/identity"
)

const agentCols = `id, tenant_id, owner_id, name, description, status, created_at, updated_at`

func errAgentNotFound() error { return fault.NotFoundf("agent_not_found", "agent not found") }

func errAgentNameTaken() error {
	return fault.Conflictf("agent_name_taken", "the tenant has an agent with this name")
}

func scanAgent(r pgx.Row) (identity.Agent, error) {
	var a identity.Agent
	err := r.Scan(&a.ID, &a.TenantID, &a.OwnerID, &a.Name, &a.Description, &a.Status, &a.CreatedAt, &a.UpdatedAt)
	if err != nil {
		return identity.Agent{}, err
	}
	a.CreatedAt, a.UpdatedAt = a.CreatedAt.UTC(), a.UpdatedAt.UTC()
	return a, nil
}

// CreateAgent inserts a. NotFound "tenant_not_found" when the tenant does
// not exist.
func (s *Store) CreateAgent(ctx context.Context, a identity.Agent) error {
	_, err := s.pool.Exec(ctx,
		`INSERT INTO agents (`+agentCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		a.ID, a.TenantID, a.OwnerID, a.Name, a.Description, string(a.Status), ts(a.CreatedAt), ts(a.UpdatedAt))
	switch violated(err) {
	case "agents_name_key":
		return errAgentNameTaken()
	case "agents_pkey":
		return fault.Conflictf("agent_exists", "an agent with this id exists")
	case "agents_tenant_fkey":
		return errTenantNotFound()
	}
	return dbErr(err)
}

// GetAgent returns tenantID's agent id; another tenant's agent is not found.
func (s *Store) GetAgent(ctx context.Context, tenantID, id string) (identity.Agent, error) {
	a, err := scanAgent(s.pool.QueryRow(ctx,
		`SELECT `+agentCols+` FROM agents WHERE tenant_id = $1 AND id = $2`, tenantID, id))
	return one(a, err, errAgentNotFound)
}

// ListAgents pages through tenantID's agents by id, only ownerID's unless it
// is "".
func (s *Store) ListAgents(ctx context.Context, tenantID, ownerID string, p cursor.Page) ([]identity.Agent, error) {
	p = p.Normalize()
	var rows pgx.Rows
	var err error
	if ownerID == "" {
		rows, err = s.pool.Query(ctx,
			`SELECT `+agentCols+` FROM agents WHERE tenant_id = $1 AND id > $2 ORDER BY id LIMIT $3`,
			tenantID, p.After, p.Limit)
	} else {
		rows, err = s.pool.Query(ctx,
			`SELECT `+agentCols+` FROM agents WHERE tenant_id = $1 AND owner_id = $2 AND id > $3 ORDER BY id LIMIT $4`,
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
	tag, err := s.pool.Exec(ctx,
		`UPDATE agents SET name = $1, description = $2, status = $3, updated_at = $4 WHERE tenant_id = $5 AND id = $6`,
		a.Name, a.Description, string(a.Status), ts(a.UpdatedAt), a.TenantID, a.ID)
	if violated(err) == "agents_name_key" {
		return errAgentNameTaken()
	}
	return affectedOne(tag, err, errAgentNotFound)
}

// DeleteAgent deletes the agent and revokes its unrevoked keys in the same
// transaction, returning the key ids in ascending order.
func (s *Store) DeleteAgent(ctx context.Context, tenantID, id string, at time.Time) ([]string, error) {
	var revoked []string
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM agents WHERE tenant_id = $1 AND id = $2`, tenantID, id)
		if err := affectedOne(tag, err, errAgentNotFound); err != nil {
			return err
		}
		revoked, err = revokeKeys(ctx, tx, at, `tenant_id = $2 AND actor_id = $3`, tenantID, identity.AgentActorPrefix+id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return revoked, nil
}

// sortedIDs scans a one-column result of ids and sorts them, since
// RETURNING gives rows in no particular order.
func sortedIDs(rows pgx.Rows) ([]string, error) {
	ids, err := collect(rows, scanString)
	if err != nil {
		return nil, err
	}
	slices.Sort(ids)
	return ids, nil
}

func scanString(r pgx.Row) (v string, err error) {
	err = r.Scan(&v)
	return v, err
}
