package credential

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tollgate/tollgate/apikey"
	"github.com/tollgate/tollgate/event"
	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/secret"
	"github.com/tollgate/tollgate/serviceaccount"
	"github.com/tollgate/tollgate/token"
)

// Rights is what the resolver asks about key holders; identity.Service
// implements it.
type Rights interface {
	TenantPermissions(ctx context.Context, tenantID, actorID string) (identity.PermissionSet, error)
	IsPlatformAdmin(ctx context.Context, c identity.Caller) bool
}

// Services finds services by name; the store implements it.
type Services interface {
	GetServiceByName(ctx context.Context, name string) (serviceaccount.Service, error)
}

// Deps are what a Resolver reads.
type Deps struct {
	Verifier *token.Verifier
	// Revoked holds revoked credential ids: sessions, keys, client secrets.
	Revoked *Revocations
	// RolePermissions resolves a session token's roles (session.Service).
	RolePermissions func(ctx context.Context, tenantID string, roles []string) ([]string, error)
	Keys            apikey.Store
	Rights          Rights
	Services        Services
	Blocks          BlockStore
	Now             func() time.Time
	// Rejected is told of every refused credential: the credential kind
	// ("access_token", "api_key") and the error code.
	Rejected func(kind, code string)
}

// Options tune the resolver's caches.
type Options struct {
	// KeyCacheTTL bounds how long a key's record and its holder's rights
	// are reused without a store read. Revocations and changes announced
	// on the bus apply at once regardless.
	KeyCacheTTL  time.Duration
	KeyCacheSize int
}

// Resolver turns credentials into ActorContexts.
type Resolver struct {
	d      Deps
	opts   Options
	keys   *keyCache
	reach  *reachCache
	blocks *blocklist

	touchMu sync.Mutex
	// touched is when each key's use was last recorded (for touchEvery);
	// pending, the uses not yet written.
	touched, pending map[string]time.Time
}

// NewResolver wires a Resolver. Call SyncBlocks before serving.
func NewResolver(d Deps, opts Options) *Resolver {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Rejected == nil {
		d.Rejected = func(string, string) {}
	}
	if opts.KeyCacheTTL <= 0 {
		opts.KeyCacheTTL = 30 * time.Second
	}
	if opts.KeyCacheSize <= 0 {
		opts.KeyCacheSize = 100_000
	}
	return &Resolver{d: d, opts: opts, keys: newKeyCache(opts.KeyCacheSize), reach: newReachCache(4096), blocks: newBlocklist(),
		touched: map[string]time.Time{}, pending: map[string]time.Time{}}
}

// IsAPIKey reports whether raw has the shape of an API key rather than a
// token, so that errors can name the right credential.
func IsAPIKey(raw string) bool { return strings.HasPrefix(raw, secret.KeyPrefix+"_") }

// Resolve authenticates raw, an access token or an API key.
func (r *Resolver) Resolve(ctx context.Context, raw string) (identity.ActorContext, error) {
	kind, resolve := "access_token", r.resolveToken
	if IsAPIKey(raw) {
		kind, resolve = "api_key", r.resolveKey
	}
	ac, err := resolve(ctx, raw)
	if err != nil {
		var fe *fault.Error
		if errors.As(err, &fe) && fe.Kind != fault.Internal && fe.Kind != fault.Unavailable {
			r.d.Rejected(kind, string(fe.Code))
		}
		return identity.ActorContext{}, err
	}
	return ac, nil
}

func errRevoked() error {
	return fault.Unauthenticatedf(CodeTokenRevoked, "this token has been revoked")
}

func errActorDisabled() error {
	return fault.Unauthenticatedf(CodeActorDisabled, "the actor of this credential is disabled")
}

func errTenantSuspended() error {
	return fault.Forbiddenf(identity.CodeTenantSuspended, "this tenant is suspended")
}

