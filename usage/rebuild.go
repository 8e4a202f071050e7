package usage

import (
	"context"
	"time"

	"github.com/tollgate/tollgate/fault"
)

// DefaultRebuildStep is how much of a rebuild's range one transaction
// measures again: an hour's raw events of one tenant and event type.
const DefaultRebuildStep = time.Hour

// RebuildQuery is what a rebuild measures again.
type RebuildQuery struct {
	TenantID string
	Meter    string
	// From and To are whole minutes, at most MaxRange apart.
	From, To time.Time
	// Step is the range of one transaction, whole minutes; 0 is
	// DefaultRebuildStep.
	Step time.Duration
}

// Rebuilt is what a rebuild did.
type Rebuilt struct {
	// Events is how many raw events were measured; Steps how many
	// transactions committed.
	Events, Steps int
}

// Rebuild measures a meter of a tenant again over [From, To) from the raw
// events: a meter defined after events it counts were recorded is
// back-filled, and one measured wrongly is put right. Each step of the
// range is one transaction that replaces the meter's roll-ups of that
// step by what the raw events that still count (corrections applied) give,
// so a rebuild cut short leaves whole steps done, and running it again
// gives the same totals. It asks no policy: it is an operator's command.
func (s *Service) Rebuild(ctx context.Context, q RebuildQuery, progress func(done time.Time)) (Rebuilt, error) {
	if q.Step == 0 {
		q.Step = DefaultRebuildStep
	}
	q.From, q.To = q.From.UTC(), q.To.UTC()
	switch {
	case q.TenantID == "":
		return Rebuilt{}, badQuery("tenant", "a rebuild names its tenant")
	case q.From.IsZero() || q.To.IsZero() || !q.From.Before(q.To):
		return Rebuilt{}, badQuery("to", "from and to are required, to after from")
	case q.From.Unix() < 0 || q.To.Sub(q.From) > MaxRange:
		return Rebuilt{}, badQuery("to", "a range lies after 1970 and spans at most %d days", MaxRange/(24*time.Hour))
	case !WindowMinute.aligned(q.From, time.UTC) || !WindowMinute.aligned(q.To, time.UTC):
		return Rebuilt{}, badQuery("from", "from and to must be whole minutes")
	case q.Step < time.Minute || q.Step%time.Minute != 0 || q.Step > 24*time.Hour:
		return Rebuilt{}, badQuery("step", "a step is whole minutes, from a minute to a day")
	}
	ms, err := s.metersOf(ctx, q.TenantID)
	if err != nil {
		return Rebuilt{}, err
	}
	m, ok := ms.Lookup(q.TenantID, q.Meter)
	if !ok {
		return Rebuilt{}, fault.Invalidf("meter", CodeUnknownMeter, "tenant %s has no meter %q", truncate(q.TenantID), truncate(q.Meter))
	}
	var out Rebuilt
	step := int64(q.Step / time.Minute)
	for from := q.From.Unix() / 60; from < q.To.Unix()/60; from += step {
		to := min(from+step, q.To.Unix()/60)
		n, err := s.store.RebuildUsage(ctx, q.TenantID, m, from, to)
		if err != nil {
			return out, err
		}
		out.Events += n
		out.Steps++
		if progress != nil {
			progress(time.Unix(to*60, 0).UTC())
		}
	}
	return out, nil
}
