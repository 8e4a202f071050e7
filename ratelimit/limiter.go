package ratelimit

import (
	"context"
	"errors"
	"hash/maphash"
	"log/slog"
	"maps"
	"sort"
	"sync/atomic"
	"time"

	"github.com/tollgate/tollgate/cache"
	"github.com/tollgate/tollgate/cursor"
	"github.com/tollgate/tollgate/fault"
)

// LimiterDeps are what a Limiter needs.
type LimiterDeps struct {
	Backend Backend
	Tenants TenantStore
	// Policies are the configured policies by name: Tollgate's tiers and
	// the limits services check by name.
	Policies map[string]Policy
	// Failed is told of each check, peek, charge or reset the backend could
	// not answer, and whether the request was let through (the policy fails
	// open, or the request had been answered already) or refused. May be
	// nil.
	Failed func(name string, letThrough bool)
	// Denied is told of each request a policy refused. May be nil.
	Denied func(name string)
	// Changed announces that a tenant's overrides changed, so that other
	// replicas drop their cached copy. May be nil.
	Changed func(ctx context.Context, tenantID string)
	Log     *slog.Logger
	// Now is the clock of the limits; nil means time.Now.
	Now func() time.Time
}

// LimiterOptions tune a Limiter.
type LimiterOptions struct {
	// OverrideTTL is how long a tenant's overrides are served from memory
	// without an announcement of a change (default 30s).
	OverrideTTL time.Duration
	// OverrideCacheSize bounds the tenants whose overrides are held
	// (default 100,000).
	OverrideCacheSize int
}

// Limiter applies policies: it picks a tenant's override or the configured
// policy, asks the backend, and when the backend fails lets the request
// through or refuses it as the policy says.
type Limiter struct {
	d         LimiterDeps
	ttl       time.Duration
	overrides *cache.Bounded[string, map[string]Policy]
	// lastLog and suppressed keep backend failures to one log line per
	// logEvery, however many requests fail.
	lastLog    atomic.Int64
	suppressed atomic.Int64
}

const logEvery = 10 * time.Second

// MaxTenantLimits bounds the overrides one tenant may have.
const MaxTenantLimits = 64

// NewLimiter returns a Limiter.
func NewLimiter(d LimiterDeps, opts LimiterOptions) *Limiter {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if opts.OverrideTTL <= 0 {
		opts.OverrideTTL = 30 * time.Second
	}
	if opts.OverrideCacheSize <= 0 {
		opts.OverrideCacheSize = 100_000
	}
	seed := maphash.MakeSeed()
	return &Limiter{
		d: d, ttl: opts.OverrideTTL,
		overrides: cache.New[string, map[string]Policy](opts.OverrideCacheSize, func(k string) uint64 { return maphash.String(seed, k) }),
	}
}

// Decision is one policy applied to one request.
type Decision struct {
	Name   string
	Policy Policy
	Result Result
	// Unchecked: the policy is off, or the backend failed and the policy
	// fails open; the request was let through without counting it.
	Unchecked bool
}

// Policy returns the policy called name for a request of tenantID ("" for
// none): the tenant's override when it has one, else the configured policy.
// ok is false when neither exists.
func (l *Limiter) Policy(ctx context.Context, tenantID, name string) (p Policy, ok bool, err error) {
	if tenantID != "" && TenantOverridable(name) {
		ov, err := l.tenantPolicies(ctx, tenantID)
		if err != nil {
			return Policy{}, false, err
		}
		if p, ok := ov[name]; ok {
			return p, true, nil
		}
	}
	p, ok = l.d.Policies[name]
	return p, ok, nil
}

// Check applies p to key, consuming cost. A denial is not an error: it is
// Result.Allowed false. Errors: Invalid for a bad key or cost; Unavailable
// "ratelimit_unavailable" when the backend failed and p fails closed.
func (l *Limiter) Check(ctx context.Context, p Policy, key string, cost int64) (Decision, error) {
	return l.decide(ctx, p, key, cost, false, true)
}

// Peek is Check of cost 1 without consuming anything: whether one more
// request would be allowed now. A refusal counts as one (Denied), since
// the caller refuses the request on it.
func (l *Limiter) Peek(ctx context.Context, p Policy, key string) (Decision, error) {
	return l.decide(ctx, p, key, 1, true, true)
}