// resolveToken checks a JWT and everything that can end it early: its
// session or credential revoked, its subject or actor disabled, its tenant
// suspended. All of it is in memory.
func (r *Resolver) resolveToken(ctx context.Context, raw string) (identity.ActorContext, error) {
	c, err := r.d.Verifier.Verify(raw)
	if err != nil {
		return identity.ActorContext{}, err
	}
	if r.d.Revoked.Revoked(c.SessionID) || c.CredentialID != "" && r.d.Revoked.Revoked(c.CredentialID) {
		return identity.ActorContext{}, errRevoked()
	}
	if r.blocks.actorBlocked(c.Subject) || c.Act != nil &&
		(r.blocks.actorBlocked(c.Act.Subject) || c.Act.Owner != "" && r.blocks.actorBlocked(c.Act.Owner)) {
		return identity.ActorContext{}, errActorDisabled()
	}
	// Platform admins keep their sessions in a suspended tenant: they are
	// who lifts the suspension. Asked only in that rare case.
	if c.TenantID != "" && r.blocks.tenantSuspended(c.TenantID) &&
		(c.Act != nil || c.ActorType != identity.ActorHuman || !r.d.Rights.IsPlatformAdmin(ctx, identity.Caller{ActorID: c.Subject})) {
		return identity.ActorContext{}, errTenantSuspended()
	}
	ac := identity.ActorContext{
		ActorID: c.Subject, ActorType: c.ActorType, TenantID: c.TenantID, Roles: c.Roles,
		SessionID: c.SessionID, CredentialID: c.CredentialID, ExpiresAt: c.ExpiresAt,
	}
	switch {
	case c.Act != nil:
		ac.ActorID, ac.OnBehalfOf, ac.ActorType = c.Act.Subject, c.Subject, identity.ActorAgent
		ac.Credential, ac.Permissions, ac.Scopes = identity.CredentialDelegation, c.Scope, c.Scope
	case c.ActorType == identity.ActorService:
		// A service token's sid is the client secret it was obtained with.
		ac.Credential, ac.Permissions, ac.Scopes = identity.CredentialClientCredentials, c.Scope, c.Scope
		ac.CredentialID, ac.SessionID = c.SessionID, ""
		// The reach is read at use, not sealed into the token, so that
		// narrowing a service's tenants applies at once.
		re, err := r.serviceReach(ctx, c.Subject)
		if err != nil {
			return identity.ActorContext{}, err
		}
		ac.Tenants, ac.ResourceTypes = re.tenants, re.types
	default:
		ac.Credential, ac.AMR = identity.CredentialSession, c.AMR
		if ac.Permissions, err = r.d.RolePermissions(ctx, c.TenantID, c.Roles); err != nil {
			return identity.ActorContext{}, err
		}
	}
	if ac.Roles == nil {
		ac.Roles = []string{}
	}
	if ac.Permissions == nil {
		ac.Permissions = []string{}
	}
	return ac, nil
}

// serviceReach returns a service's tenants and resource types, from the
// cache or the store. A service gone from the registry reaches nothing: its
// tokens are refused as its actor's.
func (r *Resolver) serviceReach(ctx context.Context, actorID string) (reachEntry, error) {
	name := strings.TrimPrefix(actorID, serviceaccount.ActorPrefix)
	now := r.d.Now().UnixNano()
	if e, ok := r.reach.Get(name, now); ok {
		return e, nil
	}
	gen := r.reach.Generation()
	svc, err := r.d.Services.GetServiceByName(ctx, name)
	switch {
	case errors.Is(err, fault.ErrNotFound):
		return reachEntry{}, errActorDisabled()
	case err != nil:
		return reachEntry{}, err
	}
	e := reachEntry{tenants: svc.Tenants, types: svc.ResourceTypes}
	r.reach.PutIfGeneration(name, e, now+int64(r.opts.KeyCacheTTL), now, gen)
	return e, nil
}

func errInvalidKey() error {
	return fault.Unauthenticatedf(apikey.CodeInvalidAPIKey, "the API key is malformed or invalid")
}

// resolveKey checks an API key: its checksum without I/O, then its record
// and its holder's rights from the cache or the store.
func (r *Resolver) resolveKey(ctx context.Context, raw string) (identity.ActorContext, error) {
	p, err := secret.Parse(raw, secret.KeyPrefix, "api_key")
	if err != nil {
		return identity.ActorContext{}, err
	}
	now := r.d.Now()
	e, ok := r.keys.Get(p.ID, now.UnixNano())
	if !ok {
		if e, err = r.loadKey(ctx, p.ID, now); err != nil {
			return identity.ActorContext{}, err
		}
	}
	k := &e.key
	if !k.Matches(p.Hash[:], now) {
		return identity.ActorContext{}, errInvalidKey()
	}
	if err := k.Usable(now); err != nil {
		return identity.ActorContext{}, err
	}
	if r.d.Revoked.Revoked(k.ID) {
		return identity.ActorContext{}, fault.Unauthenticatedf(apikey.CodeAPIKeyRevoked, "this API key has been revoked")
	}
	if r.blocks.actorBlocked(k.ActorID) {
		return identity.ActorContext{}, errActorDisabled()
	}
	if r.blocks.tenantSuspended(k.TenantID) {
		return identity.ActorContext{}, errTenantSuspended()
	}
	if e.holderErr != nil {
		return identity.ActorContext{}, e.holderErr
	}
	r.touch(k.ID, now)
	ac := identity.ActorContext{
		ActorID: k.ActorID, ActorType: e.actorType, TenantID: k.TenantID, Roles: []string{},
		Permissions: e.perms, Scopes: k.Scopes, Credential: identity.CredentialAPIKey, CredentialID: k.ID,
		RateLimit: k.RateLimit,
	}
	if k.ExpiresAt != nil {
		ac.ExpiresAt = *k.ExpiresAt
	}
	return ac, nil
}

