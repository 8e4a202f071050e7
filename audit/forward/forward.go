// Package forward publishes the audit log to NATS JetStream for SIEM
// forwarders: every event of a tenant's stream on subject
// <prefix>.<tenant id>, the platform stream's on <prefix>.platform, as
// the OCSF object an export line holds.
//
// Delivery is at least once, from the database: a cursor per stream
// (audit.ForwardStore) says up to which seq the broker has acknowledged
// it. A forwarder leases a few streams, publishes the events after their
// cursors, waits for every acknowledgement and only then moves the
// cursors. A crash in between publishes those events again, and the
// broker drops the copies: each message's Nats-Msg-Id is the event's id,
// and the stream de-duplicates within its duplicate window. Several
// replicas may run a forwarder: a leased stream is skipped by the others
// until its lease ends, and a late forwarder whose lease was taken over
// never moves the cursor back.
package forward

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/tollgate/tollgate/audit"
	busnats "github.com/tollgate/tollgate/bus/nats"
	"github.com/tollgate/tollgate/ids"
)

// Options configure a Forwarder.
type Options struct {
	// Stream names the JetStream stream, created when missing to capture
	// Prefix.>; MaxAge and DuplicateWindow apply when it is created.
	Stream          string
	Prefix          string
	MaxAge          time.Duration
	DuplicateWindow time.Duration
	// Streams is how many audit streams one round leases, and Batch how
	// many events of each it publishes; defaults 16 and 1000.
	Streams, Batch int
	// Lease is how long a round may hold its streams; default 1m. It must
	// be well over the time to publish a batch, or another replica takes
	// the stream over and publishes it again (the broker drops the copies).
	Lease time.Duration
	// PollInterval is the rest when no stream is behind; default 1s.
	PollInterval time.Duration
	Name         string
	Log          *slog.Logger
	// Published is told how many events each round published; may be nil.
	Published func(n int)
	// Now is the clock; nil is time.Now.
	Now func() time.Time
}

// Forwarder publishes the audit streams.
type Forwarder struct {
	nc    *natsgo.Conn
	js    jetstream.JetStream
	store audit.ForwardStore
	opts  Options
	log   *slog.Logger
	// owner names this forwarder's leases.
	owner string

	published atomic.Int64
}

// PlatformToken is the subject token of the platform stream. Tenant ids
// are Tollgate ids (lower-case letters and digits), so none is "platform".
const PlatformToken = "platform"

// Subject returns the subject a stream's events are published on. A
// tenant id that is not a valid subject token (one made outside Tollgate's
// id generator) is published as "_" and its hex bytes, so that it cannot
// reach another tenant's subject or a wildcard.
func Subject(prefix, tenantID string) string {
	if tenantID == "" {
		return prefix + "." + PlatformToken
	}
	if strings.IndexFunc(tenantID, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-')
	}) >= 0 || tenantID == PlatformToken || strings.HasPrefix(tenantID, "_") {
		return fmt.Sprintf("%s._%x", prefix, tenantID)
	}
	return prefix + "." + tenantID
}

