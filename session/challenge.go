package session

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/tollgate/tollgate/audit"
	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/ratelimit"
)

// ReasonBadMFACode: the password was right, the second factor wrong.
const ReasonBadMFACode = "bad_mfa_code"

// needsSecondFactor reports whether a sign-in of u into t needs a second
// factor, and the factors u has to give.
func (s *Service) needsSecondFactor(ctx context.Context, u identity.User, t identity.Tenant) (need bool, factors []string, err error) {
	if s.mfa.Store == nil {
		return false, nil, nil
	}
	f, err := s.mfa.Store.GetTOTP(ctx, u.ID)
	if err != nil && !errors.Is(err, fault.ErrNotFound) {
		return false, nil, err
	}
	if err == nil && f.Status == TOTPActive {
		factors = append(factors, FactorTOTP, FactorRecoveryCode)
	}
	if s.passkeysOn() {
		keys, err := s.passkeys.Store.ListPasskeys(ctx, u.ID)
		if err != nil {
			return false, nil, err
		}
		if len(keys) > 0 {
			factors = append(factors, FactorWebAuthn)
		}
	}
	return len(factors) > 0 || t.MFA == identity.MFARequired, factors, nil
}

// challenge stores a challenge for u's sign-in into tenantID and returns
// it as Login's answer: one to enrol a factor with when u has none.
func (s *Service) challenge(ctx context.Context, u identity.User, tenantID string, factors []string) error {
	enrol := len(factors) == 0
	now := s.now().UTC().Truncate(time.Microsecond)
	raw, hash := identity.NewLinkToken(identity.MFATokenPrefix)
	c := Challenge{UserID: u.ID, TenantID: tenantID, AMR: []string{AMRPassword}, Enrol: enrol, CreatedAt: now, ExpiresAt: now.Add(s.mfa.ChallengeTTL)}
	if err := s.mfa.Store.CreateChallenge(ctx, c, hash); err != nil {
		return err
	}
	return &ChallengeError{Token: raw, ExpiresIn: s.mfa.ChallengeTTL, Enrol: enrol, Factors: factors}
}

// openChallenge reads the challenge raw names, with its user, refusing a
// used, expired or exhausted one, one of a disabled user, and one of the
// wrong kind (enrol or not).
func (s *Service) openChallenge(ctx context.Context, raw string, enrol bool) ([]byte, Challenge, identity.User, error) {
	if s.mfa.Store == nil {
		return nil, Challenge{}, identity.User{}, errMFAUnavailable()
	}
	hash, err := identity.ParseLinkToken(raw, identity.MFATokenPrefix, "mfa_token", CodeInvalidMFAToken)
	if err != nil {
		return nil, Challenge{}, identity.User{}, err
	}
	c, err := s.mfa.Store.GetChallenge(ctx, hash, s.now())
	if err != nil {
		return nil, Challenge{}, identity.User{}, err
	}
	if c.Attempts >= maxChallengeAttempts || c.Enrol != enrol {
		return nil, Challenge{}, identity.User{}, errInvalidMFAToken()
	}
	u, err := s.identities.GetUser(ctx, c.UserID)
	if errors.Is(err, fault.ErrNotFound) || err == nil && u.Status != identity.UserActive {
		return nil, Challenge{}, identity.User{}, errInvalidMFAToken()
	}
	return hash, c, u, err
}

// MFARequest is the input of CompleteMFA: the challenge and exactly one
// of a code from the authenticator app, a recovery code and a passkey's
// answer to the challenge's ceremony (BeginPasskeyMFA).
type MFARequest struct {
	Token        string
	Code         string
	RecoveryCode string
	Passkey      []byte
	Client       Client
}

// CompleteMFA finishes a sign-in Login challenged, and records it as
// Login does. Wrong codes count against the challenge (a few burn it)
// and against the sign-in limits of the account and address, so codes
// cannot be guessed faster than passwords.
func (s *Service) CompleteMFA(ctx context.Context, req MFARequest) (Tokens, error) {
	var note loginNote
	t, err := s.completeMFA(ctx, req, &note)
	s.auditLogin(ctx, note, t, err)
	s.recordOutcome(err)
	return t, err
}

func (s *Service) completeMFA(ctx context.Context, req MFARequest, note *loginNote) (Tokens, error) {
	if len(req.Passkey) > 0 {
		if req.Code != "" || req.RecoveryCode != "" {
			return Tokens{}, fault.Invalidf("code", CodeInvalidMFACode, "give one of code, recovery_code and webauthn")
		}
		return s.completeWithPasskey(ctx, req, note)
	}
	if (req.Code == "") == (req.RecoveryCode == "") {
		return Tokens{}, fault.Invalidf("code", CodeInvalidMFACode, "give either code or recovery_code")
	}
	hash, c, u, err := s.openChallenge(ctx, req.Token, false)
	if err != nil {
		return Tokens{}, err
	}
	var code, amr string
	var recovery []byte
	if req.Code != "" {
		code, amr = req.Code, AMROTP
		if code, err = parseTOTPCode("code", code); err != nil {
			return Tokens{}, err
		}
	} else if recovery, err = parseRecoveryCode(u.ID, req.RecoveryCode); err != nil {
		return Tokens{}, err
	}
	note.email, note.actorID = u.Email, u.ActorID()
	attempt, err := s.beginSecondFactor(ctx, u, req.Client, note)
	if err != nil {
		return Tokens{}, err
	}
	var ok bool
	if recovery != nil {
		// A recovery code is something the user has, as the app is;
		// RFC 8176 has no closer value than otp for it.
		amr = AMROTP
		rctx := audit.Record(ctx, audit.Event{ActorID: u.ActorID(), Action: audit.ActionMFARecoveryUse, TargetType: "user", TargetID: u.ActorID()})
		ok, err = s.mfa.Store.UseRecoveryCode(rctx, u.ID, recovery, s.now().UTC().Truncate(time.Microsecond))
	} else {
		ok, err = s.checkTOTP(ctx, u, code)
	}
	if err != nil {
		return Tokens{}, err
	}
	if !ok {
		return Tokens{}, s.secondFactorFailed(ctx, hash, attempt, note, errWrongCode())
	}
	return s.finish(ctx, hash, c, u, amr, attempt, req.Client)
}

