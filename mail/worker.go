package mail

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"
)

// Worker delivers the outbox. Every replica may run one: a message is
// leased to one worker at a time (Store.ClaimMail), and the attempt number
// fences its outcome, so a worker that outlived its lease cannot overwrite
// what the next one did.
type Worker struct {
	Store  Store
	Sender Sender
	// Sealer opens sealed bodies before they are sent.
	Sealer Sealer
	From   string
	Log    *slog.Logger
	Now    func() time.Time
	// MaxAttempts bounds the attempts per message (default 8).
	MaxAttempts int
	// BaseDelay is the wait after the first failure, doubled after each
	// further one (default 30 s) up to MaxDelay (default 1 h): eight
	// attempts span about an hour and a half.
	BaseDelay, MaxDelay time.Duration
	// Lease is how long a claimed message is the claimer's (default 2 min,
	// well above the sender's 30 s timeout).
	Lease time.Duration
	// Batch is how many messages one pass claims (default 20).
	Batch int
}

func (w *Worker) defaults() {
	if w.Now == nil {
		w.Now = time.Now
	}
	if w.Log == nil {
		w.Log = slog.New(slog.DiscardHandler)
	}
	if w.MaxAttempts <= 0 {
		w.MaxAttempts = 8
	}
	if w.BaseDelay <= 0 {
		w.BaseDelay = 30 * time.Second
	}
	if w.MaxDelay <= 0 {
		w.MaxDelay = time.Hour
	}
	if w.Lease <= 0 {
		w.Lease = 2 * time.Minute
	}
	if w.Batch <= 0 {
		w.Batch = 20
	}
}

// Backoff is the wait after the attempt-th failed attempt (1-based).
func (w *Worker) Backoff(attempt int) time.Duration {
	w.defaults()
	d := w.BaseDelay
	for i := 1; i < attempt && d < w.MaxDelay; i++ {
		d *= 2
	}
	return min(d, w.MaxDelay)
}

// Run delivers what is due every interval until ctx ends.
func (w *Worker) Run(ctx context.Context, interval time.Duration) {
	w.defaults()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if _, err := w.DeliverDue(ctx); err != nil && ctx.Err() == nil {
			w.Log.WarnContext(ctx, "mail outbox pass failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// DeliverDue claims and delivers one batch of due messages, returning how
// many were sent.
func (w *Worker) DeliverDue(ctx context.Context) (int, error) {
	w.defaults()
	msgs, err := w.Store.ClaimMail(ctx, w.Now().UTC().Truncate(time.Microsecond), w.Lease, w.Batch)
	if err != nil {
		return 0, err
	}
	sent := 0
	var errs []error
	for _, m := range msgs {
		ok, err := w.deliver(ctx, m)
		if ok {
			sent++
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	return sent, errors.Join(errs...)
}

func (w *Worker) deliver(ctx context.Context, m Message) (bool, error) {
	m, sendErr := Open(w.Sealer, m)
	if sendErr == nil {
		sendErr = w.Sender.Send(ctx, w.From, m)
	}
	now := w.Now().UTC().Truncate(time.Microsecond)
	if sendErr == nil {
		_, err := w.Store.FinishMail(ctx, m.ID, m.Attempts, StatusSent, now, "", w.Sender.KeepsBody())
		return true, err
	}
	status, next := StatusPending, now.Add(w.Backoff(m.Attempts))
	if m.Attempts >= w.MaxAttempts {
		status = StatusFailed
	}
	// The server's answer names no secret; it is kept short for the table.
	reason := clamp(sendErr.Error(), 512)
	w.Log.WarnContext(ctx, "mail delivery failed", "id", m.ID, "attempt", m.Attempts, "status", status, "err", reason)
	_, err := w.Store.FinishMail(ctx, m.ID, m.Attempts, status, next, reason, status == StatusPending || w.Sender.KeepsBody())
	return false, err
}

func clamp(s string, n int) string {
	s = strings.ToValidUTF8(s, "?")
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
