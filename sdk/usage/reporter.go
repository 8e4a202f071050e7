package usage

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tollgate/tollgate/sdk/internal/clienttoken"
)

// Defaults of Config.
const (
	DefaultURL           = "http://127.0.0.1:9200"
	DefaultBatchSize     = 500
	DefaultFlushInterval = time.Second
	DefaultMaxBuffer     = 8 << 20
	DefaultTimeout       = 10 * time.Second
	DefaultRetryMin      = 100 * time.Millisecond
	DefaultRetryMax      = 30 * time.Second
	// MaxBatchSize is the most events Tollgate takes in one request.
	MaxBatchSize = 1000
	// maxBatchBytes keeps a request under Tollgate's default body limit
	// (max_body_bytes, 1 MiB).
	maxBatchBytes = 768 << 10
)

// Config configures a Reporter.
type Config struct {
	// URL is Tollgate's base URL; default http://127.0.0.1:9200.
	URL string
	// ClientID and ClientSecret are this service's client credentials,
	// registered with the scope usage:write; or APIKey, an API key
	// holding usage:write. One of the two is required.
	ClientID, ClientSecret string
	APIKey                 string
	// Source is the CloudEvents source of events that name none, e.g.
	// "//agents/runtime".
	Source string
	// BatchSize is the most events of one request, at most MaxBatchSize;
	// default 500. A batch also stays under 768 KiB.
	BatchSize int
	// FlushInterval is the longest an event waits for its batch to fill;
	// default 1 s.
	FlushInterval time.Duration
	// MaxBuffer bounds the encoded events waiting, in flight included, in
	// bytes; default 8 MiB. Past it Report drops new events.
	MaxBuffer int
	// Timeout bounds one request, obtaining the service's token included;
	// default 10 s.
	Timeout time.Duration
	// RetryMin and RetryMax bound the back-off between attempts of a
	// batch: the n-th retry waits between half and all of
	// min(RetryMax, RetryMin·2ⁿ), or Retry-After when Tollgate says more;
	// defaults 100 ms and 30 s.
	RetryMin, RetryMax time.Duration
	// HTTPClient calls Tollgate; default a client with Timeout.
	HTTPClient *http.Client
	// Log receives what an operator must see (Tollgate unreachable,
	// events rejected), at most one line per 10 s; default slog.Default().
	Log *slog.Logger
}

// Errors of Report and Close.
var (
	// ErrDropped: the buffer is full, and the event was dropped.
	ErrDropped = errors.New("usage: the buffer is full; the event was dropped")
	// ErrClosed: the Reporter is closed.
	ErrClosed = errors.New("usage: the reporter is closed")
)

// Stats counts what became of the events reported.
type Stats struct {
	// Reported were queued by Report.
	Reported uint64
	// Accepted were counted by Tollgate; Duplicates had been counted
	// before (a batch sent again after its answer was lost).
	Accepted, Duplicates uint64
	// Rejected were refused by Tollgate, one by one or with their batch,
	// for a reason that sending again would not change.
	Rejected uint64
	// Dropped were never delivered: refused by Report with ErrDropped, or
	// still queued when Close gave up.
	Dropped uint64
	// Queued are waiting now, in flight included.
	Queued int
}

// Reporter sends usage events to Tollgate in the background. It is safe
// for concurrent use.
type Reporter struct {
	eventsURL  string
	source     string
	needTenant bool
	batchSize  int
	interval   time.Duration
	maxBuffer  int
	timeout    time.Duration
	retryMin   time.Duration
	retryMax   time.Duration
	log        *slog.Logger
	quiet      *clienttoken.Throttle
	// send posts one batch.
	send func(ctx context.Context, body []byte) (clienttoken.Response, error)
	// sleep waits between attempts; tests replace it.
	sleep func(ctx context.Context, d time.Duration) error
	now   func() time.Time

	mu    sync.Mutex
	queue []queued
	bytes int
	// next is the sequence number of the next event reported; every
	// event before done is resolved (delivered, rejected or dropped).
	next, done uint64
	// flushTo asks for every event before it to be sent at once.
	flushTo uint64
	closing bool
	// progress is closed, and replaced, when done moves.
	progress chan struct{}
	// wake tells the sender to look at the queue again.
	wake chan struct{}

	accepted, duplicates, rejected, dropped, reported atomic.Uint64

	cancel context.CancelFunc
	exited chan struct{}
}

