package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/session"
)

func errResetToken() error {
	return fault.NotFoundf(session.CodeInvalidResetToken, "the reset token is invalid")
}

// CreatePasswordReset stores a reset token's hash.
func (s *Store) CreatePasswordReset(ctx context.Context, tokenHash []byte, userID string, createdAt, expiresAt time.Time) error {
	_, err := s.exec(ctx, s.write, `INSERT INTO password_resets (token_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)`,
		tokenHash, userID, s.d.Time(createdAt), s.d.Time(expiresAt))
	if s.violates(err, "password_resets_user_fkey") {
		return errUserNotFound()
	}
	return s.dbErr(err)
}

// CountPasswordResets counts userID's reset tokens made since.
func (s *Store) CountPasswordResets(ctx context.Context, userID string, since time.Time) (int, error) {
	return s.count(ctx, `SELECT count(*) FROM password_resets WHERE user_id = ? AND created_at >= ?`, userID, s.d.Time(since))
}

// checkReset reads a reset token on q (locking it inside a transaction)
// and judges it at now.
func (s *Store) checkReset(ctx context.Context, q querier, lock string, tokenHash []byte, now time.Time) (string, error) {
	var userID string
	var expires time.Time
	var used *time.Time
	err := s.queryRow(ctx, q, `SELECT user_id, expires_at, used_at FROM password_resets WHERE token_hash = ?`+lock, tokenHash).
		Scan(&userID, at(&expires), atNull(&used))
	if _, err := one(s, userID, err, errResetToken); err != nil {
		return "", err
	}
	switch {
	case used != nil:
		return "", fault.Conflictf(session.CodeResetTokenUsed, "this reset link was already used or replaced; ask for a new one")
	case !now.Before(expires):
		return "", fault.Conflictf(session.CodeResetTokenExpired, "this reset link has expired; ask for a new one")
	}
	return userID, nil
}

// PeekPasswordReset judges a reset token without using it.
func (s *Store) PeekPasswordReset(ctx context.Context, tokenHash []byte, now time.Time) (string, error) {
	return s.checkReset(ctx, s.read, "", tokenHash, now)
}

// ResetPassword consumes the token, sets the hash and revokes the user's
// sessions, at once.
func (s *Store) ResetPassword(ctx context.Context, tokenHash []byte, newHash string, now time.Time) (string, []string, error) {
	var userID string
	var revoked []string
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		if userID, err = s.checkReset(ctx, tx, s.d.ForUpdate(), tokenHash, now); err != nil {
			return err
		}
		revoked, err = s.setPasswordTx(ctx, tx, userID, newHash, "", "password_reset", now)
		return err
	})
	return userID, revoked, err
}

// ChangePassword sets the hash if it is still oldHash and revokes the
// user's other sessions, at once.
func (s *Store) ChangePassword(ctx context.Context, userID, oldHash, newHash, keep string, now time.Time) ([]string, error) {
	var revoked []string
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var current string
		err := s.queryRow(ctx, tx, `SELECT password_hash FROM users WHERE id = ?`+s.d.ForUpdate(), userID).Scan(&current)
		if _, err := one(s, current, err, errUserNotFound); err != nil {
			return err
		}
		if current != oldHash {
			return fault.Conflictf(session.CodePasswordChanged, "the password changed meanwhile; sign in again")
		}
		revoked, err = s.setPasswordTx(ctx, tx, userID, newHash, keep, "password_change", now)
		return err
	})
	return revoked, err
}

// setPasswordTx writes the hash, retires every outstanding reset token of
// the user, and revokes their live sessions except keep.
func (s *Store) setPasswordTx(ctx context.Context, tx *sql.Tx, userID, newHash, keep, reason string, now time.Time) ([]string, error) {
	if _, err := s.exec(ctx, tx, `UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ?`, newHash, s.d.Time(now), userID); err != nil {
		return nil, err
	}
	if _, err := s.exec(ctx, tx, `UPDATE password_resets SET used_at = ? WHERE user_id = ? AND used_at IS NULL`, s.d.Time(now), userID); err != nil {
		return nil, err
	}
	rows, err := s.query(ctx, tx, `UPDATE sessions SET revoked_at = ?, revoke_reason = ?
		WHERE actor_id = ? AND revoked_at IS NULL AND id <> ? RETURNING id`,
		s.d.Time(now), reason, identity.UserActorPrefix+userID, keep)
	return sortedIDs(s, rows, err)
}
