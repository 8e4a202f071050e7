package usage

import (
	"context"
	"time"

	"github.com/tollgate/tollgate/identity"
)

// MeterTotal is one meter's value over a period.
type MeterTotal struct {
	Meter       string      `json:"meter"`
	Aggregation Aggregation `json:"aggregation"`
	Value       float64     `json:"value"`
	// Limit is the meter's quota: the tenant's, or Subject's own when it
	// has one; absent without a quota.
	Limit *float64 `json:"limit,omitempty"`
}

// Summary is a tenant's (or one actor's) usage of the billing period so
// far, per meter.
type Summary struct {
	TenantID string `json:"tenant_id"`
	Subject  string `json:"subject,omitempty"`
	Period   Period `json:"period"`
	// AsOf is when the totals were read.
	AsOf   time.Time    `json:"as_of"`
	Meters []MeterTotal `json:"meters"`
}

// Summary answers the current billing period's totals of every meter of
// tenantID (the caller's when ""), or of subject's usage alone, when the
// policies permit ac to VIEW_USAGE of it, as Query does.
func (s *Service) Summary(ctx context.Context, ac identity.ActorContext, tenantID, subject string) (Summary, error) {
	tenantID, err := s.mayView(ctx, ac, tenantID, subject)
	if err != nil {
		return Summary{}, err
	}
	now := s.now().UTC()
	p := PeriodOf(now)
	limits, err := s.limits(ctx, tenantID, subject)
	if err != nil {
		return Summary{}, err
	}
	ms, err := s.metersOf(ctx, tenantID)
	if err != nil {
		return Summary{}, err
	}
	meters := ms.All(tenantID)
	out := Summary{TenantID: tenantID, Subject: subject, Period: p, AsOf: now, Meters: make([]MeterTotal, 0, len(meters))}
	for _, m := range meters {
		v, err := periodTotal(ctx, s.store, tenantID, m, p, subject)
		if err != nil {
			return Summary{}, err
		}
		mt := MeterTotal{Meter: m.Name, Aggregation: m.Aggregation, Value: v}
		if l, ok := limits[m.Name]; ok {
			mt.Limit = &l
		}
		out.Meters = append(out.Meters, mt)
	}
	return out, nil
}

// periodTotal is m's value over p in tenantID, of subject alone when not
// "": 0 when nothing was counted.
func periodTotal(ctx context.Context, st Store, tenantID string, m Meter, p Period, subject string) (float64, error) {
	from, to := p.minutes()
	sq := StoreQuery{TenantID: tenantID, Meter: m.Name, Aggregation: m.Aggregation, FromMinute: from, ToMinute: to, Subject: subject,
		Hours: HourRange(from, to, 0, 0)}
	parts, err := st.ReadUsage(ctx, sq)
	if err != nil {
		return 0, err
	}
	rows, err := merge(sq, m.Aggregation, nil, parts)
	if err != nil || len(rows) == 0 {
		return 0, err
	}
	return rows[0].Value, nil
}

// limits maps each meter with a quota binding subject's usage (the
// tenant's when subject is "") to its limit: subject's own quota over the
// tenant's.
func (s *Service) limits(ctx context.Context, tenantID, subject string) (map[string]float64, error) {
	if s.quotas == nil {
		return nil, nil
	}
	qs, err := s.quotas.TenantQuotas(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	out := map[string]float64{}
	for _, q := range qs.Quotas {
		if q.Actor == "" && subject == "" {
			out[q.Meter] = q.Limit
		}
	}
	for _, q := range qs.Quotas {
		if q.Actor != "" && q.Actor == subject {
			out[q.Meter] = q.Limit
		}
	}
	return out, nil
}
