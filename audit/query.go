package audit

import (
	"context"
	"time"

	"github.com/tollgate/tollgate/fault"
)

// Bounds of a query.
const (
	// DefaultQueryLimit and MaxQueryLimit bound one page of QueryAudit.
	DefaultQueryLimit = 100
	MaxQueryLimit     = 500
	// MaxQueryRange bounds From..To of a query or export: a wider range
	// is asked for in several.
	MaxQueryRange = 400 * 24 * time.Hour
)

// Query selects events of one stream, newest (highest Seq) first. Empty
// filters match everything.
type Query struct {
	TenantID string
	ActorID  string
	Action   string
	TargetID string
	Outcome  Outcome
	// From and To bound the events' time: From ≤ Time < To; zero is open.
	From, To time.Time
	// BeforeSeq returns only events below it (the cursor); 0 is none.
	BeforeSeq int64
	// Limit is 1..MaxQueryLimit; 0 means DefaultQueryLimit.
	Limit int
	// DecisionWindow bounds the work of a query by actor or target that
	// may match decision events (ActionDecision), which those indexes
	// leave out: their decisions are read from the action index in the
	// DecisionWindow seqs below BeforeSeq (or the head) at most, and
	// QueryAudit says where it stopped. A query by outcome alone, which
	// no index serves, reads the stream in windows the same way. 0 means
	// DefaultDecisionWindow, which is also the most; tests set it small.
	DecisionWindow int64
}

// DefaultDecisionWindow is the most seqs a page of a query by actor or
// target reads decision events over: a bounded read of the action index
// and of at most as many rows, about a tenth of a second on SQLite.
const DefaultDecisionWindow = 100_000

// Normalize checks q's bounds and fills its default limit.
func (q *Query) Normalize() error {
	for _, f := range []struct {
		name, v string
		max     int
	}{{"actor", q.ActorID, 256}, {"action", q.Action, 64}, {"target", q.TargetID, MaxTargetID}, {"tenant_id", q.TenantID, 128}} {
		if err := checkString(f.name, f.v, f.max, true); err != nil {
			return queryInvalid(f.name, "must be at most %d bytes without spaces or control characters", f.max)
		}
	}
	switch q.Outcome {
	case "", Success, Failure, Denied:
	default:
		return queryInvalid("outcome", "must be success, failure or denied")
	}
	if q.Limit == 0 {
		q.Limit = DefaultQueryLimit
	}
	if q.Limit < 1 || q.Limit > MaxQueryLimit {
		return queryInvalid("limit", "must be 1 to %d", MaxQueryLimit)
	}
	// The stores keep microseconds.
	q.From, q.To = q.From.Truncate(time.Microsecond), q.To.Truncate(time.Microsecond)
	if q.DecisionWindow <= 0 || q.DecisionWindow > DefaultDecisionWindow {
		q.DecisionWindow = DefaultDecisionWindow
	}
	if q.BeforeSeq < 0 {
		return queryInvalid("cursor", "is not a cursor of this query")
	}
	return checkRange(q.From, q.To)
}

// checkRange refuses a range that ends before it starts or spans more
// than MaxQueryRange.
func checkRange(from, to time.Time) error {
	if !from.IsZero() && !to.IsZero() {
		if !to.After(from) {
			return queryInvalid("to", "must be after from")
		}
		if to.Sub(from) > MaxQueryRange {
			return queryInvalid("to", "the range may span at most %d days", int(MaxQueryRange/(24*time.Hour)))
		}
	}
	return nil
}

func queryInvalid(field, format string, args ...any) *fault.Error {
	return fault.Invalidf(field, CodeQueryInvalid, "%s "+format, append([]any{field}, args...)...)
}

// Querier answers the audit API.
type Querier interface {
	// QueryAudit returns the events q selects, newest first. When it
	// stopped at q.DecisionWindow before the stream's first event, resume
	// is the seq below which it has not looked, the next page's
	// BeforeSeq, even if fewer than q.Limit events came back; otherwise
	// resume is 0.
	QueryAudit(ctx context.Context, q Query) (events []Event, resume int64, err error)
	// AuditSeqRange returns the first Seq of the stream at or after from
	// and the last before to (zero times are open): the run an export of
	// from..to covers. Both are 0 when no event lies in the range.
	AuditSeqRange(ctx context.Context, tenantID string, from, to time.Time) (first, last int64, err error)
}
