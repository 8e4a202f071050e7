// Package stream records usage events from a NATS JetStream stream.
//
// The stream captures a subject filter (usage.> by default): JetStream
// publishes, with or without a Nats-Msg-Id, and plain core-NATS publishes
// alike, since a stream stores whatever is published on its subjects. Every
// replica fetches from one durable pull consumer, so each message is
// handed to one replica at a time; a replica records a fetched batch in one
// transaction and acknowledges its messages only after that transaction
// has committed. A crash before the commit leaves them unacknowledged, to
// be redelivered after AckWait; a crash after it redelivers messages whose
// events are already recorded, which the store's (tenant, source, id) key
// turns into duplicates that change nothing. Messages that can never be
// recorded (not a valid event) are terminated, never redelivered.
package stream

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	busnats "github.com/tollgate/tollgate/bus/nats"
	"github.com/tollgate/tollgate/usage"
)

// Recorder records a batch (usage.Service).
type Recorder interface {
	Record(ctx context.Context, batch []usage.Decoded) (usage.Result, error)
}

// Options configure a Consumer.
type Options struct {
	// Stream, Subjects and Consumer name the stream, the subject filter it
	// captures and the durable consumer (config's usage_* settings).
	Stream, Subjects, Consumer string
	// MaxAge and DuplicateWindow apply when the stream is created.
	MaxAge, DuplicateWindow time.Duration
	// Batch is the most messages fetched and recorded at once (at most
	// usage.MaxBatch).
	Batch int
	// Workers fetch and record concurrently; default 2, so that one
	// decodes while another waits on the database.
	Workers int
	// AckWait is how long a fetched message may stay unacknowledged before
	// the server redelivers it; default 30s.
	AckWait time.Duration
	// Name identifies the connection in the server's list.
	Name string
	Log  *slog.Logger
	// Recorded is told what became of each recorded batch, and Terminated
	// how many messages were terminated; either may be nil.
	Recorded   func(usage.Result)
	Terminated func(n int)
}

// Consumer records the usage stream's events.
type Consumer struct {
	nc   *natsgo.Conn
	js   jetstream.JetStream
	cons jetstream.Consumer
	rec  Recorder
	opts Options
	log  *slog.Logger

	terminated atomic.Int64
	// pending is the consumer's lag (messages not yet delivered plus those
	// delivered and not acknowledged), as of the last look.
	pending atomic.Int64
}

// Retry bounds: a failed transaction is retried after backoff, doubling to
// maxBackoff, while its messages stay unacknowledged.
const (
	minBackoff  = 100 * time.Millisecond
	maxBackoff  = 10 * time.Second
	fetchWait   = time.Second
	lagInterval = 5 * time.Second
)

