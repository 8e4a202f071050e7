package session

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/tollgate/tollgate/audit"
	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/mail"
	"github.com/tollgate/tollgate/password"
	"github.com/tollgate/tollgate/ratelimit"
)

// PasswordStore is what resets and changes need of the store.
type PasswordStore interface {
	// PeekPasswordReset returns whose a reset token is, without using it,
	// with ResetPassword's errors at now.
	PeekPasswordReset(ctx context.Context, tokenHash []byte, now time.Time) (userID string, err error)
	// CreatePasswordReset stores a reset token's hash for userID.
	CreatePasswordReset(ctx context.Context, tokenHash []byte, userID string, createdAt, expiresAt time.Time) error
	// CountPasswordResets counts the reset tokens made for userID since,
	// used or not.
	CountPasswordResets(ctx context.Context, userID string, since time.Time) (int, error)
	// ResetPassword, in one transaction: consumes the reset token (NotFound
	// "invalid_reset_token" when unknown, Conflict "reset_token_used" or
	// "reset_token_expired" at now), retires the user's other reset
	// tokens, sets the password hash and revokes every live session of the
	// user. It returns the user's id and the revoked sessions.
	ResetPassword(ctx context.Context, tokenHash []byte, newHash string, now time.Time) (userID string, revoked []string, err error)
	// ChangePassword, in one transaction: sets the hash if it is still
	// oldHash (Conflict "password_changed" otherwise), retires the user's
	// reset tokens and revokes the user's live sessions but keep.
	ChangePassword(ctx context.Context, userID, oldHash, newHash, keep string, now time.Time) (revoked []string, err error)
}

// ResetOptions configure password resets.
type ResetOptions struct {
	TTL      time.Duration
	LinkBase string
	Mail     identity.Mail
}

// MaxResetsPerHour bounds the reset emails one account gets in an hour,
// whoever asks from wherever: the per-IP limit alone would let requests
// from many addresses flood one inbox. Requests past it send nothing (and
// the asker is told the same as ever).
const MaxResetsPerHour = 5

// reasonResetLimit is the audit reason of a reset request past
// MaxResetsPerHour.
const reasonResetLimit = "reset_limit"

// resetJob is one forgot-password request waiting for the worker.
type resetJob struct {
	email  string
	origin audit.Origin
}

// ForgotPassword asks for a reset link for email. It answers at once and
// alike whatever the address: the lookup, the token and the email happen
// in RunResets, off the request, so that neither the answer nor its time
// tells whether the address has an account. A full queue drops the request
// (logged): the caller is told the same.
func (s *Service) ForgotPassword(ctx context.Context, email string) error {
	normalized, err := identity.NormalizeEmail(email)
	if err != nil {
		return err
	}
	select {
	case s.resets <- resetJob{email: normalized, origin: audit.OriginOf(ctx)}:
	default:
		s.log.WarnContext(ctx, "password reset queue full: request dropped")
	}
	return nil
}

// RunResets serves ForgotPassword's queue until ctx ends.
func (s *Service) RunResets(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case j := <-s.resets:
			if err := s.sendReset(audit.WithOrigin(ctx, j.origin), j.email); err != nil {
				s.log.WarnContext(ctx, "password reset failed", "err", err)
			}
		}
	}
}

