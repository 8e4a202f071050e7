package audit

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tollgate/tollgate/fault"
)

// Appender is what a Recorder needs of a Store.
type Appender interface {
	AppendAudit(ctx context.Context, events []Event) ([]Event, error)
}

// Reasons a Recorder drops events, the label of its drop counter.
const (
	// DropQueueFull: the queue was full when the event was added (the
	// store is slower than the events come, or it is down and the queue
	// filled while the writer retried).
	DropQueueFull = "queue_full"
	// DropStoreError: the store refused a batch on every attempt.
	DropStoreError = "store_error"
	// DropInvalid: the event breaks a rule of the event model; it would
	// fail the whole batch it travelled in, so it travels alone to the
	// log instead.
	DropInvalid = "invalid"
	// DropClosed: the event was added after Close.
	DropClosed = "closed"
)

// Defaults of RecorderOptions.
const (
	DefaultQueueSize     = 8192
	DefaultFlushInterval = time.Second
	DefaultRetries       = 3
	DefaultRetryBackoff  = 100 * time.Millisecond
	// maxWriteTime bounds one AppendAudit attempt, so that a hung
	// database cannot stall the writer beyond the retry budget.
	maxWriteTime = 10 * time.Second
)

// RecorderOptions tune a Recorder; zero values take the defaults.
type RecorderOptions struct {
	// QueueSize bounds the events waiting to be written; past it Add drops.
	QueueSize int
	// FlushInterval is the longest an event waits before its batch is
	// written, and so what a crash can lose.
	FlushInterval time.Duration
	// Retries is how many more times a failed batch is tried, Backoff
	// after the first failure and doubling, before it is dropped.
	Retries int
	Backoff time.Duration
	// Dropped counts dropped events by reason (Drop…); may be nil.
	Dropped func(reason string, n int)
	Log     *slog.Logger
	Now     func() time.Time
}

// Recorder writes high-volume events — decisions, sign-ins, token grants —
// in batches off the request path. Add never blocks: when the queue is
// full the event is dropped and counted. A background writer appends a
// batch when it holds MaxBatch events or when FlushInterval has passed
// since its first event; Close writes what is queued. A crash loses at
// most the events of the last FlushInterval (and those still queued
// behind a store outage); acts that must never be lost go through the
// transactional outbox (Record) instead.
type Recorder struct {
	st      Appender
	opts    RecorderOptions
	queue   chan Event
	closed  atomic.Bool
	stop    chan struct{}
	done    chan struct{}
	once    sync.Once
	written atomic.Int64
	// flushReq asks the writer to write what it holds now (Flush).
	flushReq chan chan struct{}
}

