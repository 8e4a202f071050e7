package webhook

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"time"

	"github.com/tollgate/tollgate/audit"
	"github.com/tollgate/tollgate/cursor"
	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/ids"
)

// Rights answers what actors may do; identity.Service implements it.
type Rights interface {
	// TenantPermissions is what actorID (a human, or an agent through its
	// owner) may do in tenantID now.
	TenantPermissions(ctx context.Context, tenantID, actorID string) (identity.PermissionSet, error)
}

// Sealer encrypts secrets at rest with the master key; token.Sealer
// implements it.
type Sealer interface {
	Seal(keyID string, plaintext []byte) ([]byte, error)
	Open(keyID string, sealed []byte) ([]byte, error)
}

// sealID is the name a secret is sealed under: its own prefix keeps a
// webhook secret's blob from ever opening as a signing key's.
func sealID(secretID string) string { return "webhook_secret:" + secretID }

// Options configure a Service.
type Options struct {
	// Guard decides which URLs endpoints may have; nil allows only public
	// addresses.
	Guard *Guard
	// MaxPerTenant caps a tenant's endpoints; 0 is 50.
	MaxPerTenant int
	// RotationOverlap is how long a rotated-out secret keeps signing when
	// the request does not say; 0 is 24 hours.
	RotationOverlap time.Duration
}

// Limits of the input.
const (
	maxEventTypes     = 64
	maxDescriptionLen = 500
	maxOverlap        = 7 * 24 * time.Hour
)

// Service manages endpoints and their deliveries.
type Service struct {
	store  Store
	rights Rights
	sealer Sealer
	opts   Options
	now    func() time.Time
}

// Deps are what a Service is built from.
type Deps struct {
	Store  Store
	Rights Rights
	Sealer Sealer
	// Now is the clock; nil is time.Now.
	Now func() time.Time
}

