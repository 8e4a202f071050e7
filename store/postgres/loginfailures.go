package postgres

import (
	"context"
	"time"

	"github.com/tollgate/tollgate/loginguard"
)

// GetFailures returns key's counter, or a zero Counter when there is none.
func (s *Store) GetFailures(ctx context.Context, key string) (loginguard.Counter, error) {
	var c loginguard.Counter
	err := s.pool.QueryRow(ctx,
		`SELECT failures, last_failed FROM login_failures WHERE key = $1`, key).Scan(&c.Failures, &c.LastFailed)
	if isNoRows(err) {
		return loginguard.Counter{}, nil
	}
	if err != nil {
		return loginguard.Counter{}, dbErr(err)
	}
	c.LastFailed = c.LastFailed.UTC()
	return c, nil
}

// RecordFailure counts one more failure in a single upsert, starting over
// when the previous failure is more than window before at. ON CONFLICT locks
// the row, so concurrent calls each add one.
func (s *Store) RecordFailure(ctx context.Context, key string, at time.Time, window time.Duration) (loginguard.Counter, error) {
	var c loginguard.Counter
	err := s.pool.QueryRow(ctx,
		`INSERT INTO login_failures (key, failures, last_failed) VALUES ($1, 1, $2)
		 ON CONFLICT (key) DO UPDATE SET
		   failures = CASE WHEN login_failures.last_failed < $3 THEN 1 ELSE login_failures.failures + 1 END,
		   last_failed = EXCLUDED.last_failed
		 RETURNING failures, last_failed`,
		key, ts(at), ts(at.Add(-window))).Scan(&c.Failures, &c.LastFailed)
	if err != nil {
		return loginguard.Counter{}, dbErr(err)
	}
	c.LastFailed = c.LastFailed.UTC()
	return c, nil
}

// ResetFailures forgets key's counter.
func (s *Store) ResetFailures(ctx context.Context, key string) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM login_failures WHERE key = $1`, key)
	return dbErr(err)
}

// DeleteStaleFailures removes counters whose last failure is before cutoff.
func (s *Store) DeleteStaleFailures(ctx context.Context, cutoff time.Time) (int, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM login_failures WHERE last_failed < $1`, ts(cutoff))
	if err != nil {
		return 0, dbErr(err)
	}
	return int(tag.RowsAffected()), nil
}