// NewRecorder starts a Recorder writing to st; Close stops it.
func NewRecorder(st Appender, opts RecorderOptions) *Recorder {
	if opts.QueueSize <= 0 {
		opts.QueueSize = DefaultQueueSize
	}
	if opts.FlushInterval <= 0 {
		opts.FlushInterval = DefaultFlushInterval
	}
	if opts.Retries < 0 {
		opts.Retries = 0
	} else if opts.Retries == 0 {
		opts.Retries = DefaultRetries
	}
	if opts.Backoff <= 0 {
		opts.Backoff = DefaultRetryBackoff
	}
	if opts.Dropped == nil {
		opts.Dropped = func(string, int) {}
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	r := &Recorder{
		st: st, opts: opts, queue: make(chan Event, opts.QueueSize),
		stop: make(chan struct{}), done: make(chan struct{}), flushReq: make(chan chan struct{}),
	}
	go r.run()
	return r
}

// Add queues events, stamped with ctx's Origin (who and from where) and
// timed now unless they carry a time. It never blocks.
func (r *Recorder) Add(ctx context.Context, events ...Event) {
	if r.closed.Load() {
		r.opts.Dropped(DropClosed, len(events))
		return
	}
	for _, e := range events {
		e = Stamp(ctx, e)
		if e.Time.IsZero() {
			// The time of the act, not of the write a second later.
			e.Time = r.opts.Now()
		}
		select {
		case r.queue <- e:
		default:
			r.opts.Dropped(DropQueueFull, 1)
		}
	}
}

// Queued is how many events wait to be written.
func (r *Recorder) Queued() int { return len(r.queue) }

// Written counts the events stored so far.
func (r *Recorder) Written() int64 { return r.written.Load() }

// Flush writes what is queued now and returns when it is written (or
// dropped), or when ctx ends. Tests and Close use it; the timer does the
// same every FlushInterval.
func (r *Recorder) Flush(ctx context.Context) {
	ack := make(chan struct{})
	select {
	case r.flushReq <- ack:
	case <-r.done:
		return
	case <-ctx.Done():
		return
	}
	select {
	case <-ack:
	case <-ctx.Done():
	}
}

// Close writes every queued event and stops the writer; events added
// afterwards are dropped (DropClosed). It returns when the queue is
// written or ctx ends, whichever is first; in the latter case the writer
// still finishes in the background.
func (r *Recorder) Close(ctx context.Context) {
	r.once.Do(func() {
		r.closed.Store(true)
		close(r.stop)
	})
	select {
	case <-r.done:
	case <-ctx.Done():
	}
}

func (r *Recorder) run() {
	defer close(r.done)
	batch := make([]Event, 0, MaxBatch)
	timer := time.NewTimer(r.opts.FlushInterval)
	timer.Stop()
	timing := false
	flush := func() {
		if timing {
			timer.Stop()
			timing = false
		}
		r.write(batch)
		clear(batch) // let the detail maps go
		batch = batch[:0]
	}
	// add puts e in the batch and writes the batch once full; it reports
	// whether it wrote.
	add := func(e Event) bool {
		batch = append(batch, e)
		if len(batch) < MaxBatch {
			return false
		}
		flush()
		return true
	}
	// drain moves what is queued into batches, writing each full one.
	drain := func() {
		for {
			select {
			case e := <-r.queue:
				add(e)
			default:
				return
			}
		}
	}
	for {
		select {
		case e := <-r.queue:
			if !add(e) && !timing {
				// The interval runs from the batch's first event, so no
				// event waits longer than it.
				timer.Reset(r.opts.FlushInterval)
				timing = true
			}
		case <-timer.C:
			timing = false
			flush()
		case ack := <-r.flushReq:
			drain()
			flush()
			close(ack)
		case <-r.stop:
			drain()
			flush()
			return
		}
	}
}

// write appends batch, trying again with back-off on failure, and drops
// it, counted, once the retries are spent: a store outage must neither
// block the callers nor grow the queue without bound. The store checks
// every event and refuses a whole batch for one invalid event; events are
// nearly always valid, so the batch goes as it is, and only such a refusal
// makes the recorder check each event and write the valid ones at once
// (checking every event here as well cost a decision event 6,600
// instructions, BenchmarkValidateDecision).
func (r *Recorder) write(batch []Event) {
	for i := range batch {
		batch[i].Prepare(r.opts.Now())
	}
	backoff := r.opts.Backoff
	checked := false
	var err error
	for attempt := 0; attempt <= r.opts.Retries; attempt++ {
		if attempt > 0 {
			// Closing cuts the wait short but still tries: the events
			// queued at shutdown deserve their last attempts.
			select {
			case <-time.After(backoff):
			case <-r.stop:
			}
			backoff *= 2
		}
		ctx, cancel := context.WithTimeout(context.Background(), maxWriteTime)
		_, err = r.st.AppendAudit(ctx, batch)
		if err != nil && !checked && fault.KindOf(err) == fault.Invalid {
			checked = true
			batch = r.dropInvalid(batch)
			if len(batch) == 0 {
				cancel()
				return
			}
			_, err = r.st.AppendAudit(ctx, batch)
		}
		cancel()
		if err == nil {
			r.written.Add(int64(len(batch)))
			return
		}
	}
	r.opts.Dropped(DropStoreError, len(batch))
	r.opts.Log.Error("dropping audit events: the store refused them on every attempt",
		"events", len(batch), "attempts", r.opts.Retries+1, "err", err)
}

// dropInvalid takes the events that break a rule of the event model out
// of batch, counted and logged: each would fail the whole batch it
// travels in.
func (r *Recorder) dropInvalid(batch []Event) []Event {
	valid := batch[:0]
	for _, e := range batch {
		if err := e.Validate(); err != nil {
			r.opts.Dropped(DropInvalid, 1)
			r.opts.Log.Error("dropping an invalid audit event", "action", e.Action, "tenant_id", e.TenantID, "err", err)
			continue
		}
		valid = append(valid, e)
	}
	return valid
}