// Connect connects to servers and creates the stream when it is missing,
// or checks that it captures the prefix.
func Connect(ctx context.Context, servers string, st audit.ForwardStore, opts Options) (*Forwarder, error) {
	if opts.Streams <= 0 {
		opts.Streams = 16
	}
	if opts.Batch <= 0 || opts.Batch > audit.MaxPage {
		opts.Batch = 1000
	}
	if opts.Lease <= 0 {
		opts.Lease = time.Minute
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = time.Second
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	nc, err := natsgo.Connect(servers, natsgo.Name(opts.Name), natsgo.Timeout(5*time.Second), natsgo.MaxReconnects(-1))
	if err != nil {
		return nil, fmt.Errorf("audit forward: connect: %w", err)
	}
	f := &Forwarder{nc: nc, store: st, opts: opts, owner: ids.New(), log: opts.Log.With("stream", opts.Stream)}
	if err := f.setUp(ctx); err != nil {
		nc.Close()
		return nil, err
	}
	return f, nil
}

func (f *Forwarder) setUp(ctx context.Context) error {
	js, err := jetstream.New(f.nc)
	if err != nil {
		return fmt.Errorf("audit forward: %w", err)
	}
	f.js = js
	_, err = busnats.EnsureStream(ctx, js, busnats.StreamSpec{
		Name: f.opts.Stream, Description: "Tollgate audit events (OCSF)", Subjects: f.opts.Prefix + ".>",
		MaxAge: f.opts.MaxAge, DuplicateWindow: f.opts.DuplicateWindow,
	})
	if err != nil {
		return fmt.Errorf("audit forward: %w", err)
	}
	return nil
}

// Run publishes until ctx ends, resting when every stream is caught up and
// backing off after a failure (the events stay behind the cursor).
func (f *Forwarder) Run(ctx context.Context) {
	backoff := f.opts.PollInterval
	for ctx.Err() == nil {
		n, err := f.RunOnce(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			f.log.Warn("audit forward: publishing failed; retrying", "retry_in", backoff, "err", err)
			sleep(ctx, backoff)
			backoff = min(2*backoff, time.Minute)
			continue
		case n == 0:
			sleep(ctx, f.opts.PollInterval)
		}
		backoff = f.opts.PollInterval
	}
}

// RunOnce leases the streams that are behind, publishes a batch of each
// and moves their cursors; it returns how many events were acknowledged.
func (f *Forwarder) RunOnce(ctx context.Context) (int, error) {
	now := f.opts.Now()
	curs, err := f.store.ClaimAuditForward(ctx, f.owner, now, now.Add(f.opts.Lease), f.opts.Streams)
	if err != nil {
		return 0, err
	}
	total := 0
	var errs []error
	for _, c := range curs {
		n, err := f.forward(ctx, c)
		total += n
		errs = append(errs, err)
	}
	if f.opts.Published != nil && total > 0 {
		f.opts.Published(total)
	}
	f.published.Add(int64(total))
	return total, errors.Join(errs...)
}

// forward publishes one stream's batch and moves its cursor once every
// message is acknowledged. On a failure the lease is left to end: the
// batch is published again then, and the broker drops what it already has.
func (f *Forwarder) forward(ctx context.Context, c audit.ForwardCursor) (int, error) {
	evs, err := f.store.ReadAudit(ctx, c.TenantID, c.Seq, f.opts.Batch)
	if err != nil || len(evs) == 0 {
		return 0, err
	}
	subject := Subject(f.opts.Prefix, c.TenantID)
	acks := make([]jetstream.PubAckFuture, 0, len(evs))
	for i := range evs {
		data, err := audit.MarshalOCSF(&evs[i])
		if err != nil {
			return 0, err
		}
		a, err := f.js.PublishMsgAsync(&natsgo.Msg{Subject: subject, Data: data, Header: natsgo.Header{
			jetstream.MsgIDHeader: []string{evs[i].ID},
		}})
		if err != nil {
			return 0, fmt.Errorf("audit forward: publish %s seq %d: %w", subject, evs[i].Seq, err)
		}
		acks = append(acks, a)
	}
	wait := time.NewTimer(f.opts.Lease / 2)
	defer wait.Stop()
	for i, a := range acks {
		select {
		case <-a.Ok():
		case err := <-a.Err():
			return 0, fmt.Errorf("audit forward: publish %s seq %d: %w", subject, evs[i].Seq, err)
		case <-wait.C:
			return 0, fmt.Errorf("audit forward: %s: no acknowledgement within %s", subject, f.opts.Lease/2)
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
	last := evs[len(evs)-1].Seq
	held, err := f.store.AdvanceAuditForward(ctx, f.owner, c.TenantID, last, f.opts.Now())
	if err != nil {
		return 0, err
	}
	if !held {
		f.log.Info("audit forward: lease taken over by another forwarder; it publishes again and the broker drops the copies",
			"tenant", c.TenantID, "through_seq", last)
	}
	return len(evs), nil
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// Published is how many events this forwarder has had acknowledged.
func (f *Forwarder) Published() int64 { return f.published.Load() }

// Close drains the connection.
func (f *Forwarder) Close() error {
	err := f.nc.Drain()
	if errors.Is(err, natsgo.ErrConnectionClosed) {
		return nil
	}
	return err
}