// loadKey reads a key and computes what its holder may do now: the key's
// scopes, intersected for a human with their current role permissions and
// for an agent with its owner's, so that a demotion shrinks every key.
func (r *Resolver) loadKey(ctx context.Context, id string, now time.Time) (*keyEntry, error) {
	// A change of rights applied while this read is under way must not be
	// undone by caching what the read saw before it.
	gen := r.keys.Generation()
	k, err := r.d.Keys.GetAPIKey(ctx, id)
	if errors.Is(err, fault.ErrNotFound) {
		return nil, errInvalidKey()
	}
	if err != nil {
		return nil, err
	}
	e := &keyEntry{key: k}
	switch {
	case strings.HasPrefix(k.ActorID, serviceaccount.ActorPrefix):
		e.actorType = identity.ActorService
		svc, err := r.d.Services.GetServiceByName(ctx, strings.TrimPrefix(k.ActorID, serviceaccount.ActorPrefix))
		switch {
		case errors.Is(err, fault.ErrNotFound) || err == nil && svc.Status != serviceaccount.Active:
			e.holderErr = errActorDisabled()
		case err != nil:
			return nil, err
		default:
			e.perms = slices.Clone(k.Scopes)
		}
	default:
		e.actorType = identity.ActorHuman
		if strings.HasPrefix(k.ActorID, identity.AgentActorPrefix) {
			e.actorType = identity.ActorAgent
		}
		rights, err := r.d.Rights.TenantPermissions(ctx, k.TenantID, k.ActorID)
		var fe *fault.Error
		switch {
		case errors.As(err, &fe) && fe.Kind != fault.Internal && fe.Kind != fault.Unavailable:
			e.holderErr = fault.Unauthenticatedf(apikey.CodeAPIKeyHolderInactive, "the holder of this API key can no longer act in its tenant")
		case err != nil:
			return nil, err
		default:
			e.perms = make([]string, 0, len(k.Scopes))
			for _, s := range k.Scopes {
				if rights.Has(identity.Permission(s)) {
					e.perms = append(e.perms, s)
				}
			}
		}
	}
	if e.perms == nil {
		e.perms = []string{}
	}
	r.keys.PutIfGeneration(id, e, now.Add(r.opts.KeyCacheTTL).UnixNano(), now.UnixNano(), gen)
	return e, nil
}

// touchEvery spaces the last_used_at updates of one key; the column tells
// people which keys are unused, so minute precision is plenty.
const touchEvery = time.Minute

func (r *Resolver) touch(id string, now time.Time) {
	r.touchMu.Lock()
	if last, ok := r.touched[id]; !ok || now.Sub(last) >= touchEvery {
		r.touched[id] = now
		r.pending[id] = now
	}
	r.touchMu.Unlock()
}

// FlushTouches writes the recorded last uses in one batch. The times of
// the last minute stay behind, so that a key in steady use is written once
// a minute, not at every flush.
func (r *Resolver) FlushTouches(ctx context.Context) error {
	now := r.d.Now()
	r.touchMu.Lock()
	for id, last := range r.touched {
		if now.Sub(last) >= touchEvery {
			delete(r.touched, id)
		}
	}
	if len(r.pending) == 0 {
		r.touchMu.Unlock()
		return nil
	}
	batch := r.pending
	r.pending = map[string]time.Time{}
	r.touchMu.Unlock()
	return r.d.Keys.TouchAPIKeys(ctx, batch)
}

// SyncBlocks reloads disabled actors and suspended tenants from the store.
func (r *Resolver) SyncBlocks(ctx context.Context) error { return r.blocks.load(ctx, r.d.Blocks) }

// Apply applies an event from this replica or another.
func (r *Resolver) Apply(e event.Event) {
	switch e.Kind {
	case event.KindCredentialRevoked:
		r.d.Revoked.Add(e.At, e.ID)
		r.keys.Delete(e.ID)
		return
	case event.KindCredentialChanged:
		r.keys.Delete(e.ID)
		return
	case event.KindTenantLimitsChanged, event.KindPolicyChanged:
		return
	case event.KindActorDisabled:
		r.blocks.set(false, e.ID, true)
	case event.KindActorEnabled:
		r.blocks.set(false, e.ID, false)
	case event.KindTenantSuspended:
		r.blocks.set(true, e.ID, true)
	case event.KindTenantActivated:
		r.blocks.set(true, e.ID, false)
	}
	// A change of rights may concern any cached key (an owner's demotion
	// narrows their agents' keys) or a service's reach; such changes are
	// rare, so start over.
	r.keys.Purge()
	r.reach.Purge()
}
