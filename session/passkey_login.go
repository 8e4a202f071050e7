package session

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/ids"
	"github.com/tollgate/tollgate/ratelimit"
)

// ReasonBadPasskey: a passwordless sign-in's passkey did not verify.
const ReasonBadPasskey = "bad_passkey"

// maxUserHandle bounds the user handle of an answer; Tollgate's are user
// ids, WebAuthn's at most 64 bytes.
const maxUserHandle = 64

// BeginPasskeyLogin starts a passwordless sign-in: the options for
// navigator.credentials.get with no allow list, so the authenticator
// offers the discoverable passkeys it holds for this relying party. User
// verification is required: the passkey is then two factors at once.
func (s *Service) BeginPasskeyLogin(ctx context.Context) (*protocol.CredentialAssertion, error) {
	if !s.passkeysOn() {
		return nil, errPasskeysUnavailable()
	}
	assertion, state, err := s.passkeys.RP.w.BeginDiscoverableLogin(webauthn.WithUserVerification(protocol.VerificationRequired))
	if err != nil {
		return nil, fault.Wrap(fault.Internal, CodeMFAUnavailable, err)
	}
	if err := s.saveCeremony(ctx, CeremonyLogin, "", "", state); err != nil {
		return nil, err
	}
	return assertion, nil
}

// PasskeyLoginRequest is the input of FinishPasskeyLogin: the
// authenticator's answer and, as at Login, the tenant to sign in to.
type PasskeyLoginRequest struct {
	Credential []byte
	Tenant     string
	Client     Client
}

// FinishPasskeyLogin signs in with a discoverable passkey, finding the
// user by the answer's user handle, and records it as Login does. The
// session's amr is the key's and "mfa": a passkey verified the user
// (PIN or biometric) on a device they hold, so it satisfies a tenant that
// requires MFA. Every failure gives the same answer and counts against
// the same sign-in limits as a wrong password.
func (s *Service) FinishPasskeyLogin(ctx context.Context, req PasskeyLoginRequest) (Tokens, error) {
	var note loginNote
	t, err := s.passkeyLogin(ctx, req, &note)
	s.auditLogin(ctx, note, t, err)
	s.recordOutcome(err)
	return t, err
}

func (s *Service) passkeyLogin(ctx context.Context, req PasskeyLoginRequest, note *loginNote) (Tokens, error) {
	if !s.passkeysOn() {
		return Tokens{}, errPasskeysUnavailable()
	}
	parsed, err := parseAssertion("credential", req.Credential)
	if err != nil {
		return Tokens{}, err
	}
	handle := parsed.Response.UserHandle
	u, known, err := s.userByHandle(ctx, handle)
	if err != nil {
		return Tokens{}, err
	}
	// The account key is the address's when the handle names a user, so
	// passkeys and passwords share its failures; else the handle's, so
	// an unknown handle is throttled as an unknown address is.
	attempt := ratelimit.LoginAttempt{Account: handleKey(handle), IP: req.Client.IP}
	if known {
		attempt.Account = accountKey(u.Email)
		note.email, note.actorID = u.Email, u.ActorID()
	}
	if s.throttle != nil {
		if err := s.throttle.BeginLogin(ctx, attempt); err != nil {
			if errors.Is(err, fault.ErrRateLimited) {
				note.reason = ReasonThrottled
			}
			return Tokens{}, err
		}
	}
	key, reason, err := s.checkPasswordless(ctx, parsed, u, known)
	if err != nil {
		return Tokens{}, err
	}
	if reason != "" {
		note.reason = reason
		if s.throttle != nil {
			s.throttle.LoginFailed(ctx, attempt)
		}
		return Tokens{}, errPasskeySignIn()
	}
	if s.throttle != nil {
		s.throttle.LoginSucceeded(ctx, attempt)
	}
	tenant, roles, err := s.pickTenant(ctx, u.ActorID(), req.Tenant)
	if err != nil {
		if fault.KindOf(err) == fault.Forbidden {
			note.reason = ReasonTenantDenied
		}
		return Tokens{}, err
	}
	return s.open(ctx, u.ActorID(), tenant.ID, roles, req.Client, []string{key.AMR(), AMRMultiFactor})
}

// userByHandle finds the user a user handle names, if any.
func (s *Service) userByHandle(ctx context.Context, handle []byte) (identity.User, bool, error) {
	if len(handle) == 0 || len(handle) > maxUserHandle || !ids.Valid(string(handle)) {
		return identity.User{}, false, nil
	}
	u, err := s.identities.GetUser(ctx, string(handle))
	if errors.Is(err, fault.ErrNotFound) {
		return identity.User{}, false, nil
	}
	return u, err == nil, err
}

// checkPasswordless verifies a passwordless answer of u's; a failure is
// its audit reason. The ceremony is consumed first, whoever answers.
func (s *Service) checkPasswordless(ctx context.Context, parsed *protocol.ParsedCredentialAssertionData, u identity.User, known bool) (Passkey, string, error) {
	_, state, err := s.takeCeremony(ctx, parsed.Response.CollectedClientData.Challenge, CeremonyLogin, "")
	if errors.Is(err, errCeremony) {
		if !known {
			return Passkey{}, ReasonUnknownAccount, nil
		}
		return Passkey{}, ReasonBadPasskey, nil
	}
	if err != nil {
		return Passkey{}, "", err
	}
	switch {
	case !known:
		return Passkey{}, ReasonUnknownAccount, nil
	case u.Status != identity.UserActive:
		return Passkey{}, ReasonDisabled, nil
	}
	keys, err := s.passkeys.Store.ListPasskeys(ctx, u.ID)
	if err != nil {
		return Passkey{}, "", err
	}
	wu := webauthnUser{id: u.ID, name: u.Email, keys: keys}
	_, cred, err := s.passkeys.RP.w.ValidatePasskeyLogin(func(_, _ []byte) (webauthn.User, error) { return wu, nil }, state, parsed)
	if err != nil {
		return Passkey{}, ReasonBadPasskey, nil
	}
	key, ok, err := s.recordUse(ctx, wu, cred)
	if err != nil {
		return Passkey{}, "", err
	}
	if !ok {
		return Passkey{}, ReasonBadPasskey, nil
	}
	return key, "", nil
}

// handleKey names an unknown user handle in the rate limiter, as
// accountKey names an address.
func handleKey(handle []byte) string {
	sum := sha256.Sum256(append([]byte("passkey user handle\x00"), handle...))
	return "acct:" + hex.EncodeToString(sum[:16])
}
