// Package webhook sends Tollgate's events to tenants' HTTP endpoints as
// Standard Webhooks (https://www.standardwebhooks.com): endpoints and their
// signing secrets, the event catalogue mapped from the audit log, the URL
// rules that keep deliveries off internal networks (SSRF), the signature,
// the retry schedule and the worker that delivers from the outbox.
//
// Events come from the audit log, which already records every
// must-not-lose act in the transaction of the act: a per-tenant cursor over
// the tenant's audit stream turns new events into deliveries, so the write
// path pays nothing and only tenants with endpoints cost the worker
// anything.
package webhook

import (
	"context"
	"time"

	"github.com/tollgate/tollgate/audit"
	"github.com/tollgate/tollgate/cursor"
)

// Status is an endpoint's state.
type Status string

const (
	Enabled Status = "enabled"
	// Disabled endpoints receive nothing: the tenant turned them off, or
	// the worker did after sustained failure (DisabledReason says which).
	Disabled Status = "disabled"
)

// Reasons an endpoint was disabled.
const (
	ReasonByUser  = "disabled_by_user"
	ReasonFailing = "sustained_failure"
)

// Endpoint is a tenant's webhook endpoint.
type Endpoint struct {
	ID          string
	TenantID    string
	URL         string
	Description string
	// EventTypes are the types it receives; empty receives every type.
	EventTypes     []string
	Status         Status
	DisabledReason string
	// Secret signs every delivery; PreviousSecret signs too (a second
	// signature) until PreviousExpiresAt, so that receivers can roll over.
	Secret            SealedSecret
	PreviousSecret    *SealedSecret
	PreviousExpiresAt *time.Time
	// FailingSince is when the current run of failed attempts began; nil
	// when the last attempt succeeded.
	FailingSince *time.Time
	CreatedBy    string
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// Wants reports whether the endpoint receives events of type t.
func (e Endpoint) Wants(t string) bool {
	if len(e.EventTypes) == 0 {
		return true
	}
	for _, w := range e.EventTypes {
		if w == t {
			return true
		}
	}
	return false
}

// SealedSecret is a signing secret encrypted with the master key; ID is
// bound into the seal so a blob moved to another row does not open.
type SealedSecret struct {
	ID     string
	Sealed []byte
}

// DeliveryStatus is a delivery's state.
type DeliveryStatus string

const (
	// Pending deliveries wait for their next attempt (or are being tried).
	Pending   DeliveryStatus = "pending"
	Succeeded DeliveryStatus = "succeeded"
	// Failed deliveries ran out of attempts, or their endpoint was
	// disabled; a redelivery makes them pending again.
	Failed DeliveryStatus = "failed"
)

// Delivery is one message to one endpoint: a row of the outbox.
type Delivery struct {
	ID         string
	TenantID   string
	EndpointID string
	// MessageID is the webhook-id header, the same on every attempt.
	MessageID     string
	EventType     string
	Payload       []byte
	Status        DeliveryStatus
	Attempts      int
	NextAttemptAt time.Time
	CreatedAt     time.Time
	// The last attempt: when, the HTTP status (0: no answer), how long it
	// took, the start of the answer, and why it failed.
	LastAttemptAt *time.Time
	LastStatus    int
	LastLatency   time.Duration
	LastResponse  string
	LastError     string
}

// EndpointPatch changes an endpoint; nil fields stay.
type EndpointPatch struct {
	URL         *string
	Description *string
	EventTypes  *[]string
	Status      *Status
	// DisabledReason is why Status disables the endpoint (ReasonByUser,
	// ReasonFailing); an endpoint already disabled keeps its reason, and
	// enabling clears it.
	DisabledReason string
	// IfFailing applies the patch only while the endpoint is enabled and
	// has been failing since exactly this time: the worker's disable, which
	// must not undo an enable made since it read the endpoint (Conflict
	// "webhook_changed").
	IfFailing *time.Time
}

// Result is the outcome of one attempt, as the worker writes it back.
type Result struct {
	DeliveryID string
	EndpointID string
	At         time.Time
	OK         bool
	Status     int
	Latency    time.Duration
	Response   string
	Error      string
	// Next is when to try again; nil after a success or the last attempt.
	Next *time.Time
}

// Route turns a tenant's new audit events into deliveries for its enabled
// endpoints. The store calls it inside the transaction that advances the
// tenant's cursor.
type Route func(tenantID string, events []audit.Event, endpoints []Endpoint) []Delivery

// Store keeps endpoints, cursors and the outbox. Every endpoint and
// delivery read or write names its tenant.
type Store interface {
	// CreateWebhook inserts e and, when its tenant has no cursor yet,
	// starts one at the tenant's current audit head, so that only later
	// events are delivered. NotFound "tenant_not_found".
	CreateWebhook(ctx context.Context, e Endpoint) error
	// GetWebhook: NotFound "webhook_not_found" also for another tenant's.
	GetWebhook(ctx context.Context, tenantID, id string) (Endpoint, error)
	// ListWebhooks pages through the tenant's endpoints by id.
	ListWebhooks(ctx context.Context, tenantID string, p cursor.Page) ([]Endpoint, error)
	// CountWebhooks counts the tenant's endpoints.
	CountWebhooks(ctx context.Context, tenantID string) (int, error)
	// UpdateWebhook writes the fields p sets, and at as UpdatedAt, in one
	// statement that reads nothing from the caller's earlier read: a
	// PATCH of the description cannot re-enable an endpoint the worker
	// disabled meanwhile. Disabling also fails the endpoint's pending
	// deliveries, and enabling clears FailingSince. NotFound
	// "webhook_not_found"; Conflict "webhook_changed" when p.IfFailing no
	// longer holds.
	UpdateWebhook(ctx context.Context, tenantID, id string, p EndpointPatch, at time.Time) (Endpoint, error)
	// TenantOwnerEmails lists the addresses of at most limit active users
	// who own the tenant, ordered by address: who is told when an endpoint
	// is disabled.
	TenantOwnerEmails(ctx context.Context, tenantID string, limit int) ([]string, error)
	// RotateWebhookSecret makes next the secret and keeps the current one
	// as the previous until previousUntil (nil drops it).
	RotateWebhookSecret(ctx context.Context, tenantID, id string, next SealedSecret, previousUntil *time.Time, at time.Time) (Endpoint, error)
	// DeleteWebhook deletes the endpoint and its deliveries, and the
	// tenant's cursor with its last endpoint. NotFound "webhook_not_found".
	DeleteWebhook(ctx context.Context, tenantID, id string) error

	// EnqueueDelivery inserts d, such as a test message, unless its
	// endpoint already has its message id. (A redelivery sends an existing
	// one again: RedeliverWebhook.)
	EnqueueDelivery(ctx context.Context, d Delivery) error
	// GetDelivery: NotFound "webhook_delivery_not_found" also for another
	// tenant's or endpoint's.
	GetDelivery(ctx context.Context, tenantID, endpointID, id string) (Delivery, error)
	// ListDeliveries pages through an endpoint's deliveries, newest first
	// (p.After is the id to continue below).
	ListDeliveries(ctx context.Context, tenantID, endpointID string, p cursor.Page) ([]Delivery, error)
	// RedeliverWebhook makes a delivery pending again, due at at, with its
	// attempts reset (the message id stays). NotFound
	// "webhook_delivery_not_found".
	RedeliverWebhook(ctx context.Context, tenantID, endpointID, id string, at time.Time) (Delivery, error)

	// DispatchWebhooks takes up to tenants cursors that are behind their
	// tenant's audit head and no other worker holds (FOR UPDATE SKIP
	// LOCKED on PostgreSQL), reads up to events events after each, calls
	// route with them and the tenant's enabled endpoints, inserts the
	// deliveries it returns (an existing endpoint and message id is
	// skipped) and advances the cursors, all in one transaction. It
	// returns how many audit events it consumed.
	DispatchWebhooks(ctx context.Context, tenants, events int, route Route, now time.Time) (int, error)
	// ClaimDeliveries takes up to limit pending deliveries due at now that
	// no other worker holds, moves their next attempt to leaseUntil (so a
	// crashed worker's claim comes back then) and counts the attempt. It
	// returns them with their endpoints by id.
	ClaimDeliveries(ctx context.Context, now, leaseUntil time.Time, limit int) ([]Delivery, map[string]Endpoint, error)
	// FinishDeliveries writes the results of attempts back, sets or clears
	// each endpoint's FailingSince, and returns the enabled endpoints that
	// have been failing since before failingBefore.
	FinishDeliveries(ctx context.Context, results []Result, failingBefore time.Time) ([]Endpoint, error)
}