type queued struct {
	seq uint64
	at  time.Time
	raw []byte
}

// New returns a running Reporter. It fails only on a bad Config; Tollgate
// is first called by the first batch.
func New(cfg Config) (*Reporter, error) {
	if cfg.URL == "" {
		cfg.URL = DefaultURL
	}
	base, err := clienttoken.BaseURL(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("usage: %w", err)
	}
	service := cfg.ClientID != "" || cfg.ClientSecret != ""
	switch {
	case service && cfg.APIKey != "":
		return nil, errors.New("usage: give Config.ClientID and Config.ClientSecret, or Config.APIKey, not both")
	case service && (cfg.ClientID == "" || cfg.ClientSecret == ""):
		return nil, errors.New("usage: Config.ClientID and Config.ClientSecret go together")
	case !service && cfg.APIKey == "":
		return nil, errors.New("usage: Config.ClientID and Config.ClientSecret, or Config.APIKey, are required")
	case cfg.BatchSize < 0 || cfg.BatchSize > MaxBatchSize:
		return nil, fmt.Errorf("usage: Config.BatchSize must be from 1 to %d", MaxBatchSize)
	case cfg.FlushInterval < 0 || cfg.MaxBuffer < 0 || cfg.Timeout < 0 || cfg.RetryMin < 0 || cfg.RetryMax < 0:
		return nil, errors.New("usage: Config durations and sizes must not be negative")
	}
	r := &Reporter{
		eventsURL: base + "/v1/usage/events", source: cfg.Source, needTenant: service,
		batchSize: cmp.Or(cfg.BatchSize, DefaultBatchSize), interval: cmp.Or(cfg.FlushInterval, DefaultFlushInterval),
		maxBuffer: cmp.Or(cfg.MaxBuffer, DefaultMaxBuffer), timeout: cmp.Or(cfg.Timeout, DefaultTimeout),
		retryMin: cmp.Or(cfg.RetryMin, DefaultRetryMin), retryMax: cmp.Or(cfg.RetryMax, DefaultRetryMax),
		log: cfg.Log, quiet: clienttoken.NewThrottle(clienttoken.LogEvery), sleep: sleep, now: time.Now,
		progress: make(chan struct{}), wake: make(chan struct{}, 1), exited: make(chan struct{}),
	}
	r.retryMax = max(r.retryMax, r.retryMin)
	if r.log == nil {
		r.log = slog.Default()
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = clienttoken.NewHTTPClient(r.timeout)
	}
	batchHeader := http.Header{"Content-Type": {"application/cloudevents-batch+json"}}
	if service {
		tokens := clienttoken.New(clienttoken.Options{
			TokenURL: base + "/oauth/token", ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret,
			HTTPClient: hc, Log: r.log, LogPrefix: "usage", Quiet: r.quiet, Timeout: r.timeout,
		})
		r.send = func(ctx context.Context, body []byte) (clienttoken.Response, error) {
			return tokens.Send(ctx, r.eventsURL, body, batchHeader)
		}
	} else {
		r.send = func(ctx context.Context, body []byte) (clienttoken.Response, error) {
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.eventsURL, bytes.NewReader(body))
			if err != nil {
				return clienttoken.Response{}, err
			}
			req.Header = batchHeader.Clone()
			req.Header.Set("X-API-Key", cfg.APIKey)
			req.Header.Set("Accept", "application/json")
			return clienttoken.Do(hc, req)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go r.run(ctx)
	return r, nil
}

// Report queues e and returns at once. It returns an error matching
// ErrInvalidEvent for an event Tollgate could never take, ErrDropped when
// the buffer is full (the event is counted in Stats().Dropped), ErrClosed
// after Close, and ctx's error if ctx is already done; it never waits.
func (r *Reporter) Report(ctx context.Context, e Event) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	now := r.now()
	raw, err := encode(e, r.source, r.needTenant, now)
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case r.closing:
		return ErrClosed
	case r.bytes+len(raw) > r.maxBuffer:
		r.dropped.Add(1)
		if r.quiet.Allow(now) {
			r.log.Warn("usage: the buffer is full; dropping new events", "buffered_bytes", r.bytes, "max_buffer", r.maxBuffer)
		}
		return ErrDropped
	}
	r.queue = append(r.queue, queued{seq: r.next, at: now, raw: raw})
	r.next++
	r.bytes += len(raw)
	r.reported.Add(1)
	// The sender looks again when its first event arrives (to time the
	// batch from it) and when the batch is full.
	if len(r.queue) == 1 || len(r.queue) == r.batchSize {
		r.poke()
	}
	return nil
}

