package usage

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/identity"
)

// StreamOptions bound live streams.
type StreamOptions struct {
	// MaxPerTenant and MaxTotal bound the open streams of one tenant and
	// of the process; 0 is DefaultStreamsPerTenant, DefaultStreams.
	MaxPerTenant, MaxTotal int
	// Interval is how often totals are read and the least time between
	// two updates; 0 is DefaultStreamInterval.
	Interval time.Duration
	// Heartbeat is the longest a stream is silent; 0 is DefaultHeartbeat.
	Heartbeat time.Duration
}

// Default bounds of live streams.
const (
	DefaultStreamsPerTenant = 16
	DefaultStreams          = 512
	// streamRetryAfter is what a refused stream is told to wait.
	streamRetryAfter = 30 * time.Second
)

// Update is a live stream's message: one meter's total of the billing
// period so far.
type Update struct {
	TenantID    string      `json:"tenant_id"`
	Meter       string      `json:"meter"`
	Aggregation Aggregation `json:"aggregation"`
	Subject     string      `json:"subject,omitempty"`
	Period      Period      `json:"period"`
	Value       float64     `json:"value"`
	// AsOf is when the total was read.
	AsOf time.Time `json:"as_of"`
}

// Sink receives a live stream's messages; an error ends the stream.
type Sink interface {
	Update(u *Update) error
	Heartbeat() error
}

// StreamQuery asks for a live stream of one meter's period total.
type StreamQuery struct {
	// TenantID is the tenant; "" is the caller's own.
	TenantID string
	Meter    string
	// Subject keeps one actor's usage, as in Query.
	Subject string
}

// live shares the reading of totals between streams: one poller per
// (tenant, meter, subject) being watched, whatever the number of streams
// watching it, reading the store once per interval. Polling the store,
// rather than listening for what ingestion records, is what makes every
// replica's streams see the events every other replica (and the NATS
// consumer) records.
type live struct {
	st   Store
	opts StreamOptions
	now  func() time.Time
	log  *slog.Logger

	mu        sync.Mutex
	watches   map[watchKey]*watch
	perTenant map[string]int
	total     int
}

type watchKey struct{ tenant, meter, subject string }

// watch is one polled total and its subscribers.
type watch struct {
	key         watchKey
	meter       Meter
	subscribers int
	stop        context.CancelFunc

	mu      sync.Mutex
	cur     Update
	version uint64
	// changed is closed, and replaced, when cur changes.
	changed chan struct{}
}

func newLive(st Store, opts StreamOptions, now func() time.Time, log *slog.Logger) *live {
	if opts.MaxPerTenant <= 0 {
		opts.MaxPerTenant = DefaultStreamsPerTenant
	}
	if opts.MaxTotal <= 0 {
		opts.MaxTotal = DefaultStreams
	}
	if opts.Interval <= 0 {
		opts.Interval = DefaultStreamInterval
	}
	if opts.Heartbeat <= 0 {
		opts.Heartbeat = DefaultHeartbeat
	}
	return &live{st: st, opts: opts, now: now, log: log, watches: map[watchKey]*watch{}, perTenant: map[string]int{}}
}

// subscribe counts a stream of k, starting its poller if it is the first,
// unless a bound refuses it. release undoes it.
func (l *live) subscribe(k watchKey, m Meter) (*watch, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case l.perTenant[k.tenant] >= l.opts.MaxPerTenant:
		return nil, &fault.Error{Kind: fault.RateLimited, Code: CodeStreamsExhausted, RetryAfter: streamRetryAfter,
			Detail: "this tenant has the most live usage streams open at once; close one"}
	case l.total >= l.opts.MaxTotal:
		return nil, &fault.Error{Kind: fault.RateLimited, Code: CodeStreamsExhausted, RetryAfter: streamRetryAfter,
			Detail: "this server has the most live usage streams open at once; try again later"}
	}
	l.perTenant[k.tenant]++
	l.total++
	w := l.watches[k]
	if w == nil {
		ctx, stop := context.WithCancel(context.Background())
		w = &watch{key: k, meter: m, stop: stop, changed: make(chan struct{})}
		l.watches[k] = w
		go l.poll(ctx, w)
	}
	w.subscribers++
	return w, nil
}

func (l *live) release(w *watch) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.perTenant[w.key.tenant]--; l.perTenant[w.key.tenant] == 0 {
		delete(l.perTenant, w.key.tenant)
	}
	l.total--
	if w.subscribers--; w.subscribers == 0 {
		w.stop()
		delete(l.watches, w.key)
	}
}

// poll reads w's total at once and then every interval until ctx ends,
// publishing it when it changed (or the period turned). A failed read
// keeps the last total: streams then go on with heartbeats only.
func (l *live) poll(ctx context.Context, w *watch) {
	t := time.NewTicker(l.opts.Interval)
	defer t.Stop()
	for {
		now := l.now().UTC()
		p := PeriodOf(now)
		v, err := periodTotal(ctx, l.st, w.key.tenant, w.meter, p, w.key.subject)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			l.log.Warn("usage: reading a live stream's total failed", "tenant", w.key.tenant, "meter", w.key.meter, "err", err)
		default:
			w.publish(p, v, now)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (w *watch) publish(p Period, v float64, now time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.version > 0 && w.cur.Value == v && w.cur.Period == p {
		return
	}
	w.cur = Update{TenantID: w.key.tenant, Meter: w.meter.Name, Aggregation: w.meter.Aggregation, Subject: w.key.subject, Period: p, Value: v, AsOf: now}
	w.version++
	close(w.changed)
	w.changed = make(chan struct{})
}

// latest returns the current total, its version (0: none yet) and a
// channel closed at the next change.
func (w *watch) latest() (Update, uint64, <-chan struct{}) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.cur, w.version, w.changed
}

// Stream sends sink the billing period's total of q's meter — at once,
// then whenever it changes, at most once per interval, with heartbeats in
// between — when the policies permit ac to VIEW_USAGE of it, as Query
// does. It returns nil when ctx ends (the client went) or stop is closed
// (the server is shutting down), and the sink's error if a write fails.
// Refusals, including the bounds on open streams, come before the sink is
// first called.
func (s *Service) Stream(ctx context.Context, ac identity.ActorContext, q StreamQuery, stop <-chan struct{}, sink Sink) error {
	if q.Meter == "" {
		return badQuery("meter", "meter is required")
	}
	tenantID, err := s.mayView(ctx, ac, q.TenantID, q.Subject)
	if err != nil {
		return err
	}
	ms, err := s.metersOf(ctx, tenantID)
	if err != nil {
		return err
	}
	m, ok := ms.Lookup(tenantID, q.Meter)
	if !ok {
		return fault.Invalidf("meter", CodeUnknownMeter, "no meter %q", truncate(q.Meter))
	}
	w, err := s.live.subscribe(watchKey{tenant: tenantID, meter: m.Name, subject: q.Subject}, m)
	if err != nil {
		return err
	}
	defer s.live.release(w)
	p := Pacer{Interval: s.live.opts.Interval, Heartbeat: s.live.opts.Heartbeat}
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		cur, version, changed := w.latest()
		var wait time.Duration
		for act := SendUpdate; act != Wait; {
			switch act, wait = p.Next(s.now(), version); act {
			case SendUpdate:
				err = sink.Update(&cur)
			case SendHeartbeat:
				err = sink.Heartbeat()
			}
			if err != nil {
				return err
			}
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return nil
		case <-stop:
			return nil
		case <-changed:
		case <-timer.C:
		}
	}
}
