package policy

import (
	"context"
	"slices"
	"time"

	"github.com/cedar-policy/cedar-go"
)

// contextQuota is the Tollgate-set context attribute holding the
// consumption of a tenant that has quotas.
const contextQuota = "quota"

// QuotaSource tells the engine where a tenant's consumption stands against
// its quotas (usage.QuotaCache). It must answer from memory nearly always:
// it is asked on the decision path.
type QuotaSource interface {
	// QuotaState returns the state of tenantID's quotas as they apply to
	// actorID (the tenant's quotas and actorID's own) at now, the
	// decision's time, or nil when the tenant has no quotas. An error
	// fails the decision closed.
	QuotaState(ctx context.Context, tenantID, actorID string, now time.Time) (*QuotaState, error)
}

// QuotaState is context.quota: which meters are at or over a limit, and
// which at or over 80 % of one. It is built once per refresh and shared by
// every decision until the next, so a decision adds no allocation.
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
// some policy that may apply reads it (read). The state is looked up
// either way, so that a decision fails closed alike when it cannot be had;
// leaving it out where no policy reads it spares the decision a larger
// context, which costs more than the lookup (BENCHMARKS.md, issue 13
// re-measured).
func (e *Engine) quotaContext(ctx context.Context, tenantID, actorID string, now time.Time, read bool, out cedar.RecordMap) error {
	if e.d.Quotas == nil {
		return nil
	}
	st, err := e.d.Quotas.QuotaState(ctx, tenantID, actorID, now)
	if err != nil || st == nil || !read {
		return err
	}
	out[contextQuota] = st.value
	return nil
}

// Exceeded reports whether some quota is at or over its limit.
func (s *QuotaState) Exceeded() bool {
	rec := s.value.(cedar.Record)
	v, _ := rec.Get("exceeded")
	return v == cedar.True
}
