package webhook

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/tollgate/tollgate/audit"
	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/mail"
)

// Bounds of what the worker reads back and keeps.
const (
	// maxSnippet is how much of an answer a delivery keeps.
	maxSnippet = 1024
	// maxDrain is how much of an answer is read at all (so that the
	// connection can be reused); the rest is cut.
	maxDrain = 64 << 10
)

// WorkerOptions configure a Worker.
type WorkerOptions struct {
	// Concurrency is how many deliveries one batch has in flight at once;
	// 0 is 64.
	Concurrency int
	// Batch is how many deliveries one claim takes; 0 is 512.
	Batch int
	// PollInterval is how long the worker sleeps when there is nothing to
	// do; 0 is 1s.
	PollInterval time.Duration
	// Timeout bounds one attempt (connect, send, answer); 0 is 10s.
	Timeout time.Duration
	// DisableAfter is how long an endpoint may fail without a success
	// before it is disabled; 0 is 5 days.
	DisableAfter time.Duration
	// Log receives the disabling of endpoints and store errors.
	Log *slog.Logger
}

// Worker moves events from the audit log to the outbox and delivers the
// outbox. Every replica may run one: cursors and deliveries are claimed so
// that two workers never take the same (FOR UPDATE SKIP LOCKED on
// PostgreSQL, the single writer on SQLite), and a claim that is never
// finished comes back after a lease.
type Worker struct {
	store   Store
	sealer  Sealer
	client  *http.Client
	route   Route
	mail    Mail
	observe func(outcome string, latency time.Duration)
	opts    WorkerOptions
	now     func() time.Time
	// inFlight counts the attempts waiting on the network now.
	inFlight atomic.Int64
}

// Mail renders the email that tells a tenant's owners their endpoint was
// disabled (mail.Templates).
type Mail interface {
	Render(kind, to string, data any) (mail.Message, error)
}

// Outcomes of an attempt, as Observe receives them.
const (
	OutcomeDelivered = "delivered"
	// OutcomeRetry: the attempt failed and another is scheduled.
	OutcomeRetry = "retry"
	// OutcomeFailed: the attempt failed and was the last (attempts spent,
	// or the endpoint disabled).
	OutcomeFailed = "failed"
)

// WorkerDeps are what a Worker is built from.
type WorkerDeps struct {
	Store  Store
	Sealer Sealer
	// Client sends deliveries; build it with NewClient.
	Client *http.Client
	// Now is the clock; nil is time.Now.
	Now func() time.Time
	// Mail renders the notice to a tenant's owners when an endpoint is
	// disabled; nil sends none.
	Mail Mail
	// Observe receives every attempt's outcome and latency (metrics); nil
	// drops them.
	Observe func(outcome string, latency time.Duration)
}