// Connect connects to servers, creates the stream if it is missing or
// verifies that it captures opts.Subjects, and creates or updates the
// durable consumer.
func Connect(ctx context.Context, servers string, rec Recorder, opts Options) (*Consumer, error) {
	if opts.Batch <= 0 || opts.Batch > usage.MaxBatch {
		opts.Batch = usage.MaxBatch
	}
	if opts.Workers <= 0 {
		opts.Workers = 2
	}
	if opts.AckWait <= 0 {
		opts.AckWait = 30 * time.Second
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	nc, err := natsgo.Connect(servers, natsgo.Name(opts.Name), natsgo.Timeout(5*time.Second), natsgo.MaxReconnects(-1))
	if err != nil {
		return nil, fmt.Errorf("usage stream: connect: %w", err)
	}
	c := &Consumer{nc: nc, rec: rec, opts: opts, log: opts.Log.With("stream", opts.Stream, "consumer", opts.Consumer)}
	if err := c.setUp(ctx); err != nil {
		nc.Close()
		return nil, err
	}
	return c, nil
}

func (c *Consumer) setUp(ctx context.Context) error {
	js, err := jetstream.New(c.nc)
	if err != nil {
		return fmt.Errorf("usage stream: %w", err)
	}
	c.js = js
	st, err := busnats.EnsureStream(ctx, js, busnats.StreamSpec{
		Name: c.opts.Stream, Description: "Tollgate usage events", Subjects: c.opts.Subjects,
		MaxAge: c.opts.MaxAge, DuplicateWindow: c.opts.DuplicateWindow,
	})
	if err != nil {
		return fmt.Errorf("usage %w", err)
	}
	if cfg := st.CachedInfo().Config; cfg.Duplicates != c.opts.DuplicateWindow || cfg.MaxAge != c.opts.MaxAge {
		c.log.Info("usage stream: keeping the existing stream's limits", "duplicate_window", cfg.Duplicates, "max_age", cfg.MaxAge)
	}
	c.cons, err = js.CreateOrUpdateConsumer(ctx, c.opts.Stream, jetstream.ConsumerConfig{
		Durable: c.opts.Consumer, Description: "Tollgate replicas recording usage",
		AckPolicy: jetstream.AckExplicitPolicy, AckWait: c.opts.AckWait, DeliverPolicy: jetstream.DeliverAllPolicy,
		FilterSubject: c.opts.Subjects, MaxDeliver: -1,
		// Enough for every replica's workers to hold a full batch.
		MaxAckPending: 20 * usage.MaxBatch, MaxRequestBatch: usage.MaxBatch,
	})
	if err != nil {
		return fmt.Errorf("usage stream %s: consumer %s: %w", c.opts.Stream, c.opts.Consumer, err)
	}
	return nil
}

// Run fetches and records until ctx ends.
func (c *Consumer) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for range c.opts.Workers {
		wg.Go(func() { c.work(ctx) })
	}
	wg.Go(func() {
		t := time.NewTicker(lagInterval)
		defer t.Stop()
		for {
			c.observeLag(ctx)
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	})
	wg.Wait()
}

func (c *Consumer) observeLag(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if info, err := c.cons.Info(ctx); err == nil {
		c.pending.Store(int64(info.NumPending) + int64(info.NumAckPending))
	}
}

func (c *Consumer) work(ctx context.Context) {
	backoff := minBackoff
	for ctx.Err() == nil {
		batch, err := c.cons.Fetch(c.opts.Batch, jetstream.FetchMaxWait(fetchWait))
		if err != nil {
			c.log.Warn("usage stream: fetch failed", "err", err)
			sleep(ctx, backoff)
			backoff = min(2*backoff, maxBackoff)
			continue
		}
		var msgs []jetstream.Msg
		for m := range batch.Messages() {
			msgs = append(msgs, m)
		}
		if len(msgs) == 0 {
			continue
		}
		if err := c.record(ctx, msgs); err != nil {
			// Nothing was recorded: hand the messages back after the
			// backoff, unacknowledged, and wait as long before fetching.
			c.log.Warn("usage stream: recording failed; messages will be redelivered", "messages", len(msgs), "retry_in", backoff, "err", err)
			for _, m := range msgs {
				_ = m.NakWithDelay(backoff)
			}
			sleep(ctx, backoff)
			backoff = min(2*backoff, maxBackoff)
			continue
		}
		backoff = minBackoff
	}
}

// record records msgs in one transaction, then acknowledges the recorded
// and duplicate ones and terminates the rejected.
func (c *Consumer) record(ctx context.Context, msgs []jetstream.Msg) error {
	batch := make([]usage.Decoded, len(msgs))
	for i, m := range msgs {
		e, err := usage.Decode(m.Data())
		batch[i] = usage.Decoded{Event: e, Err: err}
	}
	res, err := c.rec.Record(ctx, batch)
	if err != nil {
		return err
	}
	terminated := 0
	for i, m := range msgs {
		if res.Statuses[i] == usage.Rejected {
			// Decoding and validation are deterministic, and a tenant that
			// does not exist does not appear: redelivery would fail again.
			_ = m.Term()
			terminated++
			continue
		}
		_ = m.Ack()
	}
	if terminated > 0 {
		c.terminated.Add(int64(terminated))
		c.log.Warn("usage stream: terminated invalid messages", "count", terminated, "first", res.Rejected[0].Reason)
		if c.opts.Terminated != nil {
			c.opts.Terminated(terminated)
		}
	}
	if c.opts.Recorded != nil {
		c.opts.Recorded(res)
	}
	return nil
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// Terminated is how many messages this consumer terminated.
func (c *Consumer) Terminated() int64 { return c.terminated.Load() }

// Pending is the consumer's lag as of the last look (every few seconds):
// messages not yet delivered plus those delivered and not acknowledged,
// for every replica together.
func (c *Consumer) Pending() int64 { return c.pending.Load() }

// Connected reports whether the connection to a server is up.
func (c *Consumer) Connected() bool { return c.nc.IsConnected() }

// Close drains the connection: fetches in flight end, acknowledgements
// already sent leave.
func (c *Consumer) Close() error {
	err := c.nc.Drain()
	if errors.Is(err, natsgo.ErrConnectionClosed) {
		return nil
	}
	return err
}