// charge is Check of cost 1 for a request that has already been answered:
// counting its outcome (a failed sign-in). A denial refuses nothing, so it
// is not counted as a refusal.
func (l *Limiter) charge(ctx context.Context, p Policy, key string) (Decision, error) {
	return l.decide(ctx, p, key, 1, false, false)
}

func (l *Limiter) decide(ctx context.Context, p Policy, key string, cost int64, peek, refuses bool) (Decision, error) {
	d := Decision{Name: p.Limit.Name, Policy: p}
	if p.Off {
		d.Result.Allowed, d.Unchecked = true, true
		return d, nil
	}
	var r Result
	var err error
	if peek {
		r, err = l.d.Backend.Peek(ctx, p.Limit, key, l.d.Now())
	} else {
		r, err = l.d.Backend.Allow(ctx, p.Limit, key, cost, l.d.Now())
	}
	if err == nil {
		d.Result = r
		if !r.Allowed && refuses && l.d.Denied != nil {
			l.d.Denied(d.Name)
		}
		return d, nil
	}
	if errors.Is(err, fault.ErrInvalid) || ctx.Err() != nil {
		return Decision{}, err
	}
	// A charge for a request already answered lets it through whatever
	// the policy's failure mode: its answer does not change.
	l.failed(ctx, p, err, !p.FailClosed || !refuses)
	if p.FailClosed {
		return Decision{}, fault.Wrap(fault.Unavailable, CodeRatelimitUnavailable, err)
	}
	d.Result.Allowed, d.Unchecked = true, true
	return d, nil
}

// Reset forgets key under p, so that its next request finds the full
// quota. A policy that is off has nothing to forget. A backend failure is
// counted (Failed, as letting the request through: a reset refuses
// nothing) and returned as Unavailable "ratelimit_unavailable".
func (l *Limiter) Reset(ctx context.Context, p Policy, key string) error {
	if p.Off {
		return nil
	}
	err := l.d.Backend.Reset(ctx, p.Limit, key)
	if err == nil || errors.Is(err, fault.ErrInvalid) || ctx.Err() != nil {
		return err
	}
	l.failed(ctx, p, err, true)
	return fault.Wrap(fault.Unavailable, CodeRatelimitUnavailable, err)
}

// Enforce applies the policy called name (for tenantID) to key and returns
// an *ExceededError when it is exhausted. A policy that does not exist is
// not applied.
func (l *Limiter) Enforce(ctx context.Context, tenantID, name, key string) error {
	p, ok, err := l.Policy(ctx, tenantID, name)
	if err != nil || !ok {
		return err
	}
	d, err := l.Check(ctx, p, key, 1)
	if err != nil {
		return err
	}
	return Exceeded([]Decision{d})
}

// CheckNamed applies a limit a service defined, by name, to key: the
// tenant's own policy of that name when tenantID is given and has one, else
// the configured one. Keys of different tenants, and keys checked without
// a tenant, never share a count.
// Errors: NotFound "limit_not_found" for an unknown name or one of
// Tollgate's own tiers; those of Check.
func (l *Limiter) CheckNamed(ctx context.Context, tenantID, name, key string, cost int64) (Decision, error) {
	if err := ValidateKey(key); err != nil {
		return Decision{}, err
	}
	if IsTier(name) {
		return Decision{}, errLimitNotFound()
	}
	p, ok, err := l.Policy(ctx, tenantID, name)
	if err != nil {
		return Decision{}, err
	}
	if !ok {
		return Decision{}, errLimitNotFound()
	}
	// Every key is prefixed by its tenant, none for no tenant, so that
	// "A/x" without a tenant and "x" of tenant A never share a count
	// (tenant ids contain no "/").
	if len(tenantID)+1+len(key) > MaxKeyLen {
		return Decision{}, fault.Invalidf("key", cursor.CodeInvalidLimit, "key must be at most %d bytes", MaxKeyLen-1-len(tenantID))
	}
	key = tenantID + "/" + key
	if !p.Off {
		if err := p.Limit.ValidateCost(cost); err != nil {
			return Decision{}, err
		}
	}
	return l.Check(ctx, p, key, cost)
}

