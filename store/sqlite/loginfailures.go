package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/tollgate/tollgate/loginguard"
)

// GetFailures returns key's counter, or a zero Counter when there is none.
func (s *Store) GetFailures(ctx context.Context, key string) (loginguard.Counter, error) {
	var c loginguard.Counter
	var last int64
	err := s.read.QueryRowContext(ctx,
		`SELECT failures, last_failed FROM login_failures WHERE key = ?`, key).Scan(&c.Failures, &last)
	if errors.Is(err, sql.ErrNoRows) {
		return loginguard.Counter{}, nil
	}
	if err != nil {
		return loginguard.Counter{}, dbErr(err)
	}
	c.LastFailed = fromTS(last)
	return c, nil
}

// RecordFailure counts one more failure in a single upsert, starting over
// when the previous failure is more than window before at.
func (s *Store) RecordFailure(ctx context.Context, key string, at time.Time, window time.Duration) (loginguard.Counter, error) {
	var c loginguard.Counter
	var last int64
	err := s.write.QueryRowContext(ctx,
		`INSERT INTO login_failures (key, failures, last_failed) VALUES (?, 1, ?)
		 ON CONFLICT (key) DO UPDATE SET
		   failures = CASE WHEN login_failures.last_failed < ? THEN 1 ELSE login_failures.failures + 1 END,
		   last_failed = excluded.last_failed
		 RETURNING failures, last_failed`,
		key, ts(at), ts(at.Add(-window))).Scan(&c.Failures, &last)
	if err != nil {
		return loginguard.Counter{}, dbErr(err)
	}
	c.LastFailed = fromTS(last)
	return c, nil
}

// ResetFailures forgets key's counter.
func (s *Store) ResetFailures(ctx context.Context, key string) error {
	_, err := s.write.ExecContext(ctx, `DELETE FROM login_failures WHERE key = ?`, key)
	return dbErr(err)
}

// DeleteStaleFailures removes counters whose last failure is before cutoff.
func (s *Store) DeleteStaleFailures(ctx context.Context, cutoff time.Time) (int, error) {
	return affected(s.write.ExecContext(ctx, `DELETE FROM login_failures WHERE last_failed < ?`, ts(cutoff)))
}
