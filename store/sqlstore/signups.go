package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/session"
)

func errVerifyToken() error {
	return fault.NotFoundf(session.CodeInvalidVerifyToken, "the verification token is invalid")
}

// CreateSignup stores a sign-up waiting for verification.
func (s *Store) CreateSignup(ctx context.Context, p session.PendingSignup, tokenHash []byte) error {
	_, err := s.exec(ctx, s.write, `INSERT INTO signups (token_hash, email, password_hash, display_name, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)`,
		tokenHash, p.Email, p.PasswordHash, p.DisplayName, s.d.Time(p.CreatedAt), s.d.Time(p.ExpiresAt))
	return s.dbErr(err)
}

func (s *Store) checkSignup(ctx context.Context, q querier, lock string, tokenHash []byte, now time.Time) (session.PendingSignup, error) {
	var p session.PendingSignup
	var used *time.Time
	err := s.queryRow(ctx, q, `SELECT email, password_hash, display_name, created_at, expires_at, used_at FROM signups WHERE token_hash = ?`+lock, tokenHash).
		Scan(&p.Email, &p.PasswordHash, &p.DisplayName, at(&p.CreatedAt), at(&p.ExpiresAt), atNull(&used))
	if p, err = one(s, p, err, errVerifyToken); err != nil {
		return session.PendingSignup{}, err
	}
	switch {
	case used != nil:
		return session.PendingSignup{}, fault.Conflictf(session.CodeVerifyTokenUsed, "this link was already used; sign in")
	case !now.Before(p.ExpiresAt):
		return session.PendingSignup{}, fault.Conflictf(session.CodeVerifyTokenExpired, "this link has expired; sign up again")
	}
	return p, nil
}

// PeekSignup reads a pending sign-up without using it.
func (s *Store) PeekSignup(ctx context.Context, tokenHash []byte, now time.Time) (session.PendingSignup, error) {
	return s.checkSignup(ctx, s.read, "", tokenHash, now)
}

// CompleteSignup uses the token and creates the user, at once.
func (s *Store) CompleteSignup(ctx context.Context, tokenHash []byte, u identity.User, now time.Time) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := s.checkSignup(ctx, tx, s.d.ForUpdate(), tokenHash, now); err != nil {
			return err
		}
		_, err := s.exec(ctx, tx, `INSERT INTO users (`+userCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			u.ID, u.Email, u.DisplayName, string(u.Status), u.PasswordHash, u.PlatformAdmin, s.d.Time(u.CreatedAt), s.d.Time(u.UpdatedAt))
		if s.violates(err, "users_email_key") {
			return fault.Conflictf(identity.CodeEmailTaken, "a user with this email exists")
		}
		if err != nil {
			return err
		}
		_, err = s.exec(ctx, tx, `UPDATE signups SET used_at = ? WHERE token_hash = ?`, s.d.Time(now), tokenHash)
		return err
	})
}

// HasPendingInvitation reports whether email has a pending, unexpired
// invitation to any tenant.
func (s *Store) HasPendingInvitation(ctx context.Context, email string, now time.Time) (bool, error) {
	var ok bool
	err := s.queryRow(ctx, s.read, `SELECT EXISTS (SELECT 1 FROM invitations WHERE email = ? AND status = 'pending' AND expires_at > ?)`,
		email, s.d.Time(now)).Scan(&ok)
	return ok, s.dbErr(err)
}
