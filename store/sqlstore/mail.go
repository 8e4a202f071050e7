package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"github.com/tollgate/tollgate/cursor"
	"github.com/tollgate/tollgate/ids"
	"github.com/tollgate/tollgate/mail"
)

const mailCols = `id, tenant_id, recipient, kind, subject, body_text, body_html, body_sealed, status, attempts, next_attempt_at, last_error, created_at, sent_at`

func scanMail(r scanner) (m mail.Message, err error) {
	var status string
	err = r.Scan(&m.ID, &m.TenantID, &m.To, &m.Kind, &m.Subject, &m.Text, &m.HTML, &m.Sealed, &status, &m.Attempts,
		at(&m.NextAttemptAt), &m.LastError, at(&m.CreatedAt), atNull(&m.SentAt))
	m.Status = mail.Status(status)
	return m, err
}

// insertMailTx writes the messages an act queued, in its transaction, due
// at once.
func (s *Store) insertMailTx(ctx context.Context, tx *sql.Tx, msgs []mail.Message) error {
	for _, m := range msgs {
		now := time.Now().UTC().Truncate(time.Microsecond)
		if m.CreatedAt.IsZero() {
			m.CreatedAt = now
		}
		if m.ID == "" {
			m.ID = ids.NewAt(m.CreatedAt)
		}
		_, err := tx.ExecContext(ctx, s.d.Rebind(`INSERT INTO mail_outbox (`+mailCols+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, '', ?, NULL)`),
			m.ID, m.TenantID, m.To, m.Kind, m.Subject, m.Text, m.HTML, m.Sealed, string(mail.StatusPending),
			s.d.Time(m.CreatedAt), s.d.Time(m.CreatedAt))
		if err != nil {
			return err
		}
	}
	return nil
}

// ClaimMail leases due messages. On PostgreSQL the rows are locked with
// SKIP LOCKED, so that concurrent workers on other replicas take other
// rows instead of waiting; on SQLite the write transaction excludes every
// other claimer. The lease is the moved next_attempt_at: a claimed row is
// not due again until it ends.
func (s *Store) ClaimMail(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]mail.Message, error) {
	var out []mail.Message
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		rows, err := s.query(ctx, tx, `SELECT `+mailCols+` FROM mail_outbox
			WHERE status = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?`+s.d.SkipLocked("mail_outbox"),
			s.d.Time(now), limit)
		out, err = collect(s, rows, err, scanMail)
		if err != nil {
			return err
		}
		until := now.Add(lease)
		for i := range out {
			out[i].Attempts++
			out[i].NextAttemptAt = until
			if _, err := s.exec(ctx, tx, `UPDATE mail_outbox SET attempts = ?, next_attempt_at = ? WHERE id = ?`,
				out[i].Attempts, s.d.Time(until), out[i].ID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// FinishMail records an attempt's outcome, fenced by the attempt number.
func (s *Store) FinishMail(ctx context.Context, id string, attempt int, status mail.Status, next time.Time, lastErr string, keepBody bool) (bool, error) {
	var sentAt any
	if status == mail.StatusSent {
		sentAt = s.d.Time(next)
	}
	body := ``
	if !keepBody {
		body = `, body_text = '', body_html = '', body_sealed = NULL`
	}
	n, err := s.affected(s.exec(ctx, s.write, `UPDATE mail_outbox SET status = ?, next_attempt_at = ?, last_error = ?, sent_at = ?`+body+`
		WHERE id = ? AND attempts = ? AND status = 'pending'`,
		string(status), s.d.Time(next), lastErr, sentAt, id, attempt))
	return n == 1, err
}

// ListMail lists the outbox newest first.
func (s *Store) ListMail(ctx context.Context, p cursor.Page) ([]mail.Message, error) {
	p = p.Normalize()
	return readAll(ctx, s, scanMail, `SELECT `+mailCols+` FROM mail_outbox WHERE (? = '' OR id < ?) ORDER BY id DESC LIMIT ?`,
		p.After, p.After, p.Limit)
}
