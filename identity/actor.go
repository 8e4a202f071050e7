package identity

import "time"

// Actor types.
const (
	ActorHuman   = "human"
	ActorAgent   = "agent"
	ActorService = "service"
)

// Credential kinds an ActorContext can be resolved from.
const (
	CredentialSession = "session"
)

// ActorContext is what every authenticated request resolves to. It is built
// from a verified credential and is immutable once built.
type ActorContext struct {
	ActorID     string    `json:"actor_id"`
	ActorType   string    `json:"actor_type"`
	TenantID    string    `json:"tenant_id,omitempty"`
	Roles       []string  `json:"roles"`
	Permissions []string  `json:"permissions"`
	Credential  string    `json:"credential"`
	SessionID   string    `json:"session_id,omitempty"`
	ExpiresAt   time.Time `json:"expires_at"`
}

// Caller identifies who is asking the identity service for something. It is
// deliberately smaller than ActorContext: the service re-reads roles from the
// store so that a membership change takes effect before tokens expire.
type Caller struct {
	ActorID string
}
