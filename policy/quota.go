package policy

import (
	"context"
	"slices"
	"sync/atomic"
	"time"

	"github.com/cedar-policy/cedar-go"
)

// contextQuota is the Tollgate-set context attribute holding the
// consumption of a tenant that has quotas.
const contextQuota = "quota"

// QuotaSource tells the engine where a tenant's consumption stands against
// its quotas (usage.QuotaCache).
type QuotaSource interface {
	// TenantQuotas returns what tenantID's decisions at now, the
	// decision's time, see of its quotas; never nil without an error. An
	// error fails the decision closed. The engine keeps the answer beside
	// the tenant's snapshot and asks again only once it is no longer
	// Usable, so the source decides how long its answer may be used.
	TenantQuotas(ctx context.Context, tenantID string, now time.Time) (*TenantQuotas, error)
}

// TenantQuotas is one tenant's quota states as a QuotaSource read them:
// the tenant's and those of the actors with quotas of their own. It is
// built once per refresh and shared by every decision until the next, so
// that a decision adds no allocation and, kept beside the snapshot the
// decision has just loaded, no lookup of its own.
type TenantQuotas struct {
	// fresh is when decisions must ask the source again.
	fresh time.Time
	// superseded is set by the source when it no longer holds this
	// answer (quotas changed, newer totals read, the tenant evicted).
	superseded atomic.Bool
	// tenant is nil when the tenant has no quotas.
	tenant *QuotaState
	actors map[string]*QuotaState
}

// NewTenantQuotas builds an answer usable until fresh: tenant is the
// tenant-wide state (nil: no quotas), actors the states of actors with
// quotas of their own, each merged with the tenant's.
func NewTenantQuotas(tenant *QuotaState, actors map[string]*QuotaState, fresh time.Time) *TenantQuotas {
	return &TenantQuotas{fresh: fresh, tenant: tenant, actors: actors}
}

// Usable reports whether a decision at now may use q without asking the
// source again.
func (q *TenantQuotas) Usable(now time.Time) bool {
	return now.Before(q.fresh) && !q.superseded.Load()
}

// Supersede marks q as no longer the source's answer: the decisions that
// hold it ask the source again.
func (q *TenantQuotas) Supersede() { q.superseded.Store(true) }

// Of returns the state actorID's decisions see, nil when the tenant has no
// quotas.
func (q *TenantQuotas) Of(actorID string) *QuotaState {
	if st, ok := q.actors[actorID]; ok {
		return st
	}
	return q.tenant
}

// QuotaState is context.quota: which meters are at or over a limit, and
// which at or over 80 % of one.
type QuotaState struct {
	value cedar.Value
}

// NewQuotaState builds the state from the meters at or over their limit
// (over) and those at or over 80 % of it (near, which over is part of).
func NewQuotaState(over, near []string) *QuotaState {
	set := func(names []string) cedar.Set {
		names = slices.Clone(names)
		slices.Sort(names)
		names = slices.Compact(names)
		vals := make([]cedar.Value, len(names))
		for i, n := range names {
			vals[i] = cedar.String(n)
		}
		return cedar.NewSet(vals...)
	}
	return &QuotaState{value: cedar.NewRecord(cedar.RecordMap{
		"exceeded": cedar.Boolean(len(over) > 0),
		"over":     set(over),
		"near":     set(append(slices.Clone(near), over...)),
	})}
}

// quotaContext adds context.quota to out when the tenant has quotas and
// some policy that may apply reads it (read). The tenant's quotas are
// taken from st, beside the snapshot, while the source's answer there is
// usable: one pointer load where a lookup in the source chased about ten
// cold cache lines (BENCHMARKS.md, "the lookup beside the snapshot"). They
// are had either way, so that a decision fails closed alike when they
// cannot be; leaving them out where no policy reads them spares the
// decision a larger context, which costs more than the lookup.
func (e *Engine) quotaContext(ctx context.Context, st *tenantState, actorID string, now time.Time, read bool, out cedar.RecordMap) error {
	if e.d.Quotas == nil {
		return nil
	}
	q := st.quota.Load()
	if q == nil || !q.Usable(now) {
		var err error
		if q, err = e.d.Quotas.TenantQuotas(ctx, st.id, now); err != nil {
			return err
		}
		st.quota.Store(q)
	}
	if !read {
		return nil
	}
	if s := q.Of(actorID); s != nil {
		out[contextQuota] = s.value
	}
	return nil
}

// Exceeded reports whether some quota is at or over its limit.
func (s *QuotaState) Exceeded() bool {
	rec := s.value.(cedar.Record)
	v, _ := rec.Get("exceeded")
	return v == cedar.True
}
