package usage

import (
	"context"
	"time"

	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/identity"
)

// ExportQuery asks for a tenant's usage per meter, dimension set and
// window over [From, To).
type ExportQuery struct {
	// TenantID is the tenant; "" is the caller's own (services must name
	// one).
	TenantID string
	// Meter keeps one meter; "" exports every meter of the tenant.
	Meter string
	// Subject keeps one actor's usage; it is also whose usage the
	// policies are asked about, as in Query.
	Subject string
	// From and To bound the export; both zero is the current billing
	// period.
	From, To time.Time
	// Window is WindowHour or WindowDay; WindowNone is WindowDay.
	Window Window
}

// ExportRow is one line of an export: a meter's value in one window and
// dimension set of one tenant. For SUM and COUNT meters the values of an
// export add up to the sum over its raw events.
type ExportRow struct {
	TenantID    string
	Meter       string
	Aggregation Aggregation
	WindowStart time.Time
	WindowEnd   time.Time
	// Dimensions is the canonical JSON object of the meter's dimensions:
	// keys sorted, values strings ({} for a meter without any).
	Dimensions string
	Value      float64
}

// Bounds of an export. A year of hours is streamed, not held: the bound
// on the range is what bounds the work.
const (
	// exportPage is the most aggregates read from the store at once.
	exportPage = 1000
	// exportSlice is the most minutes one page scans, so that each page
	// costs at most a day of roll-ups whatever the range.
	exportSlice = 24 * 60
)

// check validates q and fills in its defaults: the window, and the current
// billing period (of now) when it has no range.
func (q *ExportQuery) check(now time.Time) error {
	switch q.Window {
	case WindowNone:
		q.Window = WindowDay
	case WindowHour, WindowDay:
	default:
		return badQuery("window", "window must be hour or day")
	}
	switch {
	case q.From.IsZero() && q.To.IsZero():
		p := PeriodOf(now)
		q.From, q.To = p.Start, p.End
	case q.From.IsZero() || q.To.IsZero():
		return badQuery("from", "give both from and to, or neither for the current billing period")
	}
	q.From, q.To = q.From.UTC(), q.To.UTC()
	if !q.From.Before(q.To) {
		return badQuery("to", "to must be after from")
	}
	if q.From.Unix() < 0 || q.To.Sub(q.From) > MaxRange {
		return badQuery("to", "a range lies after 1970 and spans at most %d days", MaxRange/(24*time.Hour))
	}
	wm, _ := q.Window.minutes()
	if step := wm * 60; q.From.Unix()%step != 0 || q.To.Unix()%step != 0 || q.From.Nanosecond() != 0 || q.To.Nanosecond() != 0 {
		return badQuery("from", "from and to must be whole %ss (UTC)", q.Window)
	}
	if q.Subject != "" && !validSubject(q.Subject) {
		return badQuery("subject", `subject must be an actor id: "user:…", "agent:…" or "service:…"`)
	}
	return nil
}

// Export streams q's rows to emit when the policies permit ac to
// VIEW_USAGE of q.Subject, or of the tenant when q keeps no one subject.
// Everything is checked before the first row; an error after it means the
// export stopped there.
func (s *Service) Export(ctx context.Context, ac identity.ActorContext, q ExportQuery, emit func(*ExportRow) error) error {
	if err := q.check(s.now()); err != nil {
		return err
	}
	tenantID, err := s.mayView(ctx, ac, q.TenantID, q.Subject)
	if err != nil {
		return err
	}
	q.TenantID = tenantID
	ms, err := s.metersOf(ctx, tenantID)
	if err != nil {
		return err
	}
	meters, err := exportMeters(ms, q)
	if err != nil {
		return err
	}
	return exportRows(ctx, s.store, meters, q, emit)
}

// Export streams q's rows from st to emit without asking anyone: the
// operator's export (tollgate usage report), who reads the database
// anyway. now decides the current billing period when q has no range.
func Export(ctx context.Context, st Store, meters *Meters, q ExportQuery, now time.Time, emit func(*ExportRow) error) error {
	if q.TenantID == "" {
		return badQuery("tenant_id", "tenant_id is required")
	}
	if err := q.check(now); err != nil {
		return err
	}
	ms, err := exportMeters(meters, q)
	if err != nil {
		return err
	}
	return exportRows(ctx, st, ms, q, emit)
}

// exportMeters returns the meters q exports, in the order of Meters.All.
func exportMeters(meters *Meters, q ExportQuery) ([]Meter, error) {
	if q.Meter == "" {
		return meters.All(q.TenantID), nil
	}
	m, ok := meters.Lookup(q.TenantID, q.Meter)
	if !ok {
		return nil, fault.Invalidf("meter", CodeUnknownMeter, "no meter %q", truncate(q.Meter))
	}
	return []Meter{m}, nil
}

// exportRows reads a checked query's rows meter by meter, a day of
// roll-ups at a time, each day in pages of at most exportPage aggregates:
// memory and the work of one store call stay bounded whatever the range.
func exportRows(ctx context.Context, st Store, meters []Meter, q ExportQuery, emit func(*ExportRow) error) error {
	wm, _ := q.Window.minutes()
	from, to := q.From.Unix()/60, q.To.Unix()/60
	for _, m := range meters {
		row := ExportRow{TenantID: q.TenantID, Meter: m.Name, Aggregation: m.Aggregation}
		// A slice is a whole number of windows, since exportSlice is a
		// multiple of every window's length.
		for slice := from; slice < to; slice += exportSlice {
			end := min(slice+exportSlice, to)
			pq := PageQuery{
				TenantID: q.TenantID, Meter: m.Name, Aggregation: m.Aggregation, Subject: q.Subject,
				FromMinute: slice, ToMinute: end, WindowMinutes: wm, Hours: HourRange(slice, end, wm, 0), Limit: exportPage,
			}
			for {
				parts, err := st.ReadUsagePage(ctx, pq)
				if err != nil {
					return err
				}
				for i := range parts {
					p := &parts[i]
					row.WindowStart = time.Unix(p.Window*60, 0).UTC()
					row.WindowEnd = time.Unix((p.Window+wm)*60, 0).UTC()
					row.Dimensions, row.Value = p.Dims, p.Value
					if err := emit(&row); err != nil {
						return err
					}
				}
				if len(parts) < exportPage {
					break
				}
				last := parts[len(parts)-1]
				pq.After = &PageKey{Window: last.Window, Dims: last.Dims}
			}
		}
	}
	return nil
}
