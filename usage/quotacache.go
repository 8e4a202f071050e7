package usage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/tollgate/tollgate/audit"
	"github.com/tollgate/tollgate/policy"
)

// SubjectQuotaThreshold is the bus subject of threshold announcements
// (docs/usage.md describes the payload, a Crossing in JSON).
const SubjectQuotaThreshold = "usage.quota.threshold"

// Publisher is the bus, as QuotaCache announces on it.
type Publisher interface {
	Publish(ctx context.Context, subject string, data []byte) error
}

// QuotaCacheOptions tune a QuotaCache.
type QuotaCacheOptions struct {
	// MaxAge is the oldest consumption a decision sees (default 1 s): a
	// tenant's totals older than it are read again before the decision.
	// They are read again in the background once RefreshAhead of it has
	// passed, so that a tenant decided for steadily never waits.
	MaxAge time.Duration
	// NoQuotasTTL is how long a tenant is known to have no quotas before
	// it is asked again (default 1 minute); a change of quotas drops it at
	// once (Invalidate), so this only bounds a lost bus event.
	NoQuotasTTL time.Duration
	// MaxTenants bounds the tenants held (default 10,000).
	MaxTenants int
}

// RefreshAhead is the share of MaxAge after which a decision that finds
// its tenant's totals starts reading them again in the background and
// decides on the ones held: reading takes milliseconds, so the new totals
// are held before the old reach MaxAge and no decision waits.
const RefreshAhead = 0.75

// QuotaCache keeps, per replica, each quota'd tenant's consumption of the
// current period, read from the store at most once per MaxAge and only
// for tenants being decided for; decisions read it from memory
// (policy.QuotaSource) without a lock. Reading totals, it announces the
// thresholds they crossed.
type QuotaCache struct {
	store  Store
	quotas QuotaStore
	meters *Meters
	bus    Publisher
	log    *slog.Logger
	now    func() time.Time
	opts   QuotaCacheOptions
	flight singleflight.Group

	// gen counts Invalidate calls, so that a refresh that read before a
	// change does not keep what it read.
	gen atomic.Uint64

	// tenants maps a tenant id to its *quotaEntry. Decisions load from it
	// without a lock; writers hold mu, which keeps held (the entries'
	// count, for MaxTenants) and closed.
	tenants sync.Map
	mu      sync.Mutex
	held    int
	closed  bool
	// reading counts the refreshes running, which Close waits for.
	reading sync.WaitGroup
}

// quotaEntry is one tenant's quotas and where they stood at readAt. It is
// not changed once held, except for the refreshing flag and its answer's
// superseded one.
type quotaEntry struct {
	readAt time.Time
	// until is when the entry must be read again: MaxAge after readAt
	// (NoQuotasTTL when none), and at the latest at the period's end.
	until time.Time
	// ahead is when a decision starts reading it again in the background
	// (RefreshAhead of MaxAge after readAt; until when none).
	ahead time.Time
	// refreshing is set by the decision that started that read.
	refreshing atomic.Bool
	period     Period
	// answer is what decisions see, usable until ahead: engines keep it
	// beside the tenant's snapshot and ask again only after ahead or once
	// it is superseded, which it is as soon as this entry stops being the
	// one held (hold, Invalidate, eviction). So an engine's copy is never
	// used where this cache would answer otherwise.
	answer *policy.TenantQuotas
	// announced are the crossings of period already claimed.
	announced map[crossingKey]bool
}

type crossingKey struct {
	meter, actor string
	threshold    int
}

// QuotaCacheDeps are what a QuotaCache reads and announces with.
type QuotaCacheDeps struct {
	Store  Store
	Quotas QuotaStore
	// Meters default to ShippedMeters.
	Meters *Meters
	// Bus receives usage.quota.threshold; nil announces nothing on it
	// (the audit event is still written).
	Bus Publisher
	Log *slog.Logger
	Now func() time.Time
}