// beginSecondFactor asks the sign-in throttle to admit a second-factor
// attempt of u's.
func (s *Service) beginSecondFactor(ctx context.Context, u identity.User, c Client, note *loginNote) (ratelimit.LoginAttempt, error) {
	attempt := ratelimit.LoginAttempt{Account: accountKey(u.Email), IP: c.IP}
	if s.throttle != nil {
		if err := s.throttle.BeginLogin(ctx, attempt); err != nil {
			if errors.Is(err, fault.ErrRateLimited) {
				note.reason = ReasonThrottled
			}
			return attempt, err
		}
	}
	return attempt, nil
}

// secondFactorFailed charges a wrong factor to the challenge and to the
// sign-in limits, and answers wrong.
func (s *Service) secondFactorFailed(ctx context.Context, hash []byte, attempt ratelimit.LoginAttempt, note *loginNote, wrong error) error {
	note.reason = ReasonBadMFACode
	if s.throttle != nil {
		s.throttle.LoginFailed(ctx, attempt)
	}
	if err := s.mfa.Store.FailChallenge(ctx, hash); err != nil {
		return err
	}
	return wrong
}

// finish uses the challenge and opens the session it was for. The
// tenant is chosen again: membership or the tenant's status may have
// changed while the challenge waited.
func (s *Service) finish(ctx context.Context, hash []byte, c Challenge, u identity.User, factor string, attempt ratelimit.LoginAttempt, cl Client) (Tokens, error) {
	if err := s.mfa.Store.UseChallenge(ctx, hash, s.now()); err != nil {
		return Tokens{}, err
	}
	if s.throttle != nil {
		s.throttle.LoginSucceeded(ctx, attempt)
	}
	t, roles, err := s.pickTenant(ctx, u.ActorID(), c.TenantID)
	if err != nil {
		return Tokens{}, err
	}
	amr := append(slices.Clone(c.AMR), factor, AMRMultiFactor)
	return s.open(ctx, u.ActorID(), t.ID, roles, cl, amr)
}

// StartTOTPEnrolment begins enrolling an authenticator app with the
// challenge of a sign-in into a tenant that requires a second factor the
// user has not got (Login's ChallengeError with Enrol).
func (s *Service) StartTOTPEnrolment(ctx context.Context, token string) (TOTPEnrolment, error) {
	_, _, u, err := s.openChallenge(ctx, token, true)
	if err != nil {
		return TOTPEnrolment{}, err
	}
	return s.startTOTP(ctx, u)
}

// ConfirmTOTPEnrolment confirms the enrolment StartTOTPEnrolment began
// with a code from the app and finishes the sign-in: it returns the
// session's tokens and the recovery codes, shown this once. Wrong codes
// count as at CompleteMFA.
func (s *Service) ConfirmTOTPEnrolment(ctx context.Context, token, code string, c Client) (Tokens, []string, error) {
	var note loginNote
	t, codes, err := s.confirmEnrolment(ctx, token, code, c, &note)
	s.auditLogin(ctx, note, t, err)
	s.recordOutcome(err)
	return t, codes, err
}

func (s *Service) confirmEnrolment(ctx context.Context, token, code string, c Client, note *loginNote) (Tokens, []string, error) {
	hash, ch, u, err := s.openChallenge(ctx, token, true)
	if err != nil {
		return Tokens{}, nil, err
	}
	if _, err := parseTOTPCode("code", code); err != nil {
		return Tokens{}, nil, err
	}
	note.email, note.actorID = u.Email, u.ActorID()
	attempt, err := s.beginSecondFactor(ctx, u, c, note)
	if err != nil {
		return Tokens{}, nil, err
	}
	codes, err := s.confirmTOTP(ctx, u, code)
	if errors.Is(err, errCodeWrong) {
		return Tokens{}, nil, s.secondFactorFailed(ctx, hash, attempt, note, errWrongCode())
	}
	if err != nil {
		return Tokens{}, nil, err
	}
	t, err := s.finish(ctx, hash, ch, u, AMROTP, attempt, c)
	return t, codes, err
}

// hasMFA reports whether amr says more than one factor was checked.
func hasMFA(amr []string) bool { return slices.Contains(amr, AMRMultiFactor) }

// admits reports whether a session signed in as amr may be in tenant t:
// a tenant that requires MFA admits only sessions that used it.
func admits(t identity.Tenant, amr []string) bool {
	return t.MFA != identity.MFARequired || hasMFA(amr)
}

// amrString is amr as the audit log shows it.
func amrString(amr []string) string { return strings.Join(amr, " ") }
