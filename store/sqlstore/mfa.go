package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/session"
)

func errTOTPNotEnrolled() error {
	return fault.NotFoundf(session.CodeTOTPNotEnrolled, "no authenticator app is enrolled")
}

func errMFAToken() error {
	return fault.Unauthenticatedf(session.CodeInvalidMFAToken, "the mfa_token is invalid, expired or used; sign in again")
}

// PutPendingTOTP stores a pending factor in place of a pending one; an
// active factor stays, and the write matches no row.
func (s *Store) PutPendingTOTP(ctx context.Context, f session.TOTPFactor) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		n, err := s.affected(s.exec(ctx, tx,
			`INSERT INTO mfa_totp (user_id, seal_id, secret, status, last_step, created_at) VALUES (?, ?, ?, ?, 0, ?)
			 ON CONFLICT (user_id) DO UPDATE SET seal_id = excluded.seal_id, secret = excluded.secret, created_at = excluded.created_at
			 WHERE mfa_totp.status = ?`,
			f.UserID, f.SealID, f.Secret, string(session.TOTPPending), s.d.Time(f.CreatedAt), string(session.TOTPPending)))
		switch {
		case s.violates(err, "mfa_totp_user_fkey"):
			return errUserNotFound()
		case err != nil:
			return err
		case n == 0:
			return fault.Conflictf(session.CodeTOTPAlreadyEnabled, "an authenticator app is enrolled already; disable it first")
		}
		return nil
	})
}

// GetTOTP returns the user's factor.
func (s *Store) GetTOTP(ctx context.Context, userID string) (session.TOTPFactor, error) {
	return get(ctx, s, func(r scanner) (f session.TOTPFactor, err error) {
		err = r.Scan(&f.UserID, &f.SealID, &f.Secret, &f.Status, &f.LastStep, at(&f.CreatedAt), atNull(&f.ConfirmedAt))
		return f, err
	}, errTOTPNotEnrolled,
		`SELECT user_id, seal_id, secret, status, last_step, created_at, confirmed_at FROM mfa_totp WHERE user_id = ?`, userID)
}

// ActivateTOTP activates the pending factor and replaces the recovery
// codes, at once.
func (s *Store) ActivateTOTP(ctx context.Context, userID string, step int64, codeHashes [][]byte, now time.Time) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		n, err := s.affected(s.exec(ctx, tx,
			`UPDATE mfa_totp SET status = ?, last_step = ?, confirmed_at = ? WHERE user_id = ? AND status = ?`,
			string(session.TOTPActive), step, s.d.Time(now), userID, string(session.TOTPPending)))
		if err != nil {
			return err
		}
		if n == 0 {
			return fault.Conflictf(session.CodeTOTPNotPending, "this enrolment was confirmed or replaced meanwhile")
		}
		return s.replaceRecoveryCodes(ctx, tx, userID, codeHashes)
	})
}

// UseTOTPStep moves last_step forward to step; the comparison and the
// write are one statement, so of two uses of a step one matches.
func (s *Store) UseTOTPStep(ctx context.Context, userID string, step int64) (bool, error) {
	n, err := s.affected(s.exec(ctx, s.write,
		`UPDATE mfa_totp SET last_step = ? WHERE user_id = ? AND status = ? AND last_step < ?`,
		step, userID, string(session.TOTPActive), step))
	return n == 1, err
}

// errNoRecoveryCode rolls back UseRecoveryCode's transaction, and the
// audit event it carried, when no code matched.
var errNoRecoveryCode = errors.New("no such unused recovery code")

// UseRecoveryCode marks an unused code used; the act's audit event
// commits only with it.
func (s *Store) UseRecoveryCode(ctx context.Context, userID string, codeHash []byte, now time.Time) (bool, error) {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		n, err := s.affected(s.exec(ctx, tx,
			`UPDATE mfa_recovery_codes SET used_at = ? WHERE user_id = ? AND code_hash = ? AND used_at IS NULL`,
			s.d.Time(now), userID, codeHash))
		if err == nil && n == 0 {
			return errNoRecoveryCode
		}
		return err
	})
	if errors.Is(err, errNoRecoveryCode) {
		return false, nil
	}
	return err == nil, err
}

