// Package policy is Tollgate's policy decision point: it answers "may this
// actor do this action on this resource?" with permit or deny and the ids
// of the policies that decided, evaluating Cedar policies (cedar-go) in
// process against an immutable snapshot of one tenant's identity data,
// registered resources and policies.
//
// The Cedar schema (schema.cedarschema) and the five default policy
// families (defaults/*.cedar) ship in the binary. docs/policy.md describes
// the model.
package policy

import (
	"context"
	"time"
)

// Decisions.
const (
	Permit = "permit"
	Deny   = "deny"
)

// Reasons that are not policy ids.
const (
	// ReasonDefaultDeny: no policy permitted the request.
	ReasonDefaultDeny = "default_deny"
	// ReasonEvaluationError: a policy failed to evaluate. Cedar skips such
	// a policy, so an erroring forbid would not deny; Tollgate denies.
	ReasonEvaluationError = "evaluation_error"
	// ReasonUnavailable: the tenant's snapshot could not be built.
	ReasonUnavailable = "unavailable"
	// ReasonInvalidRequest: the request names an unknown action or entity
	// type, or a malformed id.
	ReasonInvalidRequest = "invalid_request"
	// ReasonCredentialScope: the caller asked about itself with an API key
	// or delegated token whose scopes lack the permission the action
	// stands for, whatever the policies say of its holder.
	ReasonCredentialScope = "credential_scope"
)

// ResourceRef names a resource: a lower-case type ("channel", "tool",
// "agent", "usage", "tenant") and an id.
type ResourceRef struct {
	Type string `json:"type"`
	ID   string `json:"id"`
}

// Request is one question.
type Request struct {
	// Principal is an actor id: "user:93", "agent:…", "service:…".
	Principal string
	// Action is an action name such as "SEND_MESSAGE".
	Action   string
	Resource ResourceRef
	// OnBehalfOf is the human a delegated agent acts for ("user:…").
	OnBehalfOf string
	// Context holds request attributes only the caller knows (ip).
	Context map[string]any
	// Entities are extra resources known only to the caller, used for
	// this request alone; they cannot replace a registered resource or
	// any identity entity.
	Entities []Resource

	// bounded marks a credential asking about itself (Service sets it):
	// the decision can permit no action beyond boundTo, its permissions.
	// Never taken from the request's JSON.
	bounded bool
	boundTo []string
}

// Decision is the answer.
type Decision struct {
	Decision string `json:"decision"`
	// Reasons are the ids of the policies that decided: the permitting
	// ones, or on a deny the forbidding ones, or default_deny.
	Reasons []string `json:"reasons"`
	// Errors describe policies that failed to evaluate, or why the
	// request could not be evaluated at all.
	Errors []string `json:"errors"`
	// DecisionID identifies the decision in the audit trail.
	DecisionID string `json:"decision_id"`
	// PolicyVersion is the version of the tenant's policies the decision
	// was made under (0: the defaults alone).
	PolicyVersion int64 `json:"policy_version"`
}

// Permitted reports whether d is a permit.
func (d Decision) Permitted() bool { return d.Decision == Permit }

// Resource is a registered resource with its parents and attributes.
// Attribute values are JSON values: strings, numbers, booleans, arrays
// (sets) and objects (records).
type Resource struct {
	TenantID  string         `json:"-"`
	Type      string         `json:"type"`
	ID        string         `json:"id"`
	Parents   []ResourceRef  `json:"parents"`
	Attrs     map[string]any `json:"attrs"`
	UpdatedAt time.Time      `json:"updated_at"`
}

// Ref returns the resource's reference.
func (r Resource) Ref() ResourceRef { return ResourceRef{Type: r.Type, ID: r.ID} }

// PolicySet is one version of a tenant's own policies.
type PolicySet struct {
	TenantID string
	// Version counts from 1; every change is a new version.
	Version   int64
	Text      string
	CreatedBy string
	CreatedAt time.Time
}

// Member is a principal of a tenant as the policies see it.
type Member struct {
	ActorID string
	Roles   []string
	Active  bool
}

// AgentInfo is an agent of the tenant.
type AgentInfo struct {
	ActorID string
	OwnerID string
	Active  bool
}

// TenantData is everything a tenant's snapshot is built from.
type TenantData struct {
	TenantID string
	Active   bool
	// Roles are the tenant's custom role names.
	Roles     []string
	Members   []Member
	Agents    []AgentInfo
	Resources []Resource
	// Policies is the current version of the tenant's own policies; a
	// zero Version means it has none.
	Policies PolicySet
	// Schema is the current version of the tenant's schema extension; a
	// zero Version means it has none.
	Schema SchemaVersion
}

// Source loads a tenant's data. NotFound when the tenant does not exist.
type Source interface {
	TenantData(ctx context.Context, tenantID string) (TenantData, error)
}
