package usage

import (
	"context"
)

// Status is what became of one event.
type Status uint8

const (
	// Accepted: the event is recorded and counted.
	Accepted Status = iota
	// Duplicate: an event with its (tenant, source, id) was recorded
	// before (or earlier in the same batch); nothing changed.
	Duplicate
	// Rejected: the event is invalid and recorded nowhere.
	Rejected
)

// Record is an event with what it adds to the meters, as Store records it.
type Record struct {
	Event         Event
	Contributions []Contribution
}

// Outcome is what Store did with one Record: Accepted, Duplicate, or
// Rejected with Err (a *fault.Error: an unknown tenant).
type Outcome struct {
	Status Status
	Err    error
}

// Store keeps raw events and their roll-ups per minute and per hour, and
// per hour over every subject of a tenant (read by queries that keep no
// one subject and group by none).
type Store interface {
	// RecordUsage records a batch of at most MaxBatch events in one
	// transaction: for each event whose (tenant, source, id) is new, its
	// raw row and its contributions to the minute and hour roll-ups of its
	// tenant, meter, subject and dimensions, and to the hour roll-up of its
	// tenant, meter and dimensions over every subject; an event seen before
	// (in the store or earlier in the batch) changes nothing. Events of tenants that do not
	// exist are rejected, and the others still count. It returns one
	// Outcome per record, in order; on an error nothing is recorded.
	RecordUsage(ctx context.Context, records []Record) ([]Outcome, error)
	// ReadUsage returns the partial aggregates of one meter of one tenant
	// over [FromMinute, ToMinute), which Service merges into rows.
	ReadUsage(ctx context.Context, q StoreQuery) ([]Partial, error)
	// ReadUsagePage returns one page of a meter's aggregates per window
	// and dimension set, over every subject (or q.Subject's alone): at
	// most q.Limit partials with Window, Dims and the window's Value (for
	// UNIQUE_COUNT, the count of distinct values), ordered by window then
	// dimensions, after q.After when it is set.
	ReadUsagePage(ctx context.Context, q PageQuery) ([]Partial, error)
	// CorrectUsage records a void or an amendment in one transaction: its
	// raw row (a duplicate of a recorded correction changes nothing), the
	// corrected event marked voided, and the roll-ups of the corrected
	// event's minute, hour and subject (and its hour over every subject)
	// moved: SUM and COUNT by the difference, the others measured again from the raw events that
	// still count (an amendment's replacement data counting at the
	// corrected event's time). A correction of an unknown event, or of one
	// voided already, is Rejected and recorded nowhere.
	CorrectUsage(ctx context.Context, c CorrectionRecord) (Outcome, error)
	// RebuildUsage replaces, in one transaction, meter m's minute roll-ups
	// of tenantID over minutes [fromMinute, toMinute), and its hour
	// roll-ups (per subject and over every subject) of every hour the range
	// touches, by what the raw events
	// that still count give (as CorrectUsage measures a minute again), and
	// returns how many raw events of the range it measured.
	RebuildUsage(ctx context.Context, tenantID string, m Meter, fromMinute, toMinute int64) (int, error)
}

// PageQuery is one page of an export as Store answers it.
type PageQuery struct {
	TenantID    string
	Meter       string
	Aggregation Aggregation
	// FromMinute and ToMinute are minutes since the epoch, multiples of
	// WindowMinutes (at least 1).
	FromMinute, ToMinute int64
	WindowMinutes        int64
	// Hours are the minutes the hour roll-ups answer (see HourRange).
	Hours   MinuteRange
	Subject string
	// After, when not nil, is the last aggregate of the page before.
	After *PageKey
	Limit int
}

// PageKey is where a page ends: a window start (minutes since the epoch)
// and a dimension set.
type PageKey struct {
	Window int64
	Dims   string
}

// StoreQuery is a query as Store answers it.
type StoreQuery struct {
	TenantID    string
	Meter       string
	Aggregation Aggregation
	// FromMinute and ToMinute are minutes since the Unix epoch.
	FromMinute, ToMinute int64
	// Hours are the minutes of [FromMinute, ToMinute) that the hour
	// roll-ups answer, whole hours (see HourRange); the minute roll-ups
	// answer the rest. Empty reads minutes only.
	Hours MinuteRange
	// WindowMinutes buckets minutes into windows starting at multiples of
	// it (1, 60, 1440) less OffsetMinutes, the offset from UTC of the zone
	// whose hours or days they are (constant over the range, |offset| <
	// a day); 0 is the whole range as one window.
	WindowMinutes, OffsetMinutes int64
	// Subject, when set, keeps one actor's usage only.
	Subject string
	// BySubject and ByDims keep subjects and dimension sets apart.
	BySubject, ByDims bool
}

// Partial is one aggregate as stored, for one window, subject and
// dimension set (each "" unless asked apart).
type Partial struct {
	// Window is the start of the window in minutes since the epoch
	// (FromMinute when the query has no window).
	Window  int64
	Subject string
	Dims    string
	// Value is SUM's sum, COUNT's count, MAX's max and LATEST's value.
	Value float64
	// LatestAt and LatestKey order LATEST's values: the event's time in
	// Unix microseconds and its source and id.
	LatestAt  int64
	LatestKey string
	// Unique is one distinct value of a UNIQUE_COUNT.
	Unique string
}