// DeleteTOTP removes the factor and the recovery codes and revokes the
// user's other live sessions, at once: a session opened with the factor
// must not outlive it.
func (s *Store) DeleteTOTP(ctx context.Context, userID, keep string, now time.Time) ([]string, error) {
	var revoked []string
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := s.exec(ctx, tx, `DELETE FROM mfa_totp WHERE user_id = ?`, userID)
		if err := s.affectedOne(res, err, errTOTPNotEnrolled); err != nil {
			return err
		}
		if _, err = s.exec(ctx, tx, `DELETE FROM mfa_recovery_codes WHERE user_id = ?`, userID); err != nil {
			return err
		}
		rows, err := s.query(ctx, tx, `UPDATE sessions SET revoked_at = ?, revoke_reason = 'mfa_disabled'
			WHERE actor_id = ? AND revoked_at IS NULL AND id <> ? RETURNING id`,
			s.d.Time(now), identity.UserActorPrefix+userID, keep)
		revoked, err = sortedIDs(s, rows, err)
		return err
	})
	if err != nil {
		return nil, err
	}
	return revoked, nil
}

// ReplaceRecoveryCodes replaces the recovery codes of a user whose factor
// is active, in one transaction.
func (s *Store) ReplaceRecoveryCodes(ctx context.Context, userID string, codeHashes [][]byte) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		// Locking the factor orders this against a concurrent disable.
		var one int
		err := s.queryRow(ctx, tx, `SELECT 1 FROM mfa_totp WHERE user_id = ? AND status = ?`+s.d.ForUpdate(),
			userID, string(session.TOTPActive)).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return errTOTPNotEnrolled()
		}
		if err != nil {
			return err
		}
		return s.replaceRecoveryCodes(ctx, tx, userID, codeHashes)
	})
}

// CreateChallenge stores a challenge.
func (s *Store) CreateChallenge(ctx context.Context, c session.Challenge, tokenHash []byte) error {
	_, err := s.exec(ctx, s.write,
		`INSERT INTO mfa_challenges (token_hash, user_id, tenant_id, amr, enrol, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		tokenHash, c.UserID, c.TenantID, strings.Join(c.AMR, " "), c.Enrol, s.d.Time(c.CreatedAt), s.d.Time(c.ExpiresAt))
	if s.violates(err, "mfa_challenges_user_fkey") {
		return errUserNotFound()
	}
	return s.dbErr(err)
}

// GetChallenge reads a live challenge.
func (s *Store) GetChallenge(ctx context.Context, tokenHash []byte, now time.Time) (session.Challenge, error) {
	var c session.Challenge
	var amr string
	var used *time.Time
	err := s.queryRow(ctx, s.read,
		`SELECT user_id, tenant_id, amr, enrol, attempts, created_at, expires_at, used_at FROM mfa_challenges WHERE token_hash = ?`, tokenHash).
		Scan(&c.UserID, &c.TenantID, &amr, &c.Enrol, &c.Attempts, at(&c.CreatedAt), at(&c.ExpiresAt), atNull(&used))
	if c, err = one(s, c, err, errMFAToken); err != nil {
		return session.Challenge{}, err
	}
	if used != nil || !now.Before(c.ExpiresAt) {
		return session.Challenge{}, errMFAToken()
	}
	c.AMR = strings.Fields(amr)
	return c, nil
}

// FailChallenge counts a wrong code.
func (s *Store) FailChallenge(ctx context.Context, tokenHash []byte) error {
	_, err := s.exec(ctx, s.write, `UPDATE mfa_challenges SET attempts = attempts + 1 WHERE token_hash = ?`, tokenHash)
	return s.dbErr(err)
}

// UseChallenge consumes a live challenge; the check and the write are
// one statement, so of two uses one wins.
func (s *Store) UseChallenge(ctx context.Context, tokenHash []byte, now time.Time) error {
	res, err := s.exec(ctx, s.write,
		`UPDATE mfa_challenges SET used_at = ? WHERE token_hash = ? AND used_at IS NULL AND expires_at > ?`,
		s.d.Time(now), tokenHash, s.d.Time(now))
	return s.affectedOne(res, err, errMFAToken)
}

// replaceRecoveryCodes makes codeHashes userID's only recovery codes, in
// tx: on enrolment and on regeneration alike, the old set stops working.
func (s *Store) replaceRecoveryCodes(ctx context.Context, tx *sql.Tx, userID string, codeHashes [][]byte) error {
	if _, err := s.exec(ctx, tx, `DELETE FROM mfa_recovery_codes WHERE user_id = ?`, userID); err != nil {
		return err
	}
	for _, h := range codeHashes {
		if _, err := s.exec(ctx, tx, `INSERT INTO mfa_recovery_codes (user_id, code_hash) VALUES (?, ?)`, userID, h); err != nil {
			return err
		}
	}
	return nil
}
