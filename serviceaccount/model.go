// Package serviceaccount is the registry of internal services (actor type
// "service"): messaging, the agent runtime, the tool registry. A platform
// admin registers a service and receives a client id and secret, which the
// service exchanges for short-lived access tokens (OAuth 2.0 client
// credentials).
package serviceaccount

import (
	"context"
	"time"

	"github.com/tollgate/tollgate/cursor"
)

// ActorPrefix is the actor-id prefix of services: "service:<name>".
const ActorPrefix = "service:"

// Status is whether a service may obtain tokens.
type Status string

const (
	Active   Status = "active"
	Disabled Status = "disabled"
)

// Service is a registered service. Its client id is its ID.
type Service struct {
	ID          string
	Name        string // unique, a slug; fixed for life since it is in the actor id
	Description string
	Scopes      []string
	// Tenants and ResourceTypes are the service's reach: its scopes apply
	// in these tenants, to these resource types; identity.Everything
	// ("*") alone stands for all of either.
	Tenants       []string
	ResourceTypes []string
	Status        Status
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// ActorID returns "service:" + Name.
func (s Service) ActorID() string { return ActorPrefix + s.Name }

// Secret is one client secret of a service, stored as the SHA-256 of the
// whole secret string. A service has one current secret and, during a
// rotation's grace period, the previous one.
type Secret struct {
	ID        string
	ServiceID string
	Hash      []byte
	CreatedAt time.Time
	ExpiresAt *time.Time // set on the previous secret by a rotation with grace
	RevokedAt *time.Time
}

// Store persists services and their secrets.
type Store interface {
	// CreateService inserts s with its first secret, atomically.
	// Conflict "service_name_taken".
	CreateService(ctx context.Context, s Service, first Secret) error
	// GetService: NotFound "service_not_found".
	GetService(ctx context.Context, id string) (Service, error)
	// GetServiceByName: NotFound "service_not_found".
	GetServiceByName(ctx context.Context, name string) (Service, error)
	// ListServices lists services ordered by id.
	ListServices(ctx context.Context, p cursor.Page) ([]Service, error)
	// UpdateService writes Description, Scopes, Tenants, ResourceTypes,
	// Status and UpdatedAt.
	// NotFound "service_not_found".
	UpdateService(ctx context.Context, s Service) error
	// GetServiceSecret: NotFound "service_secret_not_found".
	GetServiceSecret(ctx context.Context, id string) (Secret, error)
	// RotateServiceSecret adds next as the service's secret. Every other
	// live secret of the service is revoked at next.CreatedAt when
	// previousUntil is nil, or otherwise keeps working until previousUntil
	// (its ExpiresAt), and is returned. NotFound "service_not_found".
	RotateServiceSecret(ctx context.Context, serviceID string, next Secret, previousUntil *time.Time) (previous []Secret, err error)
	// DeleteService deletes the service and, in the same transaction,
	// revokes at at its secrets and every API key its actor id holds in any
	// tenant, returning the ids of everything revoked (secrets and keys).
	// NotFound "service_not_found".
	DeleteService(ctx context.Context, id string, at time.Time) (revoked []string, err error)
}
