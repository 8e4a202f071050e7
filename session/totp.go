package session

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/tollgate/tollgate/audit"
	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/ids"
	"github.com/tollgate/tollgate/ratelimit"
)

// TOTPEnrolment is what starting an enrolment shows, once: the secret and
// the otpauth URI an authenticator app reads from a QR code.
type TOTPEnrolment struct {
	Secret string
	URI    string
}

func errMFAUnavailable() error {
	return fault.Forbiddenf(CodeMFAUnavailable, "second factors are not configured on this server")
}

// sessionUser is the user a session belongs to; second factors are
// managed by their owner only, in a session, never with a key.
func (s *Service) sessionUser(ctx context.Context, ac identity.ActorContext) (identity.User, error) {
	if err := ac.RequireSession(); err != nil {
		return identity.User{}, err
	}
	if s.mfa.Store == nil {
		return identity.User{}, errMFAUnavailable()
	}
	id, _ := strings.CutPrefix(ac.ActorID, identity.UserActorPrefix)
	return s.identities.GetUser(ctx, id)
}

// StartTOTP begins enrolling an authenticator app for the session's user,
// replacing an enrolment not yet confirmed. The factor counts only once
// ConfirmTOTP has seen a code from it.
func (s *Service) StartTOTP(ctx context.Context, ac identity.ActorContext) (TOTPEnrolment, error) {
	u, err := s.sessionUser(ctx, ac)
	if err != nil {
		return TOTPEnrolment{}, err
	}
	return s.startTOTP(ctx, u)
}

