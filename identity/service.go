package identity

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tollgate/tollgate/event"
	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/ids"
)

// Service applies the identity rules: who may create, read and change
// tenants, members and roles. Every method takes the caller and checks their
// live membership, so a revoked role stops working at once.
type Service struct {
	store Store
	now   func() time.Time
	// notify reports changes that credential caches must apply: role
	// changes, suspensions, agents disabled or deleted.
	notify event.Notifier
	// mail renders the emails of invitations; nil refuses to invite.
	mail Mail
	opts Options
}

// Options configure a Service.
type Options struct {
	// MaxTenantsPerUser caps the tenants one actor may own when creating
	// another; 0 is no limit.
	MaxTenantsPerUser int
	// MaxAgentsPerTenant caps a tenant's agents; 0 is no limit.
	MaxAgentsPerTenant int
	// InvitationTTL is how long an invitation can be accepted.
	InvitationTTL time.Duration
	// LinkBase is the base URL of the links in emails, without a
	// trailing slash.
	LinkBase string
	// DeletionGrace is how long a scheduled tenant deletion waits before
	// erasure starts; 0 is DefaultDeletionGrace.
	DeletionGrace time.Duration
}

// LimitReached is the error of a creation refused by a configured limit:
// Conflict "limit_reached" naming the setting and its value.
func LimitReached(setting string, limit int, what string) error {
	return fault.Conflictf(CodeLimitReached, "%s reached its limit: %s is %d", what, setting, limit)
}

// underLimit fails with LimitReached when limit is set and have plus adding
// would exceed it. The count is read before the insert, so concurrent
// creations may overshoot the limit by at most the number of concurrent
// writers.
func underLimit(have, adding, limit int, setting, what string) error {
	if limit > 0 && have+adding > limit {
		return LimitReached(setting, limit, what)
	}
	return nil
}

// NewService returns a Service over store. now may be nil (time.Now);
// notify may be nil.
// Deps are what a Service is built from.
type Deps struct {
	Store Store
	// Notify announces changes of actors' rights and status to every
	// replica's caches; nil announces nothing.
	Notify event.Notifier
	// Now is the clock; nil is time.Now.
	Now func() time.Time
	// Mail renders invitation emails (mail.Templates); nil refuses to
	// invite.
	Mail Mail
}

// NewService wires a Service.
func NewService(d Deps, opts Options) *Service {
	if d.Now == nil {
		d.Now = time.Now
	}
	if opts.InvitationTTL <= 0 {
		opts.InvitationTTL = 7 * 24 * time.Hour
	}
	if opts.DeletionGrace <= 0 {
		opts.DeletionGrace = DefaultDeletionGrace
	}
	return &Service{store: d.Store, now: d.Now, notify: d.Notify, mail: d.Mail, opts: opts}
}

func (s *Service) timestamp() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// errTenantNotFound is what a caller without access to a tenant sees, whether
// or not it exists: a member of tenant A learns nothing about tenant B.
func errTenantNotFound() error {
	return fault.NotFoundf(CodeTenantNotFound, "tenant not found")
}

// access is the caller's standing in one tenant.
type access struct {
	tenant     Tenant
	membership Membership // zero for a platform admin who is not a member
	perms      PermissionSet
	// platform reports whether the caller is a platform admin, who holds an
	// owner's rights in every tenant. It is looked up at most once, and only
	// when the membership alone does not decide, so that ordinary calls
	// skip the read.
	platform func() bool
}

// has reports whether the caller holds p here.
func (a access) has(p Permission) bool { return a.perms.Has(p) || a.platform() }

// resolve loads the caller's access to tenantID, hiding tenants the caller
// cannot see behind NotFound.
func (s *Service) resolve(ctx context.Context, c Caller, tenantID string) (access, error) {
	if !ids.Valid(tenantID) || c.Bounded && tenantID != c.TenantID {
		return access{}, errTenantNotFound()
	}
	t, err := s.store.GetTenant(ctx, tenantID)
	if err != nil {
		if errors.Is(err, fault.ErrNotFound) {
			return access{}, errTenantNotFound()
		}
		return access{}, err
	}
	if t.Status == TenantDeleted {
		// A tombstone is nobody's to see or change.
		return access{}, errTenantNotFound()
	}
	m, err := s.store.GetMember(ctx, tenantID, c.ActorID)
	member := err == nil
	if err != nil && !errors.Is(err, fault.ErrNotFound) {
		return access{}, err
	}
	// Platform admins manage every tenant, member or not, whatever its status.
	platform := sync.OnceValue(func() bool { return s.isPlatformAdmin(ctx, c) })
	switch {
	case !member && !platform():
		return access{}, errTenantNotFound()
	case member && t.Status != TenantActive && !platform():
		// Members know the tenant exists, so they learn why, not a 404.
		return access{}, fault.Forbiddenf(CodeTenantSuspended, "this tenant is suspended")
	}
	custom, err := s.customRolesFor(ctx, tenantID, m.Roles)
	if err != nil {
		return access{}, err
	}
	perms := ResolvePermissions(m.Roles, custom)
	if c.Bounded {
		bounded := PermissionSet{}
		for _, p := range c.Scopes {
			if perms.Has(Permission(p)) {
				bounded[Permission(p)] = struct{}{}
			}
		}
		perms = bounded
	}
	return access{tenant: t, membership: m, perms: perms, platform: platform}, nil
}

// resolveFor resolves the caller in the tenant and requires p: the check
// of every act that needs one permission in one tenant.
func (s *Service) resolveFor(ctx context.Context, c Caller, tenantID string, p Permission) (access, error) {
	a, err := s.resolve(ctx, c, tenantID)
	if err != nil {
		return access{}, err
	}
	if err := a.require(p); err != nil {
		return access{}, err
	}
	return a, nil
}

func (s *Service) customRolesFor(ctx context.Context, tenantID string, roles []string) (map[string]Role, error) {
	if !slices.ContainsFunc(roles, func(r string) bool { return !IsBuiltinRole(r) }) {
		return nil, nil
	}
	return s.CustomRoles(ctx, tenantID)
}

// CustomRoles returns a tenant's custom roles by name, for resolving the
// permissions that role names grant.
func (s *Service) CustomRoles(ctx context.Context, tenantID string) (map[string]Role, error) {
	list, err := s.store.ListRoles(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	out := make(map[string]Role, len(list))
	for _, r := range list {
		out[r.Name] = r
	}
	return out, nil
}

func (s *Service) isPlatformAdmin(ctx context.Context, c Caller) bool {
	if c.Bounded {
		return false
	}
	id, ok := strings.CutPrefix(c.ActorID, UserActorPrefix)
	if !ok {
		return false
	}
	u, err := s.store.GetUser(ctx, id)
	return err == nil && u.PlatformAdmin && u.Status == UserActive
}

func (a access) require(p Permission) error {
	if a.has(p) {
		return nil
	}
	return fault.Forbiddenf(CodePermissionDenied, "this action needs the %s permission in this tenant", p)
}

// IsPlatformAdmin reports whether the caller is an active platform admin.
func (s *Service) IsPlatformAdmin(ctx context.Context, c Caller) bool {
	return s.isPlatformAdmin(ctx, c)
}
