package serviceaccount

import (
	"context"
	"crypto/subtle"
	"errors"
	"slices"
	"time"

	"github.com/tollgate/tollgate/cursor"
	"github.com/tollgate/tollgate/event"
	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/ids"
	"github.com/tollgate/tollgate/secret"
)

// Scopes a service may be granted. They are platform-level abilities, not
// tenant permissions: what a service may do in a tenant comes from API keys
// a platform admin gives it there.
const (
	// ScopeAuthzCheck lets a service ask the policy decision point about
	// any principal, and read policies and registered resources, in the
	// tenants it is registered for.
	ScopeAuthzCheck = "authz:check"
	// ScopeAuthzWrite lets a service register resources of its resource
	// types, and replace or roll back policies, in its tenants. Asking and
	// writing are apart: a policy written there decides for everyone.
	ScopeAuthzWrite = "authz:write"
	// ScopeRateLimitCheck lets a service use Tollgate's rate limiter.
	ScopeRateLimitCheck = "ratelimit:check"
)

var scopeCatalogue = []string{ScopeAuthzCheck, ScopeAuthzWrite, ScopeRateLimitCheck}

// Bounds on a service's reach.
const (
	MaxTenants       = 1000
	MaxResourceTypes = 64
)

// ScopeCatalogue returns the scopes a service may hold.
func ScopeCatalogue() []string { return slices.Clone(scopeCatalogue) }

// Admins tells platform admins apart and checks that tenants exist;
// identity.Service implements it.
type Admins interface {
	IsPlatformAdmin(ctx context.Context, c identity.Caller) bool
	TenantExists(ctx context.Context, tenantID string) error
}

// Registry registers services and checks their client credentials.
type Registry struct {
	store            Store
	admins           Admins
	knownType        func(string) bool
	notify           event.Notifier
	env              string
	maxRotationGrace time.Duration
	now              func() time.Time
}

// Deps are what a Registry is built from.
type Deps struct {
	Store  Store
	Admins Admins
	// KnownResourceType tells the resource types a service may be
	// registered for (policy.KnownResourceType); nil knows none, so that
	// only "*" is accepted.
	KnownResourceType func(typ string) bool
	// Notify announces revoked secrets and disabled services; nil
	// announces nothing.
	Notify event.Notifier
	// Now is the clock; nil is time.Now.
	Now func() time.Time
}

// Options configure a Registry.
type Options struct {
	// Env is the environment marker of new secrets: secret.EnvLive
	// (default) or EnvTest.
	Env string
}

// NewRegistry wires a Registry.
func NewRegistry(d Deps, opts Options) *Registry {
	if d.Now == nil {
		d.Now = time.Now
	}
	if opts.Env == "" {
		opts.Env = secret.EnvLive
	}
	if d.KnownResourceType == nil {
		d.KnownResourceType = func(string) bool { return false }
	}
	return &Registry{store: d.Store, admins: d.Admins, knownType: d.KnownResourceType, notify: d.Notify, env: opts.Env, maxRotationGrace: 7 * 24 * time.Hour, now: d.Now}
}

func (r *Registry) timestamp() time.Time { return r.now().UTC().Truncate(time.Microsecond) }

func (r *Registry) requireAdmin(ctx context.Context, ac identity.ActorContext) error {
	if ac.Credential != identity.CredentialSession || !r.admins.IsPlatformAdmin(ctx, identity.Caller{ActorID: ac.ActorID}) {
		return fault.Forbiddenf(identity.CodePlatformAdminRequired, "only a platform admin may manage services")
	}
	return nil
}

// NewService is the input of Register.
type NewService struct {
	Name        string
	Description string
	Scopes      []string
	// Tenants are required: the tenants the service acts in, or ["*"].
	Tenants []string
	// ResourceTypes default to ["*"].
	ResourceTypes []string
}

// Patch changes a service; nil fields are left alone.
type Patch struct {
	Description   *string
	Scopes        *[]string
	Tenants       *[]string
	ResourceTypes *[]string
	Status        *Status
}

