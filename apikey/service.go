package apikey

import (
	"context"
	"crypto/subtle"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tollgate/tollgate/audit"
	"github.com/tollgate/tollgate/cursor"
	"github.com/tollgate/tollgate/event"
	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/ids"
	"github.com/tollgate/tollgate/ratelimit"
	"github.com/tollgate/tollgate/secret"
	"github.com/tollgate/tollgate/serviceaccount"
)

// Rights answers what actors may do; identity.Service implements it.
type Rights interface {
	// TenantPermissions is what actorID (a human, or an agent through its
	// owner) may do in tenantID now.
	TenantPermissions(ctx context.Context, tenantID, actorID string) (identity.PermissionSet, error)
	Agent(ctx context.Context, tenantID, agentID string) (identity.Agent, error)
	OwnedAgents(ctx context.Context, tenantID, ownerID string) ([]identity.Agent, error)
	// TenantExists: NotFound "tenant_not_found" otherwise.
	TenantExists(ctx context.Context, tenantID string) error
	IsPlatformAdmin(ctx context.Context, c identity.Caller) bool
}

// Services finds registered services; the store implements it.
type Services interface {
	GetServiceByName(ctx context.Context, name string) (serviceaccount.Service, error)
}

// Options configure a Service.
type Options struct {
	// Env is the environment marker of new keys: secret.EnvLive or EnvTest.
	Env string
	// MaxRotationGrace bounds how long a rotated-out secret may keep working.
	MaxRotationGrace time.Duration
	// MaxKeysPerActor caps the live (neither revoked nor expired) keys one
	// holder may have in one tenant; 0 is no limit. The count is read
	// before the insert, so concurrent creations may overshoot it by at
	// most the number of concurrent writers.
	MaxKeysPerActor int
}

// Service manages API keys.
type Service struct {
	store    Store
	rights   Rights
	services Services
	notify   event.Notifier
	opts     Options
	now      func() time.Time
}

// Deps are what a Service is built from.
type Deps struct {
	Store    Store
	Rights   Rights
	Services Services
	// Notify announces revoked and changed keys; nil announces nothing.
	Notify event.Notifier
	// Now is the clock; nil is time.Now.
	Now func() time.Time
}

