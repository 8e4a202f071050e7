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
	meters := s.meters.All(tenantID)
	out := Summary{TenantID: tenantID, Subject: subject, Period: p, AsOf: now, Meters: make([]MeterTotal, 0, len(meters))}
	for _, m := range meters {
		v, err := periodTotal(ctx, s.store, tenantID, m, p, subject)
		if err != nil {
			return Summary{}, err
		}
		out.Meters = append(out.Meters, MeterTotal{Meter: m.Name, Aggregation: m.Aggregation, Value: v})
	}
	return out, nil
}

// periodTotal is m's value over p in tenantID, of subject alone when not
// "": 0 when nothing was counted.
func periodTotal(ctx context.Context, st Store, tenantID string, m Meter, p Period, subject string) (float64, error) {
	from, to := p.minutes()
	sq := StoreQuery{TenantID: tenantID, Meter: m.Name, Aggregation: m.Aggregation, FromMinute: from, ToMinute: to, Subject: subject}
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