func validateScopes(scopes []string) ([]string, error) {
	if len(scopes) > 64 {
		return nil, fault.Invalidf("scopes", identity.CodeTooManyScopes, "scopes must hold at most 64 entries, not %d", len(scopes))
	}
	out := make([]string, 0, len(scopes))
	for _, s := range scopes {
		if !slices.Contains(scopeCatalogue, s) {
			return nil, fault.Invalidf("scopes", identity.CodeUnknownScope, "%q is not a service scope; known: %v", s, scopeCatalogue)
		}
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return out, nil
}

// reach checks and normalises a reach list: "*" alone, or up to max
// distinct names each passing known, sorted.
func reach(field string, list []string, max int, known func(string) error) ([]string, error) {
	if slices.Contains(list, identity.Everything) {
		if len(list) != 1 {
			return nil, fault.Invalidf(field, CodeInvalidReach, "%s holds either \"*\" alone (all) or names, not both", field)
		}
		return []string{identity.Everything}, nil
	}
	if len(list) > max {
		return nil, fault.Invalidf(field, CodeInvalidReach, "%s holds at most %d entries, not %d", field, max, len(list))
	}
	out := make([]string, 0, len(list))
	for _, v := range list {
		if slices.Contains(out, v) {
			continue
		}
		if err := known(v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	slices.Sort(out)
	return out, nil
}

// tenants checks a service's tenants: required, each one existing.
func (r *Registry) tenants(ctx context.Context, list []string) ([]string, error) {
	if len(list) == 0 {
		return nil, fault.Invalidf("tenants", CodeTenantsRequired, `tenants is required: the ids of the tenants the service acts in, or ["*"] for every tenant`)
	}
	return reach("tenants", list, MaxTenants, func(id string) error {
		err := r.admins.TenantExists(ctx, id)
		if errors.Is(err, fault.ErrNotFound) {
			return fault.Invalidf("tenants", CodeUnknownTenant, "tenants names %q, which is not a tenant", id)
		}
		return err
	})
}

// resourceTypes checks a service's resource types; nil (not given) is
// all, an empty list is refused rather than read as either.
func (r *Registry) resourceTypes(list []string) ([]string, error) {
	if list == nil {
		return []string{identity.Everything}, nil
	}
	if len(list) == 0 {
		return nil, fault.Invalidf("resource_types", CodeInvalidReach, `resource_types cannot be empty: name the types, or ["*"] for all`)
	}
	return reach("resource_types", list, MaxResourceTypes, func(typ string) error {
		if !r.knownType(typ) {
			return fault.Invalidf("resource_types", CodeUnknownResourceType, "resource_types names %q, which is not a resource type", typ)
		}
		return nil
	})
}

func (r *Registry) newSecret(serviceID string, now time.Time) (Secret, string) {
	id := ids.NewAt(now)
	raw, hash := secret.Generate(secret.ClientSecretPrefix, r.env, id)
	return Secret{ID: id, ServiceID: serviceID, Hash: hash, CreatedAt: now}, raw
}

// Register creates a service and returns its client secret, shown once.
func (r *Registry) Register(ctx context.Context, ac identity.ActorContext, in NewService) (Service, string, error) {
	if err := r.requireAdmin(ctx, ac); err != nil {
		return Service{}, "", err
	}
	if err := identity.CheckSlug("name", in.Name, CodeInvalidServiceName); err != nil {
		return Service{}, "", err
	}
	if err := identity.ValidateDescription(in.Description); err != nil {
		return Service{}, "", err
	}
	scopes, err := validateScopes(in.Scopes)
	if err != nil {
		return Service{}, "", err
	}
	tenants, err := r.tenants(ctx, in.Tenants)
	if err != nil {
		return Service{}, "", err
	}
	types, err := r.resourceTypes(in.ResourceTypes)
	if err != nil {
		return Service{}, "", err
	}
	now := r.timestamp()
	svc := Service{
		ID: ids.NewAt(now), Name: in.Name, Description: in.Description, Scopes: scopes,
		Tenants: tenants, ResourceTypes: types, Status: Active, CreatedAt: now, UpdatedAt: now,
	}
	secret, raw := r.newSecret(svc.ID, now)
	if err := r.store.CreateService(ctx, svc, secret); err != nil {
		return Service{}, "", err
	}
	return svc, raw, nil
}

func errServiceNotFound() error { return fault.NotFoundf(CodeServiceNotFound, "service not found") }

// Get returns a service to a platform admin.
func (r *Registry) Get(ctx context.Context, ac identity.ActorContext, id string) (Service, error) {
	if err := r.requireAdmin(ctx, ac); err != nil {
		return Service{}, err
	}
	if !ids.Valid(id) {
		return Service{}, errServiceNotFound()
	}
	return r.store.GetService(ctx, id)
}

// List lists services for a platform admin.
func (r *Registry) List(ctx context.Context, ac identity.ActorContext, p cursor.Page) ([]Service, error) {
	if err := r.requireAdmin(ctx, ac); err != nil {
		return nil, err
	}
	return r.store.ListServices(ctx, p.Normalize())
}

// Update changes a service's description, scopes or status.
func (r *Registry) Update(ctx context.Context, ac identity.ActorContext, id string, p Patch) (Service, error) {
	svc, err := r.Get(ctx, ac, id)
	if err != nil {
		return Service{}, err
	}
	before := svc.Status
	if p.Description != nil {
		if err := identity.ValidateDescription(*p.Description); err != nil {
			return Service{}, err
		}
		svc.Description = *p.Description
	}
	if p.Scopes != nil {
		if svc.Scopes, err = validateScopes(*p.Scopes); err != nil {
			return Service{}, err
		}
	}
	if p.Tenants != nil {
		if svc.Tenants, err = r.tenants(ctx, *p.Tenants); err != nil {
			return Service{}, err
		}
	}
	if p.ResourceTypes != nil {
		if svc.ResourceTypes, err = r.resourceTypes(*p.ResourceTypes); err != nil {
			return Service{}, err
		}
	}
	if p.Status != nil {
		if *p.Status != Active && *p.Status != Disabled {
			return Service{}, fault.Invalidf("status", identity.CodeInvalidStatus, "status must be active or disabled")
		}
		svc.Status = *p.Status
	}
	svc.UpdatedAt = r.timestamp()
	if err := r.store.UpdateService(ctx, svc); err != nil {
		return Service{}, err
	}
	kind := event.KindActorChanged
	switch {
	case svc.Status != before && svc.Status == Disabled:
		kind = event.KindActorDisabled
	case svc.Status != before:
		kind = event.KindActorEnabled
	}
	r.notify.Notify(ctx, event.Event{Kind: kind, ID: svc.ActorID(), At: svc.UpdatedAt})
	return svc, nil
}

// RotateSecret issues a new client secret; the previous one keeps working
// for grace (0: it stops now, and so do the tokens obtained with it).
func (r *Registry) RotateSecret(ctx context.Context, ac identity.ActorContext, id string, grace time.Duration) (Service, string, error) {
	if grace < 0 || grace > r.maxRotationGrace {
		return Service{}, "", fault.Invalidf("grace_period_seconds", secret.CodeInvalidGracePeriod, "the grace period must be between 0 and %d seconds", int64(r.maxRotationGrace/time.Second))
	}
	svc, err := r.Get(ctx, ac, id)
	if err != nil {
		return Service{}, "", err
	}
	now := r.timestamp()
	secret, raw := r.newSecret(svc.ID, now)
	var until *time.Time
	if grace > 0 {
		t := now.Add(grace)
		until = &t
	}
	previous, err := r.store.RotateServiceSecret(ctx, svc.ID, secret, until)
	if err != nil {
		return Service{}, "", err
	}
	var revoked []string
	for _, p := range previous {
		if p.RevokedAt != nil {
			revoked = append(revoked, p.ID)
		}
	}
	r.notify.Notify(ctx, event.Of(event.KindCredentialRevoked, now, revoked...)...)
	return svc, raw, nil
}

// Delete removes a service, revoking its secrets and keys everywhere.
func (r *Registry) Delete(ctx context.Context, ac identity.ActorContext, id string) error {
	svc, err := r.Get(ctx, ac, id)
	if err != nil {
		return err
	}
	now := r.timestamp()
	revoked, err := r.store.DeleteService(ctx, svc.ID, now)
	if err != nil {
		return err
	}
	events := append(event.Of(event.KindCredentialRevoked, now, revoked...),
		event.Event{Kind: event.KindActorChanged, ID: svc.ActorID(), At: now})
	if svc.Status == Disabled {
		// The name may be registered again; a new service must not inherit
		// the old one's block. Its secrets and keys are revoked above.
		events = append(events, event.Event{Kind: event.KindActorEnabled, ID: svc.ActorID(), At: now})
	}
	r.notify.Notify(ctx, events...)
	return nil
}

// errInvalidClient is the one answer to every failed client
// authentication, whichever part was wrong.
func errInvalidClient() error {
	return fault.Unauthenticatedf(CodeInvalidClient, "client authentication failed")
}

// Authenticate checks a client id and secret and returns the service and
// the id of the secret that matched.
func (r *Registry) Authenticate(ctx context.Context, clientID, clientSecret string) (Service, string, error) {
	p, err := secret.Parse(clientSecret, secret.ClientSecretPrefix, "client_secret")
	if err != nil || !ids.Valid(clientID) {
		return Service{}, "", errInvalidClient()
	}
	s, err := r.store.GetServiceSecret(ctx, p.ID)
	if errors.Is(err, fault.ErrNotFound) {
		return Service{}, "", errInvalidClient()
	}
	if err != nil {
		return Service{}, "", err
	}
	now := r.now()
	if s.ServiceID != clientID || subtle.ConstantTimeCompare(s.Hash, p.Hash[:]) != 1 ||
		s.RevokedAt != nil || s.ExpiresAt != nil && !now.Before(*s.ExpiresAt) {
		return Service{}, "", errInvalidClient()
	}
	svc, err := r.store.GetService(ctx, clientID)
	if errors.Is(err, fault.ErrNotFound) {
		return Service{}, "", errInvalidClient()
	}
	if err != nil {
		return Service{}, "", err
	}
	if svc.Status != Active {
		return Service{}, "", errInvalidClient()
	}
	return svc, s.ID, nil
}
