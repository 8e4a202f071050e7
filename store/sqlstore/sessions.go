package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/tollgate/tollgate/cursor"
	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/session"
)

const sessionCols = `id, actor_id, tenant_id, created_at, refreshed_at, expires_at, revoked_at, revoke_reason, user_agent, ip, ends_at, amr`

func errSessionNotFound() error {
	return fault.NotFoundf(session.CodeSessionNotFound, "session not found")
}

func errInvalidRefresh() error {
	return fault.Unauthenticatedf(session.CodeInvalidRefreshToken, "refresh token is invalid or expired")
}

func scanSession(r scanner) (s session.Session, err error) {
	// amr is stored space-separated, as scope is on the wire: the values
	// are RFC 8176 tokens without spaces.
	var amr string
	err = r.Scan(&s.ID, &s.ActorID, &s.TenantID, at(&s.CreatedAt), at(&s.RefreshedAt), at(&s.ExpiresAt),
		atNull(&s.RevokedAt), &s.RevokeReason, &s.UserAgent, &s.IP, at(&s.EndsAt), &amr)
	if amr != "" {
		s.AMR = strings.Fields(amr)
	}
	return s, err
}

// CreateSession inserts s and its first refresh token hash.
func (s *Store) CreateSession(ctx context.Context, sess session.Session, refreshHash []byte) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := s.exec(ctx, tx,
			`INSERT INTO sessions (`+sessionCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			sess.ID, sess.ActorID, sess.TenantID, s.d.Time(sess.CreatedAt), s.d.Time(sess.RefreshedAt),
			s.d.Time(sess.ExpiresAt), s.nullTime(sess.RevokedAt), sess.RevokeReason, sess.UserAgent, sess.IP,
			s.d.Time(sess.EndsAt), strings.Join(sess.AMR, " "))
		if s.violates(err, "sessions_pkey") {
			return fault.Conflictf(session.CodeSessionExists, "a session with this id exists")
		}
		if err != nil {
			return err
		}
		_, err = s.exec(ctx, tx,
			`INSERT INTO refresh_tokens (hash, session_id, created_at) VALUES (?, ?, ?)`,
			refreshHash, sess.ID, s.d.Time(sess.CreatedAt))
		return err
	})
}

// GetSession returns the session with id.
func (s *Store) GetSession(ctx context.Context, id string) (session.Session, error) {
	return get(ctx, s, scanSession, errSessionNotFound, `SELECT `+sessionCols+` FROM sessions WHERE id = ?`, id)
}

