package identity

import (
	"time"

	"github.com/tollgate/tollgate/fault"
)

// Actor types.
const (
	ActorHuman   = "human"
	ActorAgent   = "agent"
	ActorService = "service"
)

// Credential kinds an ActorContext can be resolved from.
const (
	// CredentialSession is a human's access token from a login.
	CredentialSession = "session"
	// CredentialAPIKey is an API key, held by any actor type.
	CredentialAPIKey = "api_key"
	// CredentialDelegation is an access token from an RFC 8693 token
	// exchange: an agent acting on behalf of a human.
	CredentialDelegation = "delegation"
	// CredentialClientCredentials is a service's access token from the
	// OAuth 2.0 client credentials grant.
	CredentialClientCredentials = "client_credentials"
)

// ActorContext is what every authenticated request resolves to. It is built
// from a verified credential and is immutable once built.
type ActorContext struct {
	// ActorID is who is acting: "user:…", "agent:…" or "service:…". Under
	// delegation it is the agent, and OnBehalfOf is the human.
	ActorID   string `json:"actor_id"`
	ActorType string `json:"actor_type"`
	TenantID  string `json:"tenant_id,omitempty"`
	// Roles are the tenant roles of the actor (of the human under
	// delegation).
	Roles []string `json:"roles"`
	// Permissions are what this request may do: for a session the
	// permissions of its roles, for any other credential the intersection
	// of its scopes with what its holder may do.
	Permissions []string `json:"permissions"`
	// Scopes are the scopes the credential was issued with (API keys,
	// delegated and service tokens).
	Scopes     []string `json:"scopes,omitempty"`
	Credential string   `json:"credential"`
	// CredentialID is the API key id, or the client secret id of a
	// service token, or the agent key id of a delegated token.
	CredentialID string `json:"credential_id,omitempty"`
	SessionID    string `json:"session_id,omitempty"`
	// AMR is how a session's user signed in (RFC 8176: "pwd", "otp",
	// "hwk", "swk", "mfa"), from the access token.
	AMR []string `json:"amr,omitempty"`
	// OnBehalfOf is the human a delegated agent acts for.
	OnBehalfOf string `json:"on_behalf_of,omitempty"`
	// ExpiresAt is when the credential stops working; zero for an API key
	// without expiry.
	ExpiresAt time.Time `json:"expires_at,omitzero"`
	// RateLimit is an API key's own per-actor rate-limit policy spec,
	// when it has one.
	RateLimit string `json:"rate_limit,omitempty"`
	// Tenants and ResourceTypes are a service token's reach: the tenants
	// and resource types its service is registered for, Everything for
	// all. Other credentials leave them empty: their tenant is TenantID.
	Tenants       []string `json:"tenants,omitempty"`
	ResourceTypes []string `json:"resource_types,omitempty"`
}

// Everything in a service's reach stands for every tenant, or every
// resource type.
const Everything = "*"

// Serves reports whether a service's credential reaches tenantID: a
// client-credentials token the tenants its service is registered for, an
// API key its own tenant.
func (ac ActorContext) Serves(tenantID string) bool {
	if ac.Credential == CredentialClientCredentials {
		return Reaches(ac.Tenants, tenantID)
	}
	return ac.TenantID == tenantID
}

// ReachTenant refuses a service a tenant it is not registered for.
func (ac ActorContext) ReachTenant(tenantID string) error {
	if !ac.Serves(tenantID) {
		return fault.Forbiddenf(CodeTenantNotRegistered, "this service is not registered for tenant %s", tenantID)
	}
	return nil
}

// Reaches reports whether a reach list (a service's tenants or resource
// types) covers v.
func Reaches(list []string, v string) bool {
	for _, x := range list {
		if x == Everything || x == v {
			return true
		}
	}
	return false
}

// Caller identifies who is asking the identity service for something. It is
// deliberately smaller than ActorContext: the service re-reads roles from the
// store so that a membership change takes effect before tokens expire.
type Caller struct {
	ActorID string
	// Bounded callers act through a credential narrower than the actor —
	// an API key, or an agent's delegated token, whose Caller is the human
	// it acts for — and hold at most Scopes, in TenantID only, never a
	// platform admin's rights. They get no owner's shortcut either: on
	// their holder's own agents and membership they need the permission
	// as on anyone's, and they never leave a tenant for the person.
	Bounded  bool
	TenantID string
	Scopes   []string
}

// Caller returns who the identity rules should check for this request.
func (ac ActorContext) Caller() Caller {
	if ac.Credential == CredentialSession {
		return Caller{ActorID: ac.ActorID}
	}
	id := ac.ActorID
	if ac.OnBehalfOf != "" {
		id = ac.OnBehalfOf
	}
	return Caller{ActorID: id, Bounded: true, TenantID: ac.TenantID, Scopes: ac.Permissions}
}

// errSessionRequired refuses a key, delegated token or service token an
// act that only the person may do.
func errSessionRequired() error {
	return fault.Forbiddenf(CodeSessionRequired, "this needs a signed-in user's own access token, not an API key or delegated token")
}

// RequireSession refuses credentials other than a person's own session,
// for acts only the person may do: signing out, switching tenant,
// creating a tenant, leaving one.
func (ac ActorContext) RequireSession() error {
	if ac.Credential != CredentialSession {
		return errSessionRequired()
	}
	return nil
}
