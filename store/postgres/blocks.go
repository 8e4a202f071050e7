package postgres

import (
	"context"

	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/serviceaccount"
)

// BlockedActors lists the actor ids of disabled users, agents and services
// in ascending order. The statuses are literals, not parameters, so that
// the planner can use the partial indexes of migration 00002.
func (s *Store) BlockedActors(ctx context.Context) ([]string, error) {
	rows, err := s.pool.Query(ctx,
		`SELECT $1 || id FROM users WHERE status = 'disabled'
		 UNION ALL
		 SELECT $2 || id FROM agents WHERE status = 'disabled'
		 UNION ALL
		 SELECT $3 || name FROM services WHERE status = 'disabled'
		 ORDER BY 1`,
		identity.UserActorPrefix, identity.AgentActorPrefix, serviceaccount.ActorPrefix)
	if err != nil {
		return nil, dbErr(err)
	}
	return collect(rows, scanString)
}

// SuspendedTenants lists the ids of tenants that are not active, in
// ascending order.
func (s *Store) SuspendedTenants(ctx context.Context) ([]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT id FROM tenants WHERE status <> 'active' ORDER BY id`)
	if err != nil {
		return nil, dbErr(err)
	}
	return collect(rows, scanString)
}