// NewQuotaCache returns an empty cache.
func NewQuotaCache(d QuotaCacheDeps, opts QuotaCacheOptions) *QuotaCache {
	if d.Meters == nil {
		d.Meters = ShippedMeters()
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if opts.MaxAge <= 0 {
		opts.MaxAge = time.Second
	}
	if opts.NoQuotasTTL <= 0 {
		opts.NoQuotasTTL = time.Minute
	}
	if opts.MaxTenants <= 0 {
		opts.MaxTenants = 10_000
	}
	return &QuotaCache{store: d.Store, quotas: d.Quotas, meters: d.Meters, bus: d.Bus, log: d.Log, now: d.Now, opts: opts}
}

// TenantQuotas implements policy.QuotaSource.
func (c *QuotaCache) TenantQuotas(ctx context.Context, tenantID string, now time.Time) (*policy.TenantQuotas, error) {
	var e *quotaEntry
	if v, ok := c.tenants.Load(tenantID); ok {
		e = v.(*quotaEntry)
	}
	// ahead is never after until: a fresh entry costs one comparison.
	if e == nil || !now.Before(e.ahead) {
		switch {
		case e == nil || !now.Before(e.until):
			var err error
			if e, err = c.refresh(ctx, tenantID); err != nil {
				return nil, err
			}
		case e.refreshing.CompareAndSwap(false, true):
			go c.refreshAhead(tenantID)
		}
	}
	return e.answer, nil
}

// Invalidate drops what is held of tenantID, whose quotas changed.
func (c *QuotaCache) Invalidate(tenantID string) {
	c.mu.Lock()
	c.gen.Add(1)
	if v, ok := c.tenants.LoadAndDelete(tenantID); ok {
		v.(*quotaEntry).answer.Supersede()
		c.held--
	}
	c.mu.Unlock()
}

// Close waits for the refreshes running, whose threshold claims write to
// the store; decisions after it fail closed. Call it before the store
// closes.
func (c *QuotaCache) Close() {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.reading.Wait()
}

// errQuotaCacheClosed refuses a refresh after Close.
var errQuotaCacheClosed = errors.New("usage: the quota cache is closed")

// refreshTimeout bounds one refresh of a tenant.
const refreshTimeout = 5 * time.Second

// refresh reads tenantID's quotas and totals once for every decision
// waiting on them. A decision whose ctx ends stops waiting.
func (c *QuotaCache) refresh(ctx context.Context, tenantID string) (*quotaEntry, error) {
	select {
	case r := <-c.start(tenantID):
		if r.Err != nil {
			return nil, r.Err
		}
		return r.Val.(*quotaEntry), nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// refreshAhead reads tenantID's totals while decisions go on with those
// held. A failure leaves them held until MaxAge, when a decision reads
// them itself (and fails closed if it cannot).
func (c *QuotaCache) refreshAhead(tenantID string) {
	if r := <-c.start(tenantID); r.Err != nil && !errors.Is(r.Err, errQuotaCacheClosed) {
		c.log.Warn("reading quota consumption ahead failed; decisions wait for it once the totals held reach MaxAge", "tenant_id", tenantID, "err", r.Err)
	}
}

// start reads tenantID's entry and holds it, unless a read of it is
// running already, whose result it shares. The read runs on a context of
// its own: it is shared by every waiting decision, and the audit events of
// a crossing must not pick up the origin or the pending events of the
// request that happened to start it.
func (c *QuotaCache) start(tenantID string) <-chan singleflight.Result {
	return c.flight.DoChan(tenantID, func() (any, error) {
		c.mu.Lock()
		if c.closed {
			c.mu.Unlock()
			return nil, errQuotaCacheClosed
		}
		c.reading.Add(1)
		gen := c.gen.Load()
		c.mu.Unlock()
		defer c.reading.Done()
		rctx, cancel := context.WithTimeout(context.Background(), refreshTimeout)
		defer cancel()
		var prev *quotaEntry
		if v, ok := c.tenants.Load(tenantID); ok {
			prev = v.(*quotaEntry)
		}
		e, err := c.read(rctx, tenantID, prev)
		if err != nil {
			return nil, err
		}
		c.hold(tenantID, e, gen)
		return e, nil
	})
}

// hold keeps e as tenantID's entry, read at Invalidate generation gen.
func (c *QuotaCache) hold(tenantID string, e *quotaEntry, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen.Load() != gen {
		// Quotas changed while they were read: serve this once, read
		// again next time.
		e.until, e.ahead = time.Time{}, time.Time{}
		e.answer.Supersede()
	}
	if _, ok := c.tenants.Load(tenantID); !ok {
		if c.held >= c.opts.MaxTenants {
			c.tenants.Range(func(k, v any) bool {
				// Any one: the order is not the insertion's.
				c.tenants.Delete(k)
				v.(*quotaEntry).answer.Supersede()
				c.held--
				return false
			})
		}
		c.held++
	}
	if prev, ok := c.tenants.Swap(tenantID, e); ok {
		prev.(*quotaEntry).answer.Supersede()
	}
}

// read builds tenantID's entry from the store, announcing the thresholds
// crossed since prev.
func (c *QuotaCache) read(ctx context.Context, tenantID string, prev *quotaEntry) (*quotaEntry, error) {
	now := c.now().UTC()
	qs, err := c.quotas.TenantQuotas(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	e := &quotaEntry{readAt: now, period: PeriodOf(now), announced: map[crossingKey]bool{}}
	if len(qs.Quotas) == 0 {
		e.until = now.Add(c.opts.NoQuotasTTL)
		e.ahead = e.until
		e.answer = policy.NewTenantQuotas(nil, nil, e.ahead)
		return e, nil
	}
	e.until = now.Add(c.opts.MaxAge)
	e.ahead = now.Add(time.Duration(float64(c.opts.MaxAge) * RefreshAhead))
	if e.until.After(e.period.End) {
		e.until = e.period.End
	}
	if e.ahead.After(e.until) {
		e.ahead = e.until
	}
	if prev != nil && prev.period.Start.Equal(e.period.Start) {
		for k := range prev.announced {
			e.announced[k] = true
		}
	}
	var over, near []string
	actorOver, actorNear := map[string][]string{}, map[string][]string{}
	for _, q := range qs.Quotas {
		m, ok := c.meters.Lookup(tenantID, q.Meter)
		if !ok {
			// A meter removed since: its quota binds nothing.
			continue
		}
		used, err := periodTotal(ctx, c.store, tenantID, m, e.period, q.Actor)
		if err != nil {
			return nil, err
		}
		if q.Actor == "" {
			over, near = standing(over, near, q, used)
		} else {
			actorOver[q.Actor], actorNear[q.Actor] = standing(actorOver[q.Actor], actorNear[q.Actor], q, used)
		}
		c.announce(ctx, e, Crossing{TenantID: tenantID, Meter: q.Meter, Actor: q.Actor, Limit: q.Limit, Used: used, Period: e.period, At: now})
	}
	var actors map[string]*policy.QuotaState
	if len(actorOver) > 0 {
		actors = make(map[string]*policy.QuotaState, len(actorOver))
	}
	for a := range actorOver {
		actors[a] = policy.NewQuotaState(append(actorOver[a], over...), append(actorNear[a], near...))
	}
	e.answer = policy.NewTenantQuotas(policy.NewQuotaState(over, near), actors, e.ahead)
	return e, nil
}

// standing adds q's meter to over or near as used stands against it.
func standing(over, near []string, q Quota, used float64) ([]string, []string) {
	switch {
	case used >= q.Limit:
		over = append(over, q.Meter)
	case used >= q.Limit*0.8:
		near = append(near, q.Meter)
	}
	return over, near
}

// announce claims and announces each threshold c reached that is not yet
// announced this period. A failed claim is tried again at the next
// refresh; a claim lost to another replica is not announced here.
func (c *QuotaCache) announce(ctx context.Context, e *quotaEntry, x Crossing) {
	for _, th := range Thresholds {
		k := crossingKey{x.Meter, x.Actor, th}
		if e.announced[k] || x.Used < x.Limit*float64(th)/100 {
			continue
		}
		x.Threshold = th
		actx := audit.Record(ctx, audit.Event{TenantID: x.TenantID, Action: audit.ActionQuotaThreshold,
			TargetType: "meter", TargetID: x.Meter, Detail: map[string]string{
				"actor": x.Actor, "threshold": fmt.Sprint(th), "limit": fmt.Sprint(x.Limit), "used": fmt.Sprint(x.Used),
				"period_start": x.Period.Start.Format(time.RFC3339)}})
		claimed, err := c.quotas.ClaimQuotaThreshold(actx, x)
		if err != nil {
			c.log.WarnContext(ctx, "recording a quota threshold failed; trying again at the next refresh", "tenant_id", x.TenantID, "meter", x.Meter, "err", err)
			continue
		}
		e.announced[k] = true
		if !claimed || c.bus == nil {
			continue
		}
		b, err := json.Marshal(x)
		if err == nil {
			err = c.bus.Publish(ctx, SubjectQuotaThreshold, b)
		}
		if err != nil {
			c.log.WarnContext(ctx, "publishing usage.quota.threshold failed; the audit event records it", "tenant_id", x.TenantID, "meter", x.Meter, "err", err)
		}
	}
}