// poke wakes the sender; r.mu is held.
func (r *Reporter) poke() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Flush sends every event reported before it without waiting for its
// batch to fill, and returns when they are all delivered or rejected, or
// with ctx's error when ctx ends first (they stay queued).
func (r *Reporter) Flush(ctx context.Context) error {
	r.mu.Lock()
	target := r.next
	r.flushTo = max(r.flushTo, target)
	r.poke()
	for r.done < target {
		progress := r.progress
		r.mu.Unlock()
		select {
		case <-progress:
		case <-ctx.Done():
			return ctx.Err()
		}
		r.mu.Lock()
	}
	r.mu.Unlock()
	return nil
}

// Close stops taking events, sends what is queued, and returns when all
// of it is delivered or rejected. If ctx ends first, the batch in flight
// is abandoned, what is still queued is dropped (Stats().Dropped), and the
// error says how many events were lost. Close may be called more than
// once.
func (r *Reporter) Close(ctx context.Context) error {
	r.mu.Lock()
	r.closing = true
	r.poke()
	r.mu.Unlock()
	select {
	case <-r.exited:
		return nil
	case <-ctx.Done():
	}
	r.cancel()
	<-r.exited
	r.mu.Lock()
	defer r.mu.Unlock()
	lost := len(r.queue)
	if lost == 0 {
		return nil
	}
	r.dropped.Add(uint64(lost))
	r.resolve(len(r.queue))
	return fmt.Errorf("usage: %d events not delivered: %w", lost, ctx.Err())
}

// Stats returns the counts so far.
func (r *Reporter) Stats() Stats {
	r.mu.Lock()
	queued := len(r.queue)
	r.mu.Unlock()
	return Stats{
		Reported: r.reported.Load(), Accepted: r.accepted.Load(), Duplicates: r.duplicates.Load(),
		Rejected: r.rejected.Load(), Dropped: r.dropped.Load(), Queued: queued,
	}
}

// resolve takes the first n events off the queue; r.mu is held.
func (r *Reporter) resolve(n int) {
	if n == 0 {
		return
	}
	r.done = r.queue[n-1].seq + 1
	for _, q := range r.queue[:n] {
		r.bytes -= len(q.raw)
	}
	k := copy(r.queue, r.queue[n:])
	clear(r.queue[k:])
	r.queue = r.queue[:k]
	close(r.progress)
	r.progress = make(chan struct{})
}

// run sends batches until Close has been called and the queue is empty,
// or ctx ends.
func (r *Reporter) run(ctx context.Context) {
	defer close(r.exited)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		batch, wait, exit := r.take()
		if exit {
			return
		}
		if batch == nil {
			timer.Reset(wait)
			select {
			case <-r.wake:
			case <-timer.C:
			case <-ctx.Done():
				return
			}
			continue
		}
		if !r.deliver(ctx, batch) {
			return
		}
		r.mu.Lock()
		r.resolve(len(batch))
		r.mu.Unlock()
	}
}

// take returns the next batch when one is due — full, asked for by Flush
// or Close, or its oldest event has waited FlushInterval — or how long to
// wait for one, or exit when closing with nothing left.
func (r *Reporter) take() (batch []queued, wait time.Duration, exit bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.queue) == 0 {
		return nil, time.Hour, r.closing
	}
	oldest := r.queue[0]
	age := r.now().Sub(oldest.at)
	if len(r.queue) < r.batchSize && !r.closing && r.flushTo <= oldest.seq && age < r.interval {
		return nil, r.interval - age, false
	}
	n, size := 0, 2
	for n < len(r.queue) && n < r.batchSize && (n == 0 || size+len(r.queue[n].raw)+1 <= maxBatchBytes) {
		size += len(r.queue[n].raw) + 1
		n++
	}
	return append([]queued(nil), r.queue[:n]...), 0, false
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
