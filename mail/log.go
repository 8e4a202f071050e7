package mail

import (
	"context"
	"log/slog"
)

// LogSender is the development sender, used when no smtp_url is
// configured: it writes each message, links and all, to the log, and the
// outbox keeps its body so that `tollgate admin outbox` shows it. It is
// the one place Tollgate logs a single-use link; it never runs with SMTP
// configured.
type LogSender struct {
	Log *slog.Logger
}

// Send logs m.
func (l LogSender) Send(ctx context.Context, from string, m Message) error {
	l.Log.InfoContext(ctx, "mail (no smtp_url: not sent, shown here for development)",
		"id", m.ID, "from", from, "to", m.To, "subject", m.Subject, "text", m.Text)
	return nil
}

// KeepsBody is true: the outbox is where a developer reads the message.
func (LogSender) KeepsBody() bool { return true }
