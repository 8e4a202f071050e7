// Package credential turns any credential Tollgate accepts — an access token
// (a session's, a service's or a delegated one) or an API key — into an
// identity.ActorContext, and keeps the in-memory state that makes this fast
// and lets revocations and suspensions take effect at once: revoked
// credential ids, blocked actors and suspended tenants, fed by the store and
// by events on the bus.
package credential

import "context"

// BlockStore lists what the resolver must refuse regardless of the
// credential presented. Both lists are small (they only hold exceptions),
// so replicas reload them whole.
type BlockStore interface {
	// BlockedActors lists the actor ids of disabled users ("user:…"),
	// disabled agents ("agent:…") and disabled services ("service:…").
	BlockedActors(ctx context.Context) ([]string, error)
	// SuspendedTenants lists the ids of tenants that are not active.
	SuspendedTenants(ctx context.Context) ([]string, error)
}
