// Package event is the system-wide change feed: the events every replica and
// SDK user applies when credentials are revoked, actors or tenants are
// suspended, rights change, or a tenant's rate limits or policies change. It
// is a leaf package so that every domain package can publish them.
package event

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/tollgate/tollgate/bus"
)

// Subject is the bus subject of credential events. Services using the Go
// SDK subscribe to it too, so its name and payload are a public contract
// (docs/credentials.md).
const Subject = "credential.events"

// Event kinds.
const (
	// KindCredentialRevoked: ID is a revoked session, API key or client
	// secret id. Tokens naming it (sid or cid) stop working.
	KindCredentialRevoked = "credential_revoked"
	// KindActorChanged: ID is an actor id whose roles, scopes, ownership or
	// membership changed (Tenant names the tenant when the change concerns
	// one), or "role:<tenant>/<name>" for a custom role; caches drop what
	// they hold about it.
	KindActorChanged = "actor_changed"
	// KindActorDisabled and KindActorEnabled: ID is an actor id.
	KindActorDisabled = "actor_disabled"
	KindActorEnabled  = "actor_enabled"
	// KindTenantSuspended and KindTenantActivated: ID is a tenant id.
	KindTenantSuspended = "tenant_suspended"
	KindTenantActivated = "tenant_activated"
	// KindCredentialChanged: ID is an API key id whose settings (its own
	// rate limit) changed; caches drop the key's record.
	KindCredentialChanged = "credential_changed"
	// KindTenantLimitsChanged: ID is a tenant id whose rate-limit
	// overrides changed.
	KindTenantLimitsChanged = "tenant_limits_changed"
	// KindPolicyChanged: ID is a tenant id whose policies or registered
	// resources changed. Tenant repeats it, and Resource names the
	// resource ("channel:general") when only that resource changed, so
	// decision points re-read what changed; an event without Tenant (from
	// an older replica) means the tenant may have changed whole.
	KindPolicyChanged = "policy_changed"
	// KindQuotasChanged: ID is a tenant id whose usage quotas changed;
	// quota caches read them again.
	KindQuotasChanged = "quotas_changed"
	// KindMetersChanged: ID is a tenant id whose own usage meters changed;
	// replicas read them again.
	KindMetersChanged = "meters_changed"
)

// Event is one change that credential caches must apply.
type Event struct {
	Kind string `json:"kind"`
	ID   string `json:"id"`
	// Tenant is the tenant the change concerns, when it concerns one.
	Tenant string `json:"tenant,omitempty"`
	// Resource is the "type:id" of a registered resource (policy_changed).
	Resource string    `json:"resource,omitempty"`
	At       time.Time `json:"at"`
	// Origin names the publishing process. A replica applies its own
	// changes when it makes them and skips their echo from the bus, which
	// could otherwise arrive after a later change and undo it.
	Origin string `json:"origin,omitempty"`
}

// maxEventSize bounds what DecodeEvent reads: events are a few dozen bytes.
const maxEventSize = 4 << 10

// Decode parses an event from the bus. Unknown kinds are an error so
// that a newer publisher's events are logged, not silently misapplied.
func Decode(data []byte) (Event, error) {
	if len(data) > maxEventSize {
		return Event{}, fmt.Errorf("credential event of %d bytes exceeds %d", len(data), maxEventSize)
	}
	var e Event
	if err := json.Unmarshal(data, &e); err != nil {
		return Event{}, fmt.Errorf("decoding credential event: %w", err)
	}
	switch e.Kind {
	case KindCredentialRevoked, KindActorChanged, KindActorDisabled, KindActorEnabled,
		KindTenantSuspended, KindTenantActivated, KindCredentialChanged, KindTenantLimitsChanged, KindPolicyChanged, KindQuotasChanged, KindMetersChanged:
	default:
		return Event{}, fmt.Errorf("unknown credential event kind %q", e.Kind)
	}
	if e.ID == "" || len(e.ID) > 256 {
		return Event{}, fmt.Errorf("credential event %s has an invalid id", e.Kind)
	}
	if len(e.Tenant) > 256 || len(e.Resource) > 600 {
		return Event{}, fmt.Errorf("credential event %s has an invalid tenant or resource", e.Kind)
	}
	return e, nil
}

// Publish sends events on b.
func Publish(ctx context.Context, b bus.Bus, events ...Event) error {
	for _, e := range events {
		data, err := json.Marshal(e)
		if err != nil {
			return err
		}
		if err := b.Publish(ctx, Subject, data); err != nil {
			return err
		}
	}
	return nil
}

// Notifier is how domain services report changes. The app's notifier
// applies them to this replica at once and publishes them for the others;
// a nil Notifier drops them.
type Notifier func(ctx context.Context, events ...Event)

// Notify calls n if it is set.
func (n Notifier) Notify(ctx context.Context, events ...Event) {
	if n != nil && len(events) > 0 {
		n(ctx, events...)
	}
}

// Of builds events of one kind at at.
func Of(kind string, at time.Time, ids ...string) []Event {
	out := make([]Event, len(ids))
	for i, id := range ids {
		out[i] = Event{Kind: kind, ID: id, At: at}
	}
	return out
}