// NewWorker wires a Worker.
func NewWorker(d WorkerDeps, opts WorkerOptions) *Worker {
	if opts.Concurrency <= 0 {
		opts.Concurrency = 64
	}
	if opts.Batch <= 0 {
		opts.Batch = 512
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = time.Second
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	if opts.DisableAfter <= 0 {
		opts.DisableAfter = 5 * 24 * time.Hour
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Observe == nil {
		d.Observe = func(string, time.Duration) {}
	}
	return &Worker{store: d.Store, sealer: d.Sealer, client: d.Client, route: Router(d.Now), mail: d.Mail, observe: d.Observe, opts: opts, now: d.Now}
}

// InFlight reports how many attempts are waiting on the network now.
func (w *Worker) InFlight() int64 { return w.inFlight.Load() }

// observeResults reports each result's outcome.
func (w *Worker) observeResults(results []Result) {
	for _, r := range results {
		switch {
		case r.OK:
			w.observe(OutcomeDelivered, r.Latency)
		case r.Next != nil:
			w.observe(OutcomeRetry, r.Latency)
		default:
			w.observe(OutcomeFailed, r.Latency)
		}
	}
}

// lanes is how many batches a worker has in hand at once: while one
// lane waits on the network, the other claims or writes results back.
const lanes = 2

// Run works until ctx ends.
func (w *Worker) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for range lanes {
		wg.Go(func() { w.lane(ctx) })
	}
	wg.Wait()
}

// lane runs the worker's rounds one after another until ctx ends, resting
// when there is nothing to do. RunOnce is safe to call from several lanes
// (and replicas) at once: what each takes, it has claimed.
func (w *Worker) lane(ctx context.Context) {
	for ctx.Err() == nil {
		busy, err := w.RunOnce(ctx)
		if err != nil && ctx.Err() == nil {
			w.opts.Log.Warn("delivering webhooks failed", "err", err)
		}
		if busy && err == nil {
			continue
		}
		t := time.NewTimer(w.opts.PollInterval)
		select {
		case <-ctx.Done():
			t.Stop()
		case <-t.C:
		}
	}
}

// Dispatch limits: tenants per transaction and events per tenant.
const (
	dispatchTenants = 16
	dispatchEvents  = 1000
)

// RunOnce turns new audit events into deliveries, then sends one batch of
// due deliveries and writes their results back. busy reports that more
// work may be waiting.
func (w *Worker) RunOnce(ctx context.Context) (busy bool, err error) {
	n, err := w.store.DispatchWebhooks(ctx, dispatchTenants, dispatchEvents, w.route, w.now())
	if err != nil {
		return false, err
	}
	sent, err := w.deliver(ctx)
	return n > 0 || sent == w.opts.Batch, err
}

// deliver sends one batch and returns its size.
func (w *Worker) deliver(ctx context.Context) (int, error) {
	now := w.now()
	// A claim lasts past the longest attempt; a worker that dies holding
	// one lets it come back then.
	lease := now.Add(2*w.opts.Timeout + 30*time.Second)
	ds, endpoints, err := w.store.ClaimDeliveries(ctx, now, lease, w.opts.Batch)
	if err != nil || len(ds) == 0 {
		return 0, err
	}
	keys := w.signingKeys(endpoints, now)
	results := make([]Result, len(ds))
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range min(w.opts.Concurrency, len(ds)) {
		wg.Go(func() {
			for i := range jobs {
				d := ds[i]
				results[i] = w.attempt(ctx, d, endpoints[d.EndpointID], keys[d.EndpointID])
			}
		})
	}
	for i := range ds {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	w.observeResults(results)
	// The results are written even when ctx has ended, so that a
	// shutdown does not send everything again.
	failing, err := w.store.FinishDeliveries(context.WithoutCancel(ctx), results, w.now().Add(-w.opts.DisableAfter))
	if err != nil {
		return len(ds), err
	}
	for _, e := range failing {
		w.disable(context.WithoutCancel(ctx), e)
	}
	return len(ds), nil
}

// signingKeys opens each endpoint's current secret and, while it overlaps,
// the previous one. An endpoint whose secret does not open (a wrong master
// key) gets no keys, and its deliveries fail.
func (w *Worker) signingKeys(endpoints map[string]Endpoint, now time.Time) map[string][][]byte {
	out := make(map[string][][]byte, len(endpoints))
	for id, e := range endpoints {
		k, err := w.sealer.Open(sealID(e.Secret.ID), e.Secret.Sealed)
		if err != nil {
			w.opts.Log.Error("a webhook secret does not open: is the master key the one it was sealed with?", "webhook_id", id, "err", err)
			continue
		}
		keys := [][]byte{k}
		if p := e.PreviousSecret; p != nil && e.PreviousExpiresAt != nil && now.Before(*e.PreviousExpiresAt) {
			if pk, err := w.sealer.Open(sealID(p.ID), p.Sealed); err == nil {
				keys = append(keys, pk)
			}
		}
		out[id] = keys
	}
	return out
}

// attempt sends d once.
func (w *Worker) attempt(ctx context.Context, d Delivery, e Endpoint, keys [][]byte) (r Result) {
	start := w.now()
	r = Result{DeliveryID: d.ID, EndpointID: d.EndpointID, At: start.UTC().Truncate(time.Microsecond)}
	if e.ID == "" || e.Status != Enabled {
		// Disabled (or deleted) since the claim: no further attempt.
		r.Error = "endpoint_disabled"
		return r
	}
	defer func() {
		if !r.OK {
			if next, ok := NextAttempt(d.Attempts, start); ok {
				next = next.UTC().Truncate(time.Microsecond)
				r.Next = &next
			}
		}
	}()
	if len(keys) == 0 {
		r.Error = "secret_unavailable"
		return r
	}
	ctx, cancel := context.WithTimeout(ctx, w.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.URL, bytes.NewReader(d.Payload))
	if err != nil {
		r.Error = "invalid_url"
		return r
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Tollgate-Webhooks/1")
	req.Header.Set(HeaderID, d.MessageID)
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(start.Unix(), 10))
	req.Header.Set(HeaderSignature, Sign(keys, d.MessageID, start, d.Payload))
	w.inFlight.Add(1)
	resp, err := w.client.Do(req)
	w.inFlight.Add(-1)
	r.Latency = w.now().Sub(start)
	if err != nil {
		r.Error = errorClass(err)
		return r
	}
	defer resp.Body.Close()
	r.Status = resp.StatusCode
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, maxSnippet))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxDrain))
	r.Response = validPrefix(snippet)
	r.OK = resp.StatusCode >= 200 && resp.StatusCode < 300
	if !r.OK {
		r.Error = "http_status"
	}
	return r
}