// NewService wires a Service.
func NewService(d Deps, opts Options) *Service {
	if opts.Guard == nil {
		opts.Guard = NewGuard(nil)
	}
	if opts.MaxPerTenant <= 0 {
		opts.MaxPerTenant = 50
	}
	if opts.RotationOverlap <= 0 {
		opts.RotationOverlap = 24 * time.Hour
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	return &Service{store: d.Store, rights: d.Rights, sealer: d.Sealer, opts: opts, now: d.Now}
}

func (s *Service) timestamp() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

func errNotFound() error { return fault.NotFoundf(CodeWebhookNotFound, "webhook not found") }

func errTenantNotFound() error {
	return fault.NotFoundf(identity.CodeTenantNotFound, "tenant not found")
}

// authorize checks that the caller holds perm in tenantID. A session is
// checked against live membership; any other credential is bounded by the
// permissions it was authenticated with, in its own tenant only. A tenant
// the caller is not in is not found; identity's other refusals (a
// suspended tenant) pass through.
func (s *Service) authorize(ctx context.Context, ac identity.ActorContext, tenantID string, perm identity.Permission) error {
	if !ids.Valid(tenantID) {
		return errTenantNotFound()
	}
	var has bool
	if ac.Credential == identity.CredentialSession {
		rights, err := s.rights.TenantPermissions(ctx, tenantID, ac.ActorID)
		if fault.KindOf(err) == fault.NotFound {
			return errTenantNotFound()
		}
		if err != nil {
			// A suspended tenant says so to its members, as elsewhere.
			return err
		}
		has = rights.Has(perm)
	} else {
		if ac.TenantID != tenantID {
			return errTenantNotFound()
		}
		has = slices.Contains(ac.Permissions, string(perm))
	}
	if !has {
		return fault.Forbiddenf(identity.CodePermissionDenied, "this action needs the %s permission in this tenant", perm)
	}
	return nil
}

// endpoint loads an endpoint of tenantID for a caller holding perm.
func (s *Service) endpoint(ctx context.Context, ac identity.ActorContext, tenantID, id string, perm identity.Permission) (Endpoint, error) {
	if err := s.authorize(ctx, ac, tenantID, perm); err != nil {
		return Endpoint{}, err
	}
	if !ids.Valid(id) {
		return Endpoint{}, errNotFound()
	}
	return s.store.GetWebhook(ctx, tenantID, id)
}

// enabledEndpoint loads an endpoint to send to: the caller needs
// webhooks:write, and a disabled endpoint receives nothing.
func (s *Service) enabledEndpoint(ctx context.Context, ac identity.ActorContext, tenantID, id string) (Endpoint, error) {
	e, err := s.endpoint(ctx, ac, tenantID, id, identity.PermWebhooksWrite)
	if err == nil && e.Status != Enabled {
		return Endpoint{}, fault.Conflictf(CodeWebhookDisabled, "this webhook is disabled: enable it first")
	}
	return e, err
}

// NewEndpoint is the input of Create.
type NewEndpoint struct {
	URL         string
	Description string
	EventTypes  []string
}

// checkEventTypes validates a subscription and returns it sorted without
// repeats.
func checkEventTypes(types []string) ([]string, error) {
	if len(types) > maxEventTypes {
		return nil, fault.Invalidf("event_types", CodeUnknownEventType, "event_types must hold at most %d entries", maxEventTypes)
	}
	out := make([]string, 0, len(types))
	for _, t := range types {
		if !KnownEventType(t) {
			if len(t) > 64 {
				t = t[:64]
			}
			return nil, fault.Invalidf("event_types", CodeUnknownEventType, "%q is not an event type of the catalogue", t)
		}
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	slices.Sort(out)
	return out, nil
}

func checkDescription(d string) error {
	return identity.CheckText("description", d, maxDescriptionLen, CodeInvalidDescription)
}

// newSecret makes a secret and seals it for storage.
func (s *Service) newSecret(at time.Time) (string, SealedSecret, error) {
	raw := NewSecret()
	key, _ := SecretKey(raw)
	id := ids.NewAt(at)
	sealed, err := s.sealer.Seal(sealID(id), key)
	if err != nil {
		return "", SealedSecret{}, err
	}
	return raw, SealedSecret{ID: id, Sealed: sealed}, nil
}

// Create adds an endpoint and returns it with its signing secret, which is
// never shown again.
func (s *Service) Create(ctx context.Context, ac identity.ActorContext, tenantID string, in NewEndpoint) (Endpoint, string, error) {
	if err := s.authorize(ctx, ac, tenantID, identity.PermWebhooksWrite); err != nil {
		return Endpoint{}, "", err
	}
	u, err := s.opts.Guard.CheckURL(in.URL)
	if err != nil {
		return Endpoint{}, "", err
	}
	if err := checkDescription(in.Description); err != nil {
		return Endpoint{}, "", err
	}
	types, err := checkEventTypes(in.EventTypes)
	if err != nil {
		return Endpoint{}, "", err
	}
	n, err := s.store.CountWebhooks(ctx, tenantID)
	if err != nil {
		return Endpoint{}, "", err
	}
	if n >= s.opts.MaxPerTenant {
		return Endpoint{}, "", identity.LimitReached("max_webhooks_per_tenant", s.opts.MaxPerTenant, "the tenant's number of webhook endpoints")
	}
	now := s.timestamp()
	raw, sealed, err := s.newSecret(now)
	if err != nil {
		return Endpoint{}, "", err
	}
	e := Endpoint{
		ID: ids.NewAt(now), TenantID: tenantID, URL: u, Description: in.Description, EventTypes: types,
		Status: Enabled, Secret: sealed, CreatedBy: ac.ActorID, CreatedAt: now, UpdatedAt: now,
	}
	ctx = audit.Record(ctx, audit.Event{TenantID: tenantID, Action: audit.ActionWebhookCreate, TargetType: "webhook", TargetID: e.ID,
		Detail: map[string]string{"url": audit.FitText(e.URL, 1024), "event_types": audit.List(types)}})
	if err := s.store.CreateWebhook(ctx, e); err != nil {
		return Endpoint{}, "", err
	}
	return e, raw, nil
}

// Get returns an endpoint (never its secret).
func (s *Service) Get(ctx context.Context, ac identity.ActorContext, tenantID, id string) (Endpoint, error) {
	return s.endpoint(ctx, ac, tenantID, id, identity.PermWebhooksRead)
}

// List pages through a tenant's endpoints.
func (s *Service) List(ctx context.Context, ac identity.ActorContext, tenantID string, p cursor.Page) ([]Endpoint, error) {
	if err := s.authorize(ctx, ac, tenantID, identity.PermWebhooksRead); err != nil {
		return nil, err
	}
	return s.store.ListWebhooks(ctx, tenantID, p.Normalize())
}

// Update changes an endpoint's URL, description, subscription or status.
// Only the fields the patch sets are written, so a concurrent change of
// the others (the worker disabling the endpoint) stays.
func (s *Service) Update(ctx context.Context, ac identity.ActorContext, tenantID, id string, p EndpointPatch) (Endpoint, error) {
	if _, err := s.endpoint(ctx, ac, tenantID, id, identity.PermWebhooksWrite); err != nil {
		return Endpoint{}, err
	}
	var err error
	// What the audit event says changed: the patched fields only.
	detail := map[string]string{}
	if p.URL != nil {
		u, err := s.opts.Guard.CheckURL(*p.URL)
		if err != nil {
			return Endpoint{}, err
		}
		p.URL, detail["url"] = &u, audit.FitText(u, 1024)
	}
	if p.Description != nil {
		if err := checkDescription(*p.Description); err != nil {
			return Endpoint{}, err
		}
	}
	if p.EventTypes != nil {
		types, err := checkEventTypes(*p.EventTypes)
		if err != nil {
			return Endpoint{}, err
		}
		p.EventTypes, detail["event_types"] = &types, audit.List(types)
	}
	if p.Status != nil {
		if *p.Status != Enabled && *p.Status != Disabled {
			return Endpoint{}, fault.Invalidf("status", CodeInvalidWebhookStatus, "status must be enabled or disabled")
		}
		p.DisabledReason, detail["status"] = ReasonByUser, string(*p.Status)
	}
	p.IfFailing = nil
	ctx = audit.Record(ctx, audit.Event{TenantID: tenantID, Action: audit.ActionWebhookUpdate, TargetType: "webhook", TargetID: id,
		Detail: detail})
	e, err := s.store.UpdateWebhook(ctx, tenantID, id, p, s.timestamp())
	if err != nil {
		return Endpoint{}, err
	}
	return e, nil
}

// Delete removes an endpoint with its deliveries.
func (s *Service) Delete(ctx context.Context, ac identity.ActorContext, tenantID, id string) error {
	e, err := s.endpoint(ctx, ac, tenantID, id, identity.PermWebhooksWrite)
	if err != nil {
		return err
	}
	ctx = audit.Record(ctx, audit.Event{TenantID: tenantID, Action: audit.ActionWebhookDelete, TargetType: "webhook", TargetID: e.ID,
		Detail: map[string]string{"url": audit.FitText(e.URL, 1024)}})
	return s.store.DeleteWebhook(ctx, tenantID, id)
}

// Rotate gives an endpoint a new secret, returned once. The old one keeps
// signing (a second signature in the header) for overlapSeconds — nil is
// the configured default, 0 drops it at once.
func (s *Service) Rotate(ctx context.Context, ac identity.ActorContext, tenantID, id string, overlapSeconds *int64) (Endpoint, string, error) {
	o := s.opts.RotationOverlap
	if overlapSeconds != nil {
		if *overlapSeconds < 0 || *overlapSeconds > int64(maxOverlap/time.Second) {
			return Endpoint{}, "", fault.Invalidf("overlap_seconds", CodeInvalidOverlap, "overlap_seconds must be from 0 to %d", int64(maxOverlap/time.Second))
		}
		o = time.Duration(*overlapSeconds) * time.Second
	}
	if _, err := s.endpoint(ctx, ac, tenantID, id, identity.PermWebhooksWrite); err != nil {
		return Endpoint{}, "", err
	}
	now := s.timestamp()
	raw, sealed, err := s.newSecret(now)
	if err != nil {
		return Endpoint{}, "", err
	}
	var until *time.Time
	if o > 0 {
		t := now.Add(o)
		until = &t
	}
	ctx = audit.Record(ctx, audit.Event{TenantID: tenantID, Action: audit.ActionWebhookRotate, TargetType: "webhook", TargetID: id,
		Detail: map[string]string{"overlap_seconds": strconv.Itoa(int(o.Seconds()))}})
	e, err := s.store.RotateWebhookSecret(ctx, tenantID, id, sealed, until, now)
	if err != nil {
		return Endpoint{}, "", err
	}
	return e, raw, nil
}

// Test enqueues a webhook.test message to the endpoint, whatever it
// subscribes to, and returns the delivery.
func (s *Service) Test(ctx context.Context, ac identity.ActorContext, tenantID, id string) (Delivery, error) {
	e, err := s.enabledEndpoint(ctx, ac, tenantID, id)
	if err != nil {
		return Delivery{}, err
	}
	now := s.timestamp()
	msgID := ids.NewAt(now)
	body := testBody(tenantID, e.ID, msgID, now)
	d := Delivery{
		ID: msgID, TenantID: tenantID, EndpointID: e.ID, MessageID: "msg_" + msgID, EventType: TypeTest,
		Payload: body, Status: Pending, NextAttemptAt: now, CreatedAt: now,
	}
	if err := s.store.EnqueueDelivery(ctx, d); err != nil {
		return Delivery{}, err
	}
	return d, nil
}

// Deliveries pages through an endpoint's deliveries, newest first.
func (s *Service) Deliveries(ctx context.Context, ac identity.ActorContext, tenantID, id string, p cursor.Page) ([]Delivery, error) {
	if _, err := s.endpoint(ctx, ac, tenantID, id, identity.PermWebhooksRead); err != nil {
		return nil, err
	}
	return s.store.ListDeliveries(ctx, tenantID, id, p.Normalize())
}

// Redeliver sends a delivery again now, with the same webhook-id (so a
// receiver that already processed it can tell), and a fresh set of attempts.
func (s *Service) Redeliver(ctx context.Context, ac identity.ActorContext, tenantID, id, deliveryID string) (Delivery, error) {
	if _, err := s.enabledEndpoint(ctx, ac, tenantID, id); err != nil {
		return Delivery{}, err
	}
	if !ids.Valid(deliveryID) {
		return Delivery{}, fault.NotFoundf(CodeDeliveryNotFound, "delivery not found")
	}
	d, err := s.store.RedeliverWebhook(ctx, tenantID, id, deliveryID, s.timestamp())
	if errors.Is(err, fault.ErrNotFound) {
		return Delivery{}, fault.NotFoundf(CodeDeliveryNotFound, "delivery not found")
	}
	return d, err
}