func errLimitNotFound() error {
	return fault.NotFoundf(CodeLimitNotFound, "no rate limit of that name is configured for this tenant")
}

// failed counts a backend failure and logs it, at most once per logEvery.
// letThrough says whether the request went on (the policy fails open, or
// nothing waited on the backend's answer) or was refused.
func (l *Limiter) failed(ctx context.Context, p Policy, err error, letThrough bool) {
	if l.d.Failed != nil {
		l.d.Failed(p.Limit.Name, letThrough)
	}
	now := time.Now().UnixNano()
	last := l.lastLog.Load()
	if now-last < int64(logEvery) || !l.lastLog.CompareAndSwap(last, now) {
		l.suppressed.Add(1)
		return
	}
	l.d.Log.WarnContext(ctx, "rate-limit backend unavailable",
		"limit", p.Limit.Name, "fail_closed", p.FailClosed,
		"failures_not_logged", l.suppressed.Swap(0), "err", err)
}

// tenantPolicies returns tenantID's parsed overrides, from memory when
// recent enough.
func (l *Limiter) tenantPolicies(ctx context.Context, tenantID string) (map[string]Policy, error) {
	now := l.d.Now().UnixNano()
	if ov, ok := l.overrides.Get(tenantID, now); ok {
		return ov, nil
	}
	gen := l.overrides.Generation()
	tl, err := l.d.Tenants.TenantRateLimits(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	ov := make(map[string]Policy, len(tl.Limits))
	for name, spec := range tl.Limits {
		p, err := ParsePolicy(name, spec)
		if err != nil {
			// Specs are validated before they are stored; one that no
			// longer parses is skipped rather than locking the tenant out.
			l.d.Log.ErrorContext(ctx, "stored rate-limit override does not parse", "tenant_id", tenantID, "limit", name, "err", err)
			continue
		}
		ov[name] = p
	}
	l.overrides.PutIfGeneration(tenantID, ov, now+int64(l.ttl), now, gen)
	return ov, nil
}

// Invalidate forgets every tenant's cached overrides. Changes are rare, so
// dropping all of them is simpler than racing a read of one.
func (l *Limiter) Invalidate() { l.overrides.Purge() }

// TenantLimits returns tenantID's overrides.
func (l *Limiter) TenantLimits(ctx context.Context, tenantID string) (TenantLimits, error) {
	return l.d.Tenants.TenantRateLimits(ctx, tenantID)
}

// SetTenantLimits validates and replaces tenantID's overrides, storing each
// spec in canonical form, and announces the change. Only the tenant and
// actor tiers and services' own limits can be overridden.
func (l *Limiter) SetTenantLimits(ctx context.Context, tenantID string, limits map[string]string) (TenantLimits, error) {
	if len(limits) > MaxTenantLimits {
		return TenantLimits{}, fault.Invalidf("limits", CodeTooManyLimits, "a tenant may override at most %d limits", MaxTenantLimits)
	}
	names := sort.StringSlice(make([]string, 0, len(limits)))
	for name := range limits {
		names = append(names, name)
	}
	names.Sort()
	canonical := make(map[string]string, len(limits))
	for _, name := range names {
		if !TenantOverridable(name) {
			return TenantLimits{}, fault.Invalidf("limits."+name, CodeLimitNotOverridable,
				"%q is applied before a tenant is known and cannot be overridden per tenant", name)
		}
		p, err := ParsePolicy(name, limits[name])
		if err != nil {
			var fe *fault.Error
			if errors.As(err, &fe) {
				fe.Field = "limits." + name
			}
			return TenantLimits{}, err
		}
		canonical[name] = p.String()
	}
	tl := TenantLimits{TenantID: tenantID, Limits: canonical, UpdatedAt: l.d.Now().UTC().Truncate(time.Microsecond)}
	if err := l.d.Tenants.SetTenantRateLimits(ctx, tl); err != nil {
		return TenantLimits{}, err
	}
	l.Invalidate()
	if l.d.Changed != nil {
		l.d.Changed(ctx, tenantID)
	}
	return tl, nil
}

// Policies returns a copy of the configured policies.
func (l *Limiter) Policies() map[string]Policy { return maps.Clone(l.d.Policies) }