// errorClass names why an attempt got no answer, without the addresses
// (an endpoint's owner must not learn what a name resolves to inside).
func errorClass(err error) string {
	var dnsErr *net.DNSError
	var netErr net.Error
	switch {
	case errors.Is(err, errAddressForbidden):
		return "address_forbidden"
	case errors.As(err, &dnsErr):
		return "dns_error"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "canceled"
	}
	return "connection_error"
}

// validPrefix keeps the valid UTF-8 start of b without NUL (PostgreSQL's
// text refuses it).
func validPrefix(b []byte) string {
	b = bytes.ReplaceAll(b, []byte{0}, nil)
	for !utf8.Valid(b) && len(b) > 0 {
		b = b[:len(b)-1]
	}
	return string(b)
}

// disable turns off an endpoint that has failed for DisableAfter, recording
// it in the tenant's audit log and telling the tenant's owners by email, in
// the transaction that disables it.
func (w *Worker) disable(ctx context.Context, e Endpoint) {
	disabled := Disabled
	ctx = audit.Record(ctx, audit.Event{TenantID: e.TenantID, Action: audit.ActionWebhookDisable, TargetType: "webhook", TargetID: e.ID,
		Reason: ReasonFailing, Detail: map[string]string{"url": audit.FitText(e.URL, 1024), "failing_since": e.FailingSince.UTC().Format(time.RFC3339)}})
	ctx = mail.Queue(ctx, w.disabledNotices(ctx, e)...)
	_, err := w.store.UpdateWebhook(ctx, e.TenantID, e.ID,
		EndpointPatch{Status: &disabled, DisabledReason: ReasonFailing, IfFailing: e.FailingSince}, w.now().UTC().Truncate(time.Microsecond))
	var fe *fault.Error
	if errors.As(err, &fe) && fe.Code == CodeWebhookChanged {
		// Enabled again (or recovered) since the worker read it: leave it.
		return
	}
	if err != nil {
		w.opts.Log.Warn("disabling a failing webhook endpoint failed", "tenant_id", e.TenantID, "webhook_id", e.ID, "err", err)
		return
	}
	w.opts.Log.Warn("disabled a webhook endpoint after sustained failure",
		"tenant_id", e.TenantID, "webhook_id", e.ID, "failing_since", e.FailingSince)
}

// maxNotified bounds the owners one disabled endpoint emails.
const maxNotified = 20

// disabledNotices renders the email to each owner of e's tenant. A
// failure to find or render them is logged and disables the endpoint all
// the same: the audit event remains the record.
func (w *Worker) disabledNotices(ctx context.Context, e Endpoint) []mail.Message {
	if w.mail == nil {
		return nil
	}
	owners, err := w.store.TenantOwnerEmails(ctx, e.TenantID, maxNotified)
	if err != nil {
		w.opts.Log.Warn("finding the owners to tell of a disabled webhook failed", "tenant_id", e.TenantID, "webhook_id", e.ID, "err", err)
		return nil
	}
	out := make([]mail.Message, 0, len(owners))
	for _, to := range owners {
		m, err := w.mail.Render(mail.KindWebhookDisabled, to, map[string]any{
			"URL": e.URL, "WebhookID": e.ID, "TenantID": e.TenantID, "FailingSince": e.FailingSince.UTC().Format(time.RFC3339),
		})
		if err != nil {
			w.opts.Log.Warn("rendering the disabled-webhook email failed", "webhook_id", e.ID, "err", err)
			return nil
		}
		m.TenantID = e.TenantID
		out = append(out, m)
	}
	return out
}
