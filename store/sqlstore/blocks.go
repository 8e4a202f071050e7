package sqlstore

import (
	"context"

	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/serviceaccount"
)

// BlockedActors lists the actor ids of disabled users, agents and services
// in ascending order. The statuses are literals, not parameters, so that
// the planner can use the partial indexes of migration 00002.
func (s *Store) BlockedActors(ctx context.Context) ([]string, error) {
	return readAll(ctx, s, scanString,
		`SELECT ? || id FROM users WHERE status = 'disabled'
		 UNION ALL
		 SELECT ? || id FROM agents WHERE status = 'disabled'
		 UNION ALL
		 SELECT ? || name FROM services WHERE status = 'disabled'
		 ORDER BY 1`,
		identity.UserActorPrefix, identity.AgentActorPrefix, serviceaccount.ActorPrefix)
}

// SuspendedTenants lists the ids of tenants that are not active, in
// ascending order.
func (s *Store) SuspendedTenants(ctx context.Context) ([]string, error) {
	return readAll(ctx, s, scanString, `SELECT id FROM tenants WHERE status <> 'active' ORDER BY id`)
}