// sendReset mails a reset link to email's account, if it has an active
// one; otherwise it does nothing, and nobody learns that.
func (s *Service) sendReset(ctx context.Context, email string) error {
	u, err := s.identities.GetUserByEmail(ctx, email)
	if errors.Is(err, fault.ErrNotFound) || err == nil && u.Status != identity.UserActive {
		return nil
	}
	if err != nil {
		return err
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	n, err := s.passwords.CountPasswordResets(ctx, u.ID, now.Add(-time.Hour))
	if err != nil {
		return err
	}
	if n >= MaxResetsPerHour {
		if s.audit != nil {
			s.audit.Add(ctx, audit.Event{Action: audit.ActionPasswordResetAsk, Outcome: audit.Denied, Reason: reasonResetLimit,
				TargetType: "user", TargetID: u.ActorID()})
		}
		return nil
	}
	raw, hash := identity.NewLinkToken(identity.ResetTokenPrefix)
	expires := now.Add(s.reset.TTL)
	msg, err := s.reset.Mail.Render(mail.KindPasswordReset, u.Email, map[string]any{
		"Email": u.Email, "Link": s.reset.LinkBase + "/password/reset?token=" + raw, "ExpiresAt": expires.Format("2006-01-02 15:04 UTC"),
	})
	if err != nil {
		return err
	}
	ctx = mail.Queue(ctx, msg)
	ctx = audit.Record(ctx, audit.Event{Action: audit.ActionPasswordResetAsk, TargetType: "user", TargetID: u.ActorID()})
	return s.passwords.CreatePasswordReset(ctx, hash, u.ID, now, expires)
}

// checkNewPassword applies the password policy to plain for u.
func checkNewPassword(plain, email, name string) error {
	if plain == "" {
		return fault.Invalidf("new_password", CodeInvalidPassword, "new_password is required")
	}
	if len(plain) > maxPasswordInput {
		return fault.Invalidf("new_password", CodeInvalidPassword, "new_password is too long")
	}
	local, _, _ := strings.Cut(email, "@")
	return password.DefaultPolicy().Check(plain, email, local, name, "tollgate")
}

// ResetPassword sets a new password with a reset token, once, and revokes
// every session of the user: whoever knew the old password is signed out.
func (s *Service) ResetPassword(ctx context.Context, token, newPassword string) error {
	hash, err := identity.ParseLinkToken(token, identity.ResetTokenPrefix, "token", CodeInvalidResetToken)
	if err != nil {
		return err
	}
	if len(newPassword) > maxPasswordInput {
		return fault.Invalidf("new_password", CodeInvalidPassword, "new_password is too long")
	}
	// The policy needs the account's address, which the token names; a
	// used or expired token fails here, before any hashing.
	userID, err := s.passwords.PeekPasswordReset(ctx, hash, s.now())
	if err != nil {
		return err
	}
	u, err := s.identities.GetUser(ctx, userID)
	if err != nil {
		return err
	}
	if err := checkNewPassword(newPassword, u.Email, u.DisplayName); err != nil {
		return err
	}
	newHash, err := s.hasher.Hash(ctx, newPassword)
	if err != nil {
		return err
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	ctx = audit.Record(ctx, audit.Event{ActorID: u.ActorID(), Action: audit.ActionPasswordReset, TargetType: "user", TargetID: u.ActorID()})
	_, revoked, err := s.passwords.ResetPassword(ctx, hash, newHash, now)
	if err != nil {
		return err
	}
	s.revoked(ctx, now, revoked...)
	return nil
}

// ChangePassword changes the signed-in user's password (their own session
// only): the current password must be right — failures count against the
// sign-in limits of the account, as at sign-in — and every other session
// of theirs is revoked; this one stays.
func (s *Service) ChangePassword(ctx context.Context, ac identity.ActorContext, current, next string, c Client) error {
	if err := ac.RequireSession(); err != nil {
		return err
	}
	if current == "" || len(current) > maxPasswordInput {
		return fault.Invalidf("current_password", CodeInvalidPassword, "current_password is required and at most 1 KiB")
	}
	id, _ := strings.CutPrefix(ac.ActorID, identity.UserActorPrefix)
	u, err := s.identities.GetUser(ctx, id)
	if err != nil {
		return err
	}
	attempt := ratelimit.LoginAttempt{Account: accountKey(u.Email), IP: c.IP}
	if s.throttle != nil {
		if err := s.throttle.BeginLogin(ctx, attempt); err != nil {
			return err
		}
	}
	ok, _, err := s.hasher.Verify(ctx, current, u.PasswordHash)
	if errors.Is(err, fault.ErrUnavailable) {
		return err
	}
	if !ok {
		if s.throttle != nil {
			s.throttle.LoginFailed(ctx, attempt)
		}
		return fault.Forbiddenf(CodeWrongPassword, "current_password is wrong")
	}
	if err := checkNewPassword(next, u.Email, u.DisplayName); err != nil {
		return err
	}
	newHash, err := s.hasher.Hash(ctx, next)
	if err != nil {
		return err
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	ctx = audit.Record(ctx, audit.Event{Action: audit.ActionPasswordChange, TargetType: "user", TargetID: u.ActorID()})
	revoked, err := s.passwords.ChangePassword(ctx, u.ID, u.PasswordHash, newHash, ac.SessionID, now)
	if err != nil {
		return err
	}
	s.revoked(ctx, now, revoked...)
	return nil
}
