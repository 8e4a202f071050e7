package policy

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
)

// LogDecisions is the decision log until the audit log exists: it writes
// each record as a structured log line ("decision") from its own
// goroutine. When its buffer is full it drops records and counts them, so
// a slow log never slows a decision.
type LogDecisions struct {
	ch      chan DecisionRecord
	log     *slog.Logger
	dropped atomic.Int64
	done    chan struct{}
	once    sync.Once
}

// NewLogDecisions starts the writer; Close stops it after writing what is
// buffered.
func NewLogDecisions(log *slog.Logger, buffer int) *LogDecisions {
	if buffer <= 0 {
		buffer = 4096
	}
	l := &LogDecisions{ch: make(chan DecisionRecord, buffer), log: log, done: make(chan struct{})}
	go l.run()
	return l
}

// Record implements DecisionLog.
func (l *LogDecisions) Record(_ context.Context, r DecisionRecord) {
	select {
	case l.ch <- r:
	default:
		l.dropped.Add(1)
	}
}

// Dropped counts records dropped because the buffer was full.
func (l *LogDecisions) Dropped() int64 { return l.dropped.Load() }

func (l *LogDecisions) run() {
	defer close(l.done)
	attrs := make([]slog.Attr, 0, 14)
	for r := range l.ch {
		attrs = append(attrs[:0],
			slog.String("decision_id", r.Decision.DecisionID), slog.String("tenant_id", r.TenantID),
			slog.String("principal", r.Request.Principal), slog.String("action", r.Request.Action),
			slog.String("resource_type", r.Request.Resource.Type), slog.String("resource_id", r.Request.Resource.ID),
			slog.String("decision", r.Decision.Decision), slog.Any("reasons", r.Decision.Reasons),
			slog.Any("errors", r.Decision.Errors), slog.Int64("policy_version", r.Decision.PolicyVersion),
			slog.Time("at", r.At))
		// The asking request's fields, under the names its own lines use:
		// this line is written after the request, without its context.
		for _, a := range [...]slog.Attr{
			slog.String("request_id", r.RequestID), slog.String("trace_id", r.TraceID), slog.String("actor_id", r.ActorID),
		} {
			if a.Value.String() != "" {
				attrs = append(attrs, a)
			}
		}
		l.log.LogAttrs(context.Background(), slog.LevelInfo, "decision", attrs...)
	}
}

// Close stops the writer once the buffer is written.
func (l *LogDecisions) Close() {
	l.once.Do(func() { close(l.ch) })
	<-l.done
}
