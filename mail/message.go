// Package mail sends Tollgate's email — invitations, password resets,
// address verification — through a transactional outbox: the message is
// queued in the context of the act that sends it (Queue) and the store
// writes it in that act's transaction, so that an invitation is never
// stored without its email nor an email sent for an act that rolled back.
// A Worker on every replica delivers what is due, with retries.
package mail

import (
	"context"
	"time"

	"github.com/tollgate/tollgate/cursor"
	"github.com/tollgate/tollgate/outbox"
)

// Status is where a message is in its delivery.
type Status string

// Statuses of a message.
const (
	// StatusPending waits for its next attempt.
	StatusPending Status = "pending"
	// StatusSent was accepted by the SMTP server (or written to the log).
	StatusSent Status = "sent"
	// StatusFailed gave up after the last attempt.
	StatusFailed Status = "failed"
)

// Message is one email in the outbox.
type Message struct {
	ID string
	// TenantID is the tenant the message was sent for ("" for the
	// platform: a password reset).
	TenantID string
	To       string
	// Kind is the template it was rendered from (invitation, password_reset).
	Kind    string
	Subject string
	Text    string
	HTML    string
	// Sealed is the body (Text and HTML) encrypted with the master key
	// while the message is in the outbox; Text and HTML are then empty.
	// Open restores them.
	Sealed []byte
	Status Status
	// Attempts counts delivery attempts begun; a worker's claim bumps it,
	// and it fences the claim: only the worker holding attempt n may
	// report its outcome.
	Attempts      int
	NextAttemptAt time.Time
	LastError     string
	CreatedAt     time.Time
	SentAt        *time.Time
}

// Queue returns ctx carrying msgs for the outbox: the store writes them in
// the transaction of the next write made with the returned context — the
// act's own — exactly as audit.Record does for audit events. Queue only
// just before the write that is the act.
func Queue(ctx context.Context, msgs ...Message) context.Context { return outbox.Add(ctx, msgs...) }

// Pending reports whether ctx carries messages no write has taken yet.
func Pending(ctx context.Context) bool { return outbox.Pending[Message](ctx) }

// TakePending hands ctx's unwritten messages to a store's transaction, once.
func TakePending(ctx context.Context) []Message { return outbox.Take[Message](ctx) }

// RestorePending gives back messages a failed transaction took, so that a
// retry of the act still sends them.
func RestorePending(ctx context.Context, msgs []Message) { outbox.Restore(ctx, msgs) }

// Store is the outbox's table.
type Store interface {
	// ClaimMail leases up to limit pending messages due at now to the
	// caller: each gets Attempts+1 and NextAttemptAt = now+lease, so that
	// another worker (another replica) skips it until the lease ends, and
	// takes it over if this worker dies holding it.
	ClaimMail(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]Message, error)
	// FinishMail records the outcome of attempt number attempt of message
	// id: status sent, failed, or pending again at next. It changes nothing
	// (and reports false) if the message was claimed again since.
	// keepBody false erases the body (text and HTML), which may
	// hold single-use links, once they are of no more use.
	FinishMail(ctx context.Context, id string, attempt int, status Status, next time.Time, lastErr string, keepBody bool) (bool, error)
	// ListMail lists the outbox newest first: p.After is the last id of the
	// previous page ("" for the first).
	ListMail(ctx context.Context, p cursor.Page) ([]Message, error)
}