func (s *Service) startTOTP(ctx context.Context, u identity.User) (TOTPEnrolment, error) {
	key, err := totp.Generate(totp.GenerateOpts{
		Issuer: s.mfa.Issuer, AccountName: u.Email, Period: totpPeriod, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1,
	})
	if err != nil {
		return TOTPEnrolment{}, fault.Wrap(fault.Internal, CodeMFAUnavailable, err)
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	// The seal id names this secret alone: a sealed blob copied onto
	// another factor's row does not open.
	sealID := "totp_secret:" + ids.NewAt(now)
	sealed, err := s.mfa.Sealer.Seal(sealID, []byte(key.Secret()))
	if err != nil {
		return TOTPEnrolment{}, err
	}
	ctx = audit.Record(ctx, audit.Event{ActorID: u.ActorID(), Action: audit.ActionMFAEnrolStart, TargetType: "user", TargetID: u.ActorID(),
		Detail: map[string]string{"factor": FactorTOTP}})
	if err := s.mfa.Store.PutPendingTOTP(ctx, TOTPFactor{
		UserID: u.ID, SealID: sealID, Secret: sealed, Status: TOTPPending, CreatedAt: now,
	}); err != nil {
		return TOTPEnrolment{}, err
	}
	return TOTPEnrolment{Secret: key.Secret(), URI: key.URL()}, nil
}

// ConfirmTOTP makes the session's user's pending authenticator app a
// factor, given a code from it, and returns the recovery codes — shown
// this once, stored hashed, replacing any earlier ones.
func (s *Service) ConfirmTOTP(ctx context.Context, ac identity.ActorContext, code string) ([]string, error) {
	u, err := s.sessionUser(ctx, ac)
	if err != nil {
		return nil, err
	}
	codes, err := s.confirmTOTP(ctx, u, code)
	if errors.Is(err, errCodeWrong) {
		return nil, fault.Forbiddenf(CodeInvalidMFACode, "the code is wrong")
	}
	return codes, err
}

// errCodeWrong is confirmTOTP's wrong code, which its callers report
// each in their own way.
var errCodeWrong = errors.New("wrong code")

func (s *Service) confirmTOTP(ctx context.Context, u identity.User, code string) ([]string, error) {
	c, err := parseTOTPCode("code", code)
	if err != nil {
		return nil, err
	}
	f, err := s.mfa.Store.GetTOTP(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	if f.Status != TOTPPending {
		return nil, fault.Conflictf(CodeTOTPAlreadyEnabled, "your authenticator app is enrolled already")
	}
	secret, err := s.mfa.Sealer.Open(f.SealID, f.Secret)
	if err != nil {
		return nil, err
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	step, ok := matchStep(string(secret), c, now)
	if !ok {
		return nil, errCodeWrong
	}
	codes, hashes := newRecoveryCodes(u.ID)
	ctx = audit.Record(ctx, audit.Event{ActorID: u.ActorID(), Action: audit.ActionMFAEnrol, TargetType: "user", TargetID: u.ActorID(),
		Detail: map[string]string{"factor": FactorTOTP}})
	// The confirming code's step is used: it cannot sign in too.
	if err := s.mfa.Store.ActivateTOTP(ctx, u.ID, step, hashes, now); err != nil {
		return nil, err
	}
	return codes, nil
}

// checkTOTP reports whether code is right for u's active factor now, and
// uses its time step so that it is not right again.
func (s *Service) checkTOTP(ctx context.Context, u identity.User, code string) (bool, error) {
	f, err := s.mfa.Store.GetTOTP(ctx, u.ID)
	if errors.Is(err, fault.ErrNotFound) {
		return false, nil
	}
	if err != nil || f.Status != TOTPActive {
		return false, err
	}
	secret, err := s.mfa.Sealer.Open(f.SealID, f.Secret)
	if err != nil {
		return false, err
	}
	step, ok := matchStep(string(secret), code, s.now())
	if !ok || step <= f.LastStep {
		return false, nil
	}
	return s.mfa.Store.UseTOTPStep(ctx, u.ID, step)
}

// DisableTOTP removes the session's user's authenticator app and recovery
// codes and ends their other sessions, as a password change does: a
// session opened with the factor must not outlive it. It takes a current
// code or the password (reauthenticate).
func (s *Service) DisableTOTP(ctx context.Context, ac identity.ActorContext, code, password string, c Client) error {
	u, err := s.sessionUser(ctx, ac)
	if err != nil {
		return err
	}
	if _, err := s.reauthenticateTOTP(ctx, u, code, password, c); err != nil {
		return err
	}
	ctx = audit.Record(ctx, audit.Event{ActorID: u.ActorID(), Action: audit.ActionMFADisable, TargetType: "user", TargetID: u.ActorID(),
		Detail: map[string]string{"factor": FactorTOTP}})
	now := s.now().UTC().Truncate(time.Microsecond)
	revoked, err := s.mfa.Store.DeleteTOTP(ctx, u.ID, ac.SessionID, now)
	if err != nil {
		return err
	}
	s.revoked(ctx, now, revoked...)
	return nil
}

// RegenerateRecoveryCodes replaces the session's user's recovery codes
// with new ones, shown this once; the old ones stop working. It needs an
// active authenticator app and, as disabling it does, a current code or
// the password: a stolen session alone must not mint codes.
func (s *Service) RegenerateRecoveryCodes(ctx context.Context, ac identity.ActorContext, code, password string, c Client) ([]string, error) {
	u, err := s.sessionUser(ctx, ac)
	if err != nil {
		return nil, err
	}
	f, err := s.reauthenticateTOTP(ctx, u, code, password, c)
	if err != nil {
		return nil, err
	}
	if f.Status != TOTPActive {
		return nil, fault.NotFoundf(CodeTOTPNotEnrolled, "you have no authenticator app enrolled")
	}
	codes, hashes := newRecoveryCodes(u.ID)
	ctx = audit.Record(ctx, audit.Event{ActorID: u.ActorID(), Action: audit.ActionMFARecoveryRegenerate, TargetType: "user", TargetID: u.ActorID(),
		Detail: map[string]string{"factor": FactorRecoveryCode}})
	if err := s.mfa.Store.ReplaceRecoveryCodes(ctx, u.ID, hashes); err != nil {
		return nil, err
	}
	return codes, nil
}

// reauthenticateTOTP checks that the session's person is present: a current
// code from their authenticator app (of a pending enrolment, which it
// cancels) or their password. Wrong ones count against the account's
// sign-in limits, as at sign-in. It returns the user's factor.
func (s *Service) reauthenticateTOTP(ctx context.Context, u identity.User, code, password string, c Client) (TOTPFactor, error) {
	if (code == "") == (password == "") {
		return TOTPFactor{}, fault.Invalidf("code", CodeInvalidMFACode, "give either a current code or your password")
	}
	var err error
	if code != "" {
		if code, err = parseTOTPCode("code", code); err != nil {
			return TOTPFactor{}, err
		}
	} else if len(password) > maxPasswordInput {
		return TOTPFactor{}, fault.Invalidf("password", CodeInvalidPassword, "password is too long")
	}
	f, err := s.mfa.Store.GetTOTP(ctx, u.ID)
	if err != nil {
		return TOTPFactor{}, err
	}
	attempt := ratelimit.LoginAttempt{Account: accountKey(u.Email), IP: c.IP}
	if s.throttle != nil {
		if err := s.throttle.BeginLogin(ctx, attempt); err != nil {
			return TOTPFactor{}, err
		}
	}
	var ok bool
	switch {
	case code != "" && f.Status == TOTPActive:
		ok, err = s.checkTOTP(ctx, u, code)
	case code != "":
		// A pending enrolment is cancelled with a code from it.
		var secret []byte
		if secret, err = s.mfa.Sealer.Open(f.SealID, f.Secret); err == nil {
			_, ok = matchStep(string(secret), code, s.now())
		}
	default:
		ok, _, err = s.hasher.Verify(ctx, password, u.PasswordHash)
		if err != nil && !errors.Is(err, fault.ErrUnavailable) {
			// An unreadable stored hash fails like a wrong password.
			err = nil
		}
	}
	if err != nil {
		return TOTPFactor{}, err
	}
	if !ok {
		if s.throttle != nil {
			s.throttle.LoginFailed(ctx, attempt)
		}
		if code != "" {
			return TOTPFactor{}, fault.Forbiddenf(CodeInvalidMFACode, "the code is wrong")
		}
		return TOTPFactor{}, fault.Forbiddenf(CodeWrongPassword, "password is wrong")
	}
	return f, nil
}
