package postgres

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/session"
)

const sessionCols = `id, actor_id, tenant_id, created_at, refreshed_at, expires_at, revoked_at, revoke_reason, user_agent, ip`

func errSessionNotFound() error { return fault.NotFoundf("session_not_found", "session not found") }

func errInvalidRefresh() error {
	return fault.Unauthenticatedf("invalid_refresh_token", "refresh token is invalid or expired")
}

func scanSession(r pgx.Row) (session.Session, error) {
	var s session.Session
	err := r.Scan(&s.ID, &s.ActorID, &s.TenantID, &s.CreatedAt, &s.RefreshedAt, &s.ExpiresAt, &s.RevokedAt,
		&s.RevokeReason, &s.UserAgent, &s.IP)
	if err != nil {
		return session.Session{}, err
	}
	s.CreatedAt, s.RefreshedAt, s.ExpiresAt = s.CreatedAt.UTC(), s.RefreshedAt.UTC(), s.ExpiresAt.UTC()
	if s.RevokedAt != nil {
		t := s.RevokedAt.UTC()
		s.RevokedAt = &t
	}
	return s, nil
}

// CreateSession inserts s and its first refresh token hash.
func (s *Store) CreateSession(ctx context.Context, sess session.Session, refreshHash []byte) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx,
			`INSERT INTO sessions (`+sessionCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
			sess.ID, sess.ActorID, sess.TenantID, ts(sess.CreatedAt), ts(sess.RefreshedAt), ts(sess.ExpiresAt),
			tsPtr(sess.RevokedAt), sess.RevokeReason, sess.UserAgent, sess.IP)
		if violated(err) == "sessions_pkey" {
			return fault.Conflictf("session_exists", "a session with this id exists")
		}
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx,
			`INSERT INTO refresh_tokens (hash, session_id, created_at) VALUES ($1, $2, $3)`,
			refreshHash, sess.ID, ts(sess.CreatedAt))
		return err
	})
}

// GetSession returns the session with id.
func (s *Store) GetSession(ctx context.Context, id string) (session.Session, error) {
	sess, err := scanSession(s.pool.QueryRow(ctx, `SELECT `+sessionCols+` FROM sessions WHERE id = $1`, id))
	return one(sess, err, errSessionNotFound)
}

// RotateRefresh consumes oldHash and stores newHash. Every writer of a
// session's tokens locks the session row first, then the token, so two
// concurrent rotations of one token queue and the second sees it used.
func (s *Store) RotateRefresh(ctx context.Context, oldHash, newHash []byte, tenantID string, now, expiresAt time.Time) (session.Session, error) {
	var out session.Session
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var sessionID string
		err := tx.QueryRow(ctx, `SELECT session_id FROM refresh_tokens WHERE hash = $1`, oldHash).Scan(&sessionID)
		if isNoRows(err) {
			return errInvalidRefresh()
		}
		if err != nil {
			return err
		}
		sess, err := scanSession(tx.QueryRow(ctx,
			`SELECT `+sessionCols+` FROM sessions WHERE id = $1 FOR UPDATE`, sessionID))
		if isNoRows(err) {
			// Deleted as expired since the first read.
			return errInvalidRefresh()
		}
		if err != nil {
			return err
		}
		var used *time.Time
		err = tx.QueryRow(ctx, `SELECT used_at FROM refresh_tokens WHERE hash = $1 FOR UPDATE`, oldHash).Scan(&used)
		if isNoRows(err) {
			return errInvalidRefresh()
		}
		if err != nil {
			return err
		}
		// Reuse is reported even for a revoked session: a replayed token is
		// evidence of theft whatever state the session is in.
		if used != nil {
			return &session.ReuseError{SessionID: sess.ID, ActorID: sess.ActorID}
		}
		if sess.RevokedAt != nil || !sess.ExpiresAt.After(now) {
			return errInvalidRefresh()
		}
		if _, err := tx.Exec(ctx, `UPDATE refresh_tokens SET used_at = $1 WHERE hash = $2`, ts(now), oldHash); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx,
			`INSERT INTO refresh_tokens (hash, session_id, created_at) VALUES ($1, $2, $3)`,
			newHash, sessionID, ts(now)); err != nil {
			return err
		}
		out, err = scanSession(tx.QueryRow(ctx,
			`UPDATE sessions SET
			   tenant_id = CASE WHEN $1 = '' THEN tenant_id ELSE $1 END,
			   refreshed_at = $2, expires_at = $3
			 WHERE id = $4 RETURNING `+sessionCols,
			tenantID, ts(now), ts(expiresAt), sessionID))
		return err
	})
	var reuse *session.ReuseError
	if errors.As(err, &reuse) {
		// Returned bare, not as a fault: callers match on the type.
		return session.Session{}, reuse
	}
	if err != nil {
		return session.Session{}, err
	}
	return out, nil
}

// RevokeSession marks a session revoked unless it already is. Of two
// concurrent calls the second's UPDATE waits for the first and then matches
// nothing, so the first reason and time stay.
func (s *Store) RevokeSession(ctx context.Context, id, reason string, at time.Time) error {
	tag, err := s.pool.Exec(ctx,
		`UPDATE sessions SET revoked_at = $1, revoke_reason = $2 WHERE id = $3 AND revoked_at IS NULL`,
		ts(at), reason, id)
	if err != nil {
		return dbErr(err)
	}
	if tag.RowsAffected() > 0 {
		return nil
	}
	var exists bool
	if err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM sessions WHERE id = $1)`, id).Scan(&exists); err != nil {
		return dbErr(err)
	}
	if !exists {
		return errSessionNotFound()
	}
	return nil
}

// RevokeActorSessions revokes actorID's unrevoked sessions and returns their
// ids in ascending order.
func (s *Store) RevokeActorSessions(ctx context.Context, actorID, reason string, at time.Time) ([]string, error) {
	rows, err := s.pool.Query(ctx,
		`UPDATE sessions SET revoked_at = $1, revoke_reason = $2
		 WHERE actor_id = $3 AND revoked_at IS NULL RETURNING id`,
		ts(at), reason, actorID)
	if err != nil {
		return nil, dbErr(err)
	}
	ids, err := collect(rows, func(r pgx.Row) (id string, err error) {
		err = r.Scan(&id)
		return id, err
	})
	if err != nil {
		return nil, err
	}
	slices.Sort(ids)
	return ids, nil
}

// DeleteExpired deletes sessions that expired before cutoff; their refresh
// tokens go with them by cascade.
func (s *Store) DeleteExpired(ctx context.Context, cutoff time.Time) (int, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM sessions WHERE expires_at < $1`, ts(cutoff))
	if err != nil {
		return 0, dbErr(err)
	}
	return int(tag.RowsAffected()), nil
}