// NewService wires a Service.
func NewService(d Deps, opts Options) *Service {
	if opts.Env == "" {
		opts.Env = secret.EnvLive
	}
	if opts.MaxRotationGrace <= 0 {
		opts.MaxRotationGrace = 7 * 24 * time.Hour
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	return &Service{store: d.Store, rights: d.Rights, services: d.Services, notify: d.Notify, opts: opts, now: d.Now}
}

func (s *Service) timestamp() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// maxScopes bounds a key's scopes; the catalogue is smaller.
const maxScopes = 64

// NewKey is the input of Create. ActorID "" means the caller.
type NewKey struct {
	Name      string
	TenantID  string
	ActorID   string
	Scopes    []string
	ExpiresAt *time.Time
	// RateLimit is the key's own per-actor rate-limit spec; only platform
	// admins may set it.
	RateLimit string
}

func errKeyNotFound() error { return fault.NotFoundf(CodeAPIKeyNotFound, "API key not found") }

// callerRights is what the caller may do in tenantID. A session is checked
// against live membership; any other credential is bounded by the
// permissions it was authenticated with, in its own tenant only.
func (s *Service) callerRights(ctx context.Context, ac identity.ActorContext, tenantID string) (identity.PermissionSet, error) {
	if !ids.Valid(tenantID) {
		return nil, fault.NotFoundf(identity.CodeTenantNotFound, "tenant not found")
	}
	if ac.Credential == identity.CredentialSession {
		return s.rights.TenantPermissions(ctx, tenantID, ac.ActorID)
	}
	if ac.TenantID != tenantID {
		return nil, fault.NotFoundf(identity.CodeTenantNotFound, "tenant not found")
	}
	set := identity.PermissionSet{}
	for _, p := range ac.Permissions {
		set[identity.Permission(p)] = struct{}{}
	}
	return set, nil
}

// creatorRights is what the creator may put in a key for holder. Platform
// admins give services keys in any tenant: a service's rights there are
// exactly its key's scopes, so the whole catalogue is theirs to grant.
func (s *Service) creatorRights(ctx context.Context, ac identity.ActorContext, tenantID, holder string) (identity.PermissionSet, error) {
	if strings.HasPrefix(holder, serviceaccount.ActorPrefix) && s.isPlatformAdmin(ctx, ac) {
		if err := s.rights.TenantExists(ctx, tenantID); err != nil {
			return nil, err
		}
		all := identity.PermissionSet{}
		for _, p := range identity.Catalogue() {
			all[p] = struct{}{}
		}
		return all, nil
	}
	return s.callerRights(ctx, ac, tenantID)
}

// ownedBy reports whether the caller holds key k or owns the agent holding it.
func (s *Service) ownedBy(ctx context.Context, ac identity.ActorContext, k Key) bool {
	if k.ActorID == ac.ActorID {
		return true
	}
	id, ok := strings.CutPrefix(k.ActorID, identity.AgentActorPrefix)
	if !ok {
		return false
	}
	ag, err := s.rights.Agent(ctx, k.TenantID, id)
	return err == nil && ag.OwnerID == ac.ActorID
}

// Create issues a key and returns it with its secret, which is never
// available again.
func (s *Service) Create(ctx context.Context, ac identity.ActorContext, in NewKey) (Key, string, error) {
	holder := in.ActorID
	if holder == "" {
		holder = ac.ActorID
	}
	rights, err := s.creatorRights(ctx, ac, in.TenantID, holder)
	if err != nil {
		return Key{}, "", err
	}
	if err := identity.ValidateName("name", in.Name, false); err != nil {
		return Key{}, "", err
	}
	scopes, err := validateScopes(in.Scopes, rights)
	if err != nil {
		return Key{}, "", err
	}
	now := s.timestamp()
	if in.ExpiresAt != nil {
		if y := in.ExpiresAt.UTC().Year(); y > 9999 {
			// RFC 3339 has four-digit years; such a time could be stored
			// but never written back in an answer.
			return Key{}, "", fault.Invalidf("expires_at", CodeExpiresAtOutOfRange, "expires_at must be before the year 10000 in UTC")
		}
		if !in.ExpiresAt.After(now) {
			return Key{}, "", fault.Invalidf("expires_at", CodeExpiresAtInPast, "expires_at must be in the future")
		}
		t := in.ExpiresAt.UTC().Truncate(time.Microsecond)
		in.ExpiresAt = &t
	}
	if err := s.checkHolder(ctx, ac, rights, in.TenantID, holder); err != nil {
		return Key{}, "", err
	}
	// A person makes their own keys; a key or delegated token minting one
	// needs apikeys:write, or a short-lived token could leave behind a
	// credential that outlives it.
	if bounded(ac) && !rights.Has(identity.PermAPIKeysWrite) {
		return Key{}, "", errPermission(identity.PermAPIKeysWrite)
	}
	if in.RateLimit != "" {
		if in.RateLimit, err = s.rateLimit(ctx, ac, in.RateLimit); err != nil {
			return Key{}, "", err
		}
	}
	if limit := s.opts.MaxKeysPerActor; limit > 0 {
		n, err := s.store.CountLiveAPIKeys(ctx, in.TenantID, holder, now)
		if err != nil {
			return Key{}, "", err
		}
		if n >= limit {
			return Key{}, "", identity.LimitReached("max_api_keys_per_actor", limit, "the key holder's number of live API keys in this tenant")
		}
	}
	id := ids.NewAt(now)
	raw, hash := secret.Generate(secret.KeyPrefix, s.opts.Env, id)
	k := Key{
		ID: id, TenantID: in.TenantID, ActorID: holder, CreatedBy: ac.ActorID, Name: in.Name,
		Scopes: scopes, Hash: hash, ExpiresAt: in.ExpiresAt, CreatedAt: now, RateLimit: in.RateLimit,
	}
	ctx = audit.Record(ctx, audit.Event{TenantID: k.TenantID, Action: audit.ActionAPIKeyCreate, TargetType: "api_key", TargetID: k.ID,
		Detail: map[string]string{"holder": k.ActorID, "scopes": audit.List(k.Scopes)}})
	if err := s.store.CreateAPIKey(ctx, k); err != nil {
		return Key{}, "", err
	}
	return k, raw, nil
}

// validateScopes checks scopes against the catalogue and the caller's
// rights: a key can never do more than whoever made it.
func validateScopes(scopes []string, rights identity.PermissionSet) ([]string, error) {
	if len(scopes) > maxScopes {
		return nil, fault.Invalidf("scopes", identity.CodeTooManyScopes, "scopes must hold at most %d entries, not %d", maxScopes, len(scopes))
	}
	out := make([]string, 0, len(scopes))
	for _, sc := range scopes {
		if !identity.KnownPermission(sc) {
			return nil, fault.Invalidf("scopes", identity.CodeUnknownScope, "%q is not a permission of the catalogue", truncate(sc, 64))
		}
		if !rights.Has(identity.Permission(sc)) {
			return nil, fault.Forbiddenf(CodeScopeExceedsRights, "a key cannot have %s: you do not hold it in this tenant", sc)
		}
		if !slices.Contains(out, sc) {
			out = append(out, sc)
		}
	}
	slices.Sort(out)
	return out, nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// checkHolder decides who may receive a key: oneself; an agent one owns,
// in one's own session (or any agent with agents:write); a service, by a
// platform admin. Nobody mints keys for another human.
func (s *Service) checkHolder(ctx context.Context, ac identity.ActorContext, rights identity.PermissionSet, tenantID, holder string) error {
	if holder == ac.ActorID {
		return nil
	}
	switch {
	case strings.HasPrefix(holder, identity.AgentActorPrefix):
		id := strings.TrimPrefix(holder, identity.AgentActorPrefix)
		if !ids.Valid(id) {
			return fault.NotFoundf(identity.CodeAgentNotFound, "agent not found")
		}
		ag, err := s.rights.Agent(ctx, tenantID, id)
		if err != nil {
			return err
		}
		if (ag.OwnerID != ac.ActorID || bounded(ac)) && !rights.Has(identity.PermAgentsWrite) {
			return fault.Forbiddenf(identity.CodePermissionDenied, "only the agent's owner, in their own session, or a holder of agents:write may give it keys")
		}
		if ag.Status != identity.AgentActive {
			return fault.Conflictf(identity.CodeAgentDisabled, "this agent is disabled")
		}
		return nil
	case strings.HasPrefix(holder, serviceaccount.ActorPrefix):
		if !s.isPlatformAdmin(ctx, ac) {
			return fault.Forbiddenf(identity.CodePlatformAdminRequired, "only a platform admin may give a service keys")
		}
		svc, err := s.services.GetServiceByName(ctx, strings.TrimPrefix(holder, serviceaccount.ActorPrefix))
		if err != nil {
			return err
		}
		if svc.Status != serviceaccount.Active {
			return fault.Conflictf(serviceaccount.CodeServiceDisabled, "this service is disabled")
		}
		return nil
	case strings.HasPrefix(holder, identity.UserActorPrefix):
		return fault.Forbiddenf(CodeKeyForOtherUser, "a key can only be created for yourself, your agents or a service")
	}
	return fault.Invalidf("actor_id", identity.CodeInvalidActorID, "actor_id must be a user:, agent: or service: actor id")
}

// bounded reports whether ac acts through a credential narrower than its
// holder: an API key, a delegated or a service token. Only a person's own
// session takes the shortcuts of owning a key.
func bounded(ac identity.ActorContext) bool { return ac.Credential != identity.CredentialSession }

// callingKey reports whether k is the API key ac was authenticated with.
func callingKey(ac identity.ActorContext, k Key) bool {
	return ac.Credential == identity.CredentialAPIKey && ac.CredentialID == k.ID
}

// visible loads key id for the caller, who must be in its tenant, and
// checks perm ("" when the act needs none, only to see the key):
//   - in a person's own session, the keys they hold and those of their
//     agents need nothing; anyone else's need apikeys:read to be seen and
//     then perm;
//   - a key or delegated token needs perm on its holder's keys too. Any
//     credential reads the key it was authenticated with. Its holder's
//     other keys it cannot read are not found, like anyone's; those it may
//     not change are Forbidden, since its holder knows them.
//
// Anything the caller may not see is NotFound.
func (s *Service) visible(ctx context.Context, ac identity.ActorContext, id string, perm identity.Permission) (Key, error) {
	if !ids.Valid(id) {
		return Key{}, errKeyNotFound()
	}
	k, err := s.store.GetAPIKey(ctx, id)
	if err != nil {
		return Key{}, err
	}
	rights, err := s.callerRights(ctx, ac, k.TenantID)
	if errors.Is(err, fault.ErrNotFound) {
		return Key{}, errKeyNotFound()
	}
	if err != nil {
		return Key{}, err
	}
	own := s.ownedBy(ctx, ac, k)
	switch {
	case own && !bounded(ac):
		return k, nil
	case perm == identity.PermAPIKeysRead && callingKey(ac, k):
		return k, nil
	case own && perm != identity.PermAPIKeysRead:
	case !rights.Has(identity.PermAPIKeysRead):
		return Key{}, errKeyNotFound()
	}
	if perm != "" && !rights.Has(perm) {
		return Key{}, errPermission(perm)
	}
	return k, nil
}

func errPermission(p identity.Permission) error {
	return fault.Forbiddenf(identity.CodePermissionDenied, "this action needs the %s permission in this tenant", p)
}

// Get returns a key's metadata.
func (s *Service) Get(ctx context.Context, ac identity.ActorContext, id string) (Key, error) {
	return s.visible(ctx, ac, id, identity.PermAPIKeysRead)
}

// List lists keys of a tenant: all of them with apikeys:read, otherwise,
// in a person's session, their own and those of their agents, and for a
// key the key itself. actorID "" lists every holder.
func (s *Service) List(ctx context.Context, ac identity.ActorContext, tenantID, actorID string, includeRevoked bool, p cursor.Page) ([]Key, error) {
	rights, err := s.callerRights(ctx, ac, tenantID)
	if err != nil {
		return nil, err
	}
	f := Filter{TenantID: tenantID, IncludeRevoked: includeRevoked}
	if actorID != "" {
		f.ActorIDs = []string{actorID}
	}
	if !rights.Has(identity.PermAPIKeysRead) && bounded(ac) {
		return s.listCallingKey(ctx, ac, f, p)
	}
	if !rights.Has(identity.PermAPIKeysRead) {
		mine, err := s.ownHolders(ctx, ac, tenantID)
		if err != nil {
			return nil, err
		}
		if actorID != "" && !slices.Contains(mine, actorID) {
			return []Key{}, nil
		}
		if actorID == "" {
			f.ActorIDs = mine
		}
	}
	return s.store.ListAPIKeys(ctx, f, p.Normalize())
}

// listCallingKey is List for a key or delegated token without
// apikeys:read: of its holder's keys it reads only the one it is, if f
// and p select it.
func (s *Service) listCallingKey(ctx context.Context, ac identity.ActorContext, f Filter, p cursor.Page) ([]Key, error) {
	out := []Key{}
	if ac.Credential != identity.CredentialAPIKey || !ids.Valid(ac.CredentialID) || ac.CredentialID <= p.After {
		return out, nil
	}
	k, err := s.store.GetAPIKey(ctx, ac.CredentialID)
	if errors.Is(err, fault.ErrNotFound) {
		return out, nil
	}
	if err != nil {
		return nil, err
	}
	if k.TenantID == f.TenantID && (len(f.ActorIDs) == 0 || slices.Contains(f.ActorIDs, k.ActorID)) &&
		(f.IncludeRevoked || k.RevokedAt == nil) {
		out = append(out, k)
	}
	return out, nil
}

// ownHolders is the caller and, for a human, the agents they own.
func (s *Service) ownHolders(ctx context.Context, ac identity.ActorContext, tenantID string) ([]string, error) {
	out := []string{ac.ActorID}
	if !strings.HasPrefix(ac.ActorID, identity.UserActorPrefix) {
		return out, nil
	}
	agents, err := s.rights.OwnedAgents(ctx, tenantID, ac.ActorID)
	if err != nil {
		return nil, err
	}
	for _, a := range agents {
		out = append(out, a.ActorID())
	}
	return out, nil
}

// Revoke ends a key at once, on every replica. A person revokes their own
// keys and their agents'; a key or delegated token needs apikeys:write,
// for its holder's keys and itself too.
func (s *Service) Revoke(ctx context.Context, ac identity.ActorContext, id string) error {
	k, err := s.visible(ctx, ac, id, identity.PermAPIKeysWrite)
	if err != nil {
		return err
	}
	now := s.timestamp()
	ctx = audit.Record(ctx, audit.Event{TenantID: k.TenantID, Action: audit.ActionAPIKeyRevoke, TargetType: "api_key", TargetID: k.ID,
		Detail: map[string]string{"holder": k.ActorID}})
	if err := s.store.RevokeAPIKey(ctx, k.ID, now); err != nil {
		return err
	}
	s.notify.Notify(ctx, event.Event{Kind: event.KindCredentialRevoked, ID: k.ID, At: now})
	return nil
}

// rateLimit validates a key's own rate-limit spec and returns it in
// canonical form. Raising one's own limit would defeat the limit, so only
// platform admins set it (for a customer's plan, or to slow a noisy key).
func (s *Service) rateLimit(ctx context.Context, ac identity.ActorContext, spec string) (string, error) {
	if !s.isPlatformAdmin(ctx, ac) {
		return "", fault.Forbiddenf(identity.CodePlatformAdminRequired, "only a platform admin may set a key's own rate limit")
	}
	p, err := ratelimit.ParsePolicy(ratelimit.TierActor, spec)
	if err != nil {
		return "", err
	}
	return p.String(), nil
}

func (s *Service) isPlatformAdmin(ctx context.Context, ac identity.ActorContext) bool {
	return ac.Credential == identity.CredentialSession && s.rights.IsPlatformAdmin(ctx, identity.Caller{ActorID: ac.ActorID})
}

// SetRateLimit gives key id its own per-actor rate limit, replacing the
// tenant's and the configured one for requests made with the key; ""
// removes it. Platform admins only; others get NotFound for keys they
// cannot see and Forbidden for the rest.
func (s *Service) SetRateLimit(ctx context.Context, ac identity.ActorContext, id, spec string) (Key, error) {
	var k Key
	var err error
	if s.isPlatformAdmin(ctx, ac) {
		if !ids.Valid(id) {
			return Key{}, errKeyNotFound()
		}
		k, err = s.store.GetAPIKey(ctx, id)
	} else {
		// Only to tell a key the caller cannot see (404) from one it may
		// not change (403).
		k, err = s.visible(ctx, ac, id, "")
	}
	if err != nil {
		return Key{}, err
	}
	if spec != "" {
		if spec, err = s.rateLimit(ctx, ac, spec); err != nil {
			return Key{}, err
		}
	} else if !s.isPlatformAdmin(ctx, ac) {
		return Key{}, fault.Forbiddenf(identity.CodePlatformAdminRequired, "only a platform admin may set a key's own rate limit")
	}
	ctx = audit.Record(ctx, audit.Event{TenantID: k.TenantID, Action: audit.ActionAPIKeyUpdate, TargetType: "api_key", TargetID: k.ID,
		Detail: map[string]string{"rate_limit": spec}})
	if err := s.store.SetAPIKeyRateLimit(ctx, k.ID, spec); err != nil {
		return Key{}, err
	}
	k.RateLimit = spec
	s.notify.Notify(ctx, event.Event{Kind: event.KindCredentialChanged, ID: k.ID, At: s.timestamp()})
	return k, nil
}

// mayReissue checks that the caller could create k as it is: rotating
// hands out k's secret, which must carry nothing the caller's credential
// does not hold (a session: the person's rights in k's tenant now).
func (s *Service) mayReissue(ctx context.Context, ac identity.ActorContext, k Key) error {
	rights, err := s.callerRights(ctx, ac, k.TenantID)
	if err != nil {
		return err
	}
	for _, sc := range k.Scopes {
		if !rights.Has(identity.Permission(sc)) {
			return fault.Forbiddenf(CodeScopeExceedsRights, "the key has %s, which you do not hold in this tenant, so you cannot receive its secret", sc)
		}
	}
	return nil
}

// Rotate gives a key a new secret; the old one keeps working for grace.
// The caller must hold every scope of the key (mayReissue), and a key or
// delegated token apikeys:write, its holder's keys included.
func (s *Service) Rotate(ctx context.Context, ac identity.ActorContext, id string, grace time.Duration) (Key, string, error) {
	if grace < 0 || grace > s.opts.MaxRotationGrace {
		return Key{}, "", fault.Invalidf("grace_period_seconds", secret.CodeInvalidGracePeriod, "the grace period must be between 0 and %d seconds", int64(s.opts.MaxRotationGrace/time.Second))
	}
	k, err := s.visible(ctx, ac, id, identity.PermAPIKeysWrite)
	if err != nil {
		return Key{}, "", err
	}
	if err := s.mayReissue(ctx, ac, k); err != nil {
		return Key{}, "", err
	}
	now := s.timestamp()
	raw, hash := secret.Generate(secret.KeyPrefix, s.opts.Env, k.ID)
	var until *time.Time
	if grace > 0 {
		t := now.Add(grace)
		until = &t
	}
	ctx = audit.Record(ctx, audit.Event{TenantID: k.TenantID, Action: audit.ActionAPIKeyRotate, TargetType: "api_key", TargetID: k.ID,
		Detail: map[string]string{"holder": k.ActorID, "grace_seconds": strconv.FormatInt(int64(grace/time.Second), 10)}})
	k, err = s.store.RotateAPIKey(ctx, k.ID, hash, until, now)
	if err != nil {
		return Key{}, "", err
	}
	// Caches hold the old hash; make every replica re-read the key.
	s.notify.Notify(ctx, event.Event{Kind: event.KindActorChanged, ID: k.ActorID, Tenant: k.TenantID, At: now})
	return k, raw, nil
}

// Matches reports whether hash opens k at now: the current secret, or the
// previous one during a rotation's grace period. Constant time in the hash.
func (k Key) Matches(hash []byte, now time.Time) bool {
	if subtle.ConstantTimeCompare(k.Hash, hash) == 1 {
		return true
	}
	return k.PreviousHash != nil && k.PreviousExpiresAt != nil && now.Before(*k.PreviousExpiresAt) &&
		subtle.ConstantTimeCompare(k.PreviousHash, hash) == 1
}

// Usable reports why k cannot be used at now, or nil.
func (k Key) Usable(now time.Time) error {
	switch {
	case k.RevokedAt != nil:
		return fault.Unauthenticatedf(CodeAPIKeyRevoked, "this API key has been revoked")
	case k.ExpiresAt != nil && !now.Before(*k.ExpiresAt):
		return fault.Unauthenticatedf(CodeAPIKeyExpired, "this API key has expired")
	}
	return nil
}
