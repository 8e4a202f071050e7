package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"time"

	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/session"
)

const sessionCols = `id, actor_id, tenant_id, created_at, refreshed_at, expires_at, revoked_at, revoke_reason, user_agent, ip`

func errSessionNotFound() error { return fault.NotFoundf("session_not_found", "session not found") }

func errInvalidRefresh() error {
	return fault.Unauthenticatedf("invalid_refresh_token", "refresh token is invalid or expired")
}

func scanSession(r scanner) (session.Session, error) {
	var s session.Session
	var created, refreshed, expires int64
	var revoked sql.NullInt64
	err := r.Scan(&s.ID, &s.ActorID, &s.TenantID, &created, &refreshed, &expires, &revoked,
		&s.RevokeReason, &s.UserAgent, &s.IP)
	if err != nil {
		return session.Session{}, err
	}
	s.CreatedAt, s.RefreshedAt, s.ExpiresAt = fromTS(created), fromTS(refreshed), fromTS(expires)
	s.RevokedAt = fromNullTS(revoked)
	return s, nil
}

// CreateSession inserts s and its first refresh token hash.
func (s *Store) CreateSession(ctx context.Context, sess session.Session, refreshHash []byte) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx,
			`INSERT INTO sessions (`+sessionCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			sess.ID, sess.ActorID, sess.TenantID, ts(sess.CreatedAt), ts(sess.RefreshedAt), ts(sess.ExpiresAt),
			nullTS(sess.RevokedAt), sess.RevokeReason, sess.UserAgent, sess.IP)
		if isUnique(err, "sessions.id") {
			return fault.Conflictf("session_exists", "a session with this id exists")
		}
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx,
			`INSERT INTO refresh_tokens (hash, session_id, created_at) VALUES (?, ?, ?)`,
			refreshHash, sess.ID, ts(sess.CreatedAt))
		return err
	})
}

// GetSession returns the session with id.
func (s *Store) GetSession(ctx context.Context, id string) (session.Session, error) {
	sess, err := scanSession(s.read.QueryRowContext(ctx, `SELECT `+sessionCols+` FROM sessions WHERE id = ?`, id))
	return one(sess, err, errSessionNotFound)
}

// RotateRefresh consumes oldHash and stores newHash. The IMMEDIATE
// transaction makes the used_at check and its update one step, so of two
// concurrent rotations of a token exactly one wins.
func (s *Store) RotateRefresh(ctx context.Context, oldHash, newHash []byte, tenantID string, now, expiresAt time.Time) (session.Session, error) {
	var out session.Session
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var sessionID string
		var used sql.NullInt64
		err := tx.QueryRowContext(ctx,
			`SELECT session_id, used_at FROM refresh_tokens WHERE hash = ?`, oldHash).Scan(&sessionID, &used)
		if errors.Is(err, sql.ErrNoRows) {
			return errInvalidRefresh()
		}
		if err != nil {
			return err
		}
		sess, err := scanSession(tx.QueryRowContext(ctx,
			`SELECT `+sessionCols+` FROM sessions WHERE id = ?`, sessionID))
		if err != nil {
			return err
		}
		// Reuse is reported even for a revoked session: a replayed token is
		// evidence of theft whatever state the session is in.
		if used.Valid {
			return &session.ReuseError{SessionID: sess.ID, ActorID: sess.ActorID}
		}
		if sess.RevokedAt != nil || !sess.ExpiresAt.After(now) {
			return errInvalidRefresh()
		}
		if _, err := tx.ExecContext(ctx,
			`UPDATE refresh_tokens SET used_at = ? WHERE hash = ?`, ts(now), oldHash); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO refresh_tokens (hash, session_id, created_at) VALUES (?, ?, ?)`,
			newHash, sessionID, ts(now)); err != nil {
			return err
		}
		if tenantID != "" {
			sess.TenantID = tenantID
		}
		sess.RefreshedAt = fromTS(ts(now))
		sess.ExpiresAt = fromTS(ts(expiresAt))
		_, err = tx.ExecContext(ctx,
			`UPDATE sessions SET tenant_id = ?, refreshed_at = ?, expires_at = ? WHERE id = ?`,
			sess.TenantID, ts(sess.RefreshedAt), ts(sess.ExpiresAt), sessionID)
		out = sess
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

// RevokeSession marks a session revoked unless it already is.
func (s *Store) RevokeSession(ctx context.Context, id, reason string, at time.Time) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		var exists bool
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM sessions WHERE id = ?)`, id).Scan(&exists); err != nil {
			return err
		}
		if !exists {
			return errSessionNotFound()
		}
		_, err := tx.ExecContext(ctx,
			`UPDATE sessions SET revoked_at = ?, revoke_reason = ? WHERE id = ? AND revoked_at IS NULL`,
			ts(at), reason, id)
		return err
	})
}

// RevokeActorSessions revokes actorID's unrevoked sessions and returns their
// ids in ascending order.
func (s *Store) RevokeActorSessions(ctx context.Context, actorID, reason string, at time.Time) ([]string, error) {
	var ids []string
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx,
			`UPDATE sessions SET revoked_at = ?, revoke_reason = ?
			 WHERE actor_id = ? AND revoked_at IS NULL RETURNING id`,
			ts(at), reason, actorID)
		if err != nil {
			return err
		}
		ids, err = collect(rows, func(r scanner) (id string, err error) {
			err = r.Scan(&id)
			return id, err
		})
		return err
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
	return affected(s.write.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at < ?`, ts(cutoff)))
}