// RotateRefresh consumes oldHash and stores newHash. Every writer of a
// session's tokens locks the session row first, then the token, so two
// concurrent rotations of one token queue and the second sees it used
// (on SQLite the write transaction already excludes every other writer).
// The used_at check and its update are thus one step, and of two
// concurrent rotations of a token exactly one wins.
func (s *Store) RotateRefresh(ctx context.Context, oldHash, newHash []byte, tenantID string, now, expiresAt time.Time) (session.Session, error) {
	var out session.Session
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var sessionID string
		err := s.queryRow(ctx, tx, `SELECT session_id FROM refresh_tokens WHERE hash = ?`, oldHash).Scan(&sessionID)
		if _, err := one(s, sessionID, err, errInvalidRefresh); err != nil {
			return err
		}
		// The session has no row if it was deleted as expired since the
		// first read.
		sess, err := scanSession(s.queryRow(ctx, tx,
			`SELECT `+sessionCols+` FROM sessions WHERE id = ?`+s.d.ForUpdate(), sessionID))
		if sess, err = one(s, sess, err, errInvalidRefresh); err != nil {
			return err
		}
		var used *time.Time
		err = s.queryRow(ctx, tx,
			`SELECT used_at FROM refresh_tokens WHERE hash = ?`+s.d.ForUpdate(), oldHash).Scan(atNull(&used))
		if _, err := one(s, used, err, errInvalidRefresh); err != nil {
			return err
		}
		// Reuse is reported even for a revoked session: a replayed token is
		// evidence of theft whatever state the session is in.
		if used != nil {
			return &session.ReuseError{SessionID: sess.ID, ActorID: sess.ActorID}
		}
		if sess.RevokedAt != nil {
			return errInvalidRefresh()
		}
		// Checked before the sliding expiry, which never passes EndsAt: a
		// refresh after the end is told apart from an idle timeout.
		if !sess.EndsAt.After(now) {
			return &session.EndedError{SessionID: sess.ID, ActorID: sess.ActorID, TenantID: sess.TenantID}
		}
		if !sess.ExpiresAt.After(now) {
			return errInvalidRefresh()
		}
		if expiresAt.After(sess.EndsAt) {
			expiresAt = sess.EndsAt
		}
		if _, err := s.exec(ctx, tx,
			`UPDATE refresh_tokens SET used_at = ? WHERE hash = ?`, s.d.Time(now), oldHash); err != nil {
			return err
		}
		if _, err := s.exec(ctx, tx,
			`INSERT INTO refresh_tokens (hash, session_id, created_at) VALUES (?, ?, ?)`,
			newHash, sessionID, s.d.Time(now)); err != nil {
			return err
		}
		out, err = scanSession(s.queryRow(ctx, tx,
			`UPDATE sessions SET
			   tenant_id = CASE WHEN ? = '' THEN tenant_id ELSE ? END,
			   refreshed_at = ?, expires_at = ?
			 WHERE id = ? RETURNING `+sessionCols,
			tenantID, tenantID, s.d.Time(now), s.d.Time(expiresAt), sessionID))
		return err
	})
	var reuse *session.ReuseError
	if errors.As(err, &reuse) {
		// Returned bare, not as a fault: callers match on the type.
		return session.Session{}, reuse
	}
	var ended *session.EndedError
	if errors.As(err, &ended) {
		return session.Session{}, ended
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
	n, err := s.affected(s.exec(ctx, s.write,
		`UPDATE sessions SET revoked_at = ?, revoke_reason = ? WHERE id = ? AND revoked_at IS NULL`,
		s.d.Time(at), reason, id))
	if err != nil || n > 0 {
		return err
	}
	return s.mustExist(ctx, "sessions", id, errSessionNotFound)
}

// RevokeActorSessions revokes actorID's unrevoked sessions and returns their
// ids in ascending order.
func (s *Store) RevokeActorSessions(ctx context.Context, actorID, reason string, at time.Time) ([]string, error) {
	var ids []string
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		rows, err := s.query(ctx, tx,
			`UPDATE sessions SET revoked_at = ?, revoke_reason = ?
			 WHERE actor_id = ? AND revoked_at IS NULL RETURNING id`,
			s.d.Time(at), reason, actorID)
		ids, err = sortedIDs(s, rows, err)
		return err
	})
	if err != nil {
		return nil, err
	}
	return ids, nil
}

// DeleteExpired deletes sessions that expired before cutoff; their refresh
// tokens go with them by cascade. MFA challenges and passkey ceremonies
// expired by then go too: they live minutes, and are sessions not yet
// opened.
func (s *Store) DeleteExpired(ctx context.Context, cutoff time.Time) (int, error) {
	for _, table := range []string{"mfa_challenges", "passkey_ceremonies"} {
		if _, err := s.exec(ctx, s.write, `DELETE FROM `+table+` WHERE expires_at < ?`, s.d.Time(cutoff)); err != nil {
			return 0, s.dbErr(err)
		}
	}
	return s.affected(s.exec(ctx, s.write, `DELETE FROM sessions WHERE expires_at < ?`, s.d.Time(cutoff)))
}

// ListSessions pages through the live sessions f selects by id: those of
// an actor (sessions_actor_idx), of a tenant (sessions_tenant_idx) or of
// both.
func (s *Store) ListSessions(ctx context.Context, f session.Filter, p cursor.Page) ([]session.Session, error) {
	where, args := `revoked_at IS NULL AND expires_at > ?`, []any{s.d.Time(f.LiveAt)}
	if f.ActorID != "" {
		where, args = where+` AND actor_id = ?`, append(args, f.ActorID)
	}
	if f.TenantID != "" {
		where, args = where+` AND tenant_id = ?`, append(args, f.TenantID)
	}
	return list(ctx, s, p, scanSession,
		`SELECT `+sessionCols+` FROM sessions WHERE `+where+` AND id > ? ORDER BY id LIMIT ?`, args...)
}
