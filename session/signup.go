package session

import (
	"context"
	"errors"
	"time"

	"github.com/tollgate/tollgate/audit"
	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/ids"
	"github.com/tollgate/tollgate/mail"
)

// Sign-up modes (config signup).
const (
	// SignupOff: only the operator and invitations create accounts.
	SignupOff = "off"
	// SignupInviteOnly: sign-up is for addresses with a pending invitation.
	SignupInviteOnly = "invite_only"
	// SignupOpen: anyone may sign up, once they verify their address.
	SignupOpen = "open"
)

// PendingSignup is a sign-up waiting for its address to be verified; the
// account is created only then.
type PendingSignup struct {
	Email        string
	PasswordHash string
	DisplayName  string
	CreatedAt    time.Time
	ExpiresAt    time.Time
}

// SignupStore is what sign-up needs of the store.
type SignupStore interface {
	CreateSignup(ctx context.Context, p PendingSignup, tokenHash []byte) error
	// PeekSignup: NotFound "invalid_verification_token"; Conflict
	// "verification_token_used" or "verification_token_expired" at now.
	PeekSignup(ctx context.Context, tokenHash []byte, now time.Time) (PendingSignup, error)
	// CompleteSignup uses the token (PeekSignup's errors) and creates u
	// (Conflict "email_taken") in one transaction.
	CompleteSignup(ctx context.Context, tokenHash []byte, u identity.User, now time.Time) error
	HasPendingInvitation(ctx context.Context, email string, now time.Time) (bool, error)
}

// SignupOptions configure sign-up.
type SignupOptions struct {
	Mode     string
	TTL      time.Duration
	LinkBase string
	Mail     identity.Mail
}

// SignupRequest is the input of Signup.
type SignupRequest struct {
	Email, Password, DisplayName string
}

// Signup starts a sign-up: the password is checked and hashed, and the
// address gets a verification link. An address that has an account gets,
// after the same work, an email saying so instead; the answer is the same,
// so sign-up tells nobody which addresses have accounts. With signup
// invite_only, only an address with a pending invitation gets an email;
// the others go through the same lookup, rendering and write, so that the
// answer's time does not tell whether an invitation exists either.
func (s *Service) Signup(ctx context.Context, req SignupRequest) error {
	if s.signup.Mode != SignupOpen && s.signup.Mode != SignupInviteOnly {
		return fault.Forbiddenf(CodeSignupDisabled, "sign-up is not open on this server")
	}
	email, err := identity.NormalizeEmail(req.Email)
	if err != nil {
		return err
	}
	if err := identity.ValidateName("display_name", req.DisplayName, true); err != nil {
		return err
	}
	if err := checkNewPassword(req.Password, email, req.DisplayName); err != nil {
		return err
	}
	hash, err := s.hasher.Hash(ctx, req.Password)
	if err != nil {
		return err
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	invited := true
	if s.signup.Mode == SignupInviteOnly {
		if invited, err = s.signups.HasPendingInvitation(ctx, email, now); err != nil {
			return err
		}
	}
	_, err = s.identities.GetUserByEmail(ctx, email)
	exists := err == nil
	if err != nil && !errors.Is(err, fault.ErrNotFound) {
		return err
	}
	raw, tokenHash := identity.NewLinkToken(identity.VerifyTokenPrefix)
	p := PendingSignup{Email: email, PasswordHash: hash, DisplayName: req.DisplayName, CreatedAt: now, ExpiresAt: now.Add(s.signup.TTL)}
	msg, err := s.signup.Mail.Render(mail.KindVerifyEmail, email, map[string]any{
		"Email": email, "Exists": exists, "Link": s.signup.LinkBase + "/signup/verify?token=" + raw,
		"ResetLink": s.signup.LinkBase + "/password/forgot", "ExpiresAt": p.ExpiresAt.Format("2006-01-02 15:04 UTC"),
	})
	if err != nil {
		return err
	}
	// For an address with an account the pending row is stored all the
	// same — the same write — but the email carries no link: it can only
	// expire. An address without the invitation invite_only wants gets
	// the row and no email at all; its token is never sent, so it too can
	// only expire.
	if invited {
		ctx = mail.Queue(ctx, msg)
	}
	ctx = audit.Record(ctx, audit.Event{Action: audit.ActionSignupRequest, TargetType: "signup"})
	return s.signups.CreateSignup(ctx, p, tokenHash)
}

// Verify uses a verification link: the account is created, active, and
// signed in (a session with no tenant, enough to create one or accept an
// invitation).
func (s *Service) Verify(ctx context.Context, token string, c Client) (Tokens, error) {
	hash, err := identity.ParseLinkToken(token, identity.VerifyTokenPrefix, "token", CodeInvalidVerifyToken)
	if err != nil {
		return Tokens{}, err
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	p, err := s.signups.PeekSignup(ctx, hash, now)
	if err != nil {
		return Tokens{}, err
	}
	u := identity.User{ID: ids.NewAt(now), Email: p.Email, DisplayName: p.DisplayName, Status: identity.UserActive,
		PasswordHash: p.PasswordHash, CreatedAt: now, UpdatedAt: now}
	ctx = audit.Record(ctx, audit.Event{ActorID: u.ActorID(), Action: audit.ActionUserCreate, TargetType: "user", TargetID: u.ActorID(),
		Detail: map[string]string{"platform_admin": "false", "signup": "verified"}})
	if err := s.signups.CompleteSignup(ctx, hash, u, now); err != nil {
		return Tokens{}, err
	}
	return s.open(ctx, u.ActorID(), "", nil, c, []string{AMRPassword})
}
