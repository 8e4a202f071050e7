package session

import (
	"context"
	"errors"

	"github.com/go-webauthn/webauthn/protocol"

	"github.com/tollgate/tollgate/audit"
	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/ids"
	"github.com/tollgate/tollgate/ratelimit"
)

// Reauth is the proof of presence removing a factor takes: exactly one
// of the password, a current code from the authenticator app, and a
// passkey's answer to a re-authentication ceremony
// (BeginPasskeyReauth). A stolen access token alone removes nothing.
type Reauth struct {
	Password string
	Code     string
	Passkey  []byte
}

// BeginPasskeyReauth starts a ceremony in which the session's user proves
// they hold one of their passkeys: the options for
// navigator.credentials.get, bound to this session.
func (s *Service) BeginPasskeyReauth(ctx context.Context, ac identity.ActorContext) (*protocol.CredentialAssertion, error) {
	wu, _, err := s.passkeyUser(ctx, ac)
	if err != nil {
		return nil, err
	}
	if len(wu.keys) == 0 {
		return nil, errPasskeyNotFound()
	}
	assertion, state, err := s.passkeys.RP.w.BeginLogin(wu)
	if err != nil {
		return nil, fault.Wrap(fault.Internal, CodeMFAUnavailable, err)
	}
	if err := s.saveCeremony(ctx, CeremonyReauth, wu.id, ac.SessionID, state); err != nil {
		return nil, err
	}
	return assertion, nil
}

// DeletePasskey removes one of the session's user's passkeys, given
// proof of presence (Reauth). Wrong proofs count against the account's
// sign-in limits, as at sign-in.
func (s *Service) DeletePasskey(ctx context.Context, ac identity.ActorContext, id string, proof Reauth, c Client) error {
	wu, u, err := s.passkeyUser(ctx, ac)
	if err != nil {
		return err
	}
	given := 0
	for _, v := range []bool{proof.Password != "", proof.Code != "", len(proof.Passkey) > 0} {
		if v {
			given++
		}
	}
	if given != 1 {
		return fault.Invalidf("password", CodeInvalidMFACode, "give exactly one of your password, a current code or a passkey")
	}
	if proof.Code != "" {
		if proof.Code, err = parseTOTPCode("code", proof.Code); err != nil {
			return err
		}
	} else if len(proof.Password) > maxPasswordInput {
		return fault.Invalidf("password", CodeInvalidPassword, "password is too long")
	}
	var assertion *protocol.ParsedCredentialAssertionData
	if len(proof.Passkey) > 0 {
		if assertion, err = parseAssertion("passkey", proof.Passkey); err != nil {
			return err
		}
	}
	if !ids.Valid(id) || !ownsPasskey(wu.keys, id) {
		return errPasskeyNotFound()
	}
	attempt := ratelimit.LoginAttempt{Account: accountKey(u.Email), IP: c.IP}
	if s.throttle != nil {
		if err := s.throttle.BeginLogin(ctx, attempt); err != nil {
			return err
		}
	}
	ok, err := s.reauthenticate(ctx, ac, wu, u, proof, assertion)
	if err != nil {
		return err
	}
	if !ok {
		if s.throttle != nil {
			s.throttle.LoginFailed(ctx, attempt)
		}
		switch {
		case proof.Code != "":
			return fault.Forbiddenf(CodeInvalidMFACode, "the code is wrong")
		case assertion != nil:
			return errPasskeyRefused()
		}
		return fault.Forbiddenf(CodeWrongPassword, "password is wrong")
	}
	ctx = audit.Record(ctx, audit.Event{ActorID: u.ActorID(), Action: audit.ActionMFAPasskeyDelete, TargetType: "user", TargetID: u.ActorID(),
		Detail: map[string]string{"factor": FactorWebAuthn, "passkey_id": id}})
	return s.passkeys.Store.DeletePasskey(ctx, u.ID, id)
}

func ownsPasskey(keys []Passkey, id string) bool {
	for _, p := range keys {
		if p.ID == id {
			return true
		}
	}
	return false
}

// reauthenticate checks the one proof given.
func (s *Service) reauthenticate(ctx context.Context, ac identity.ActorContext, wu webauthnUser, u identity.User, proof Reauth, assertion *protocol.ParsedCredentialAssertionData) (bool, error) {
	switch {
	case proof.Code != "":
		if s.mfa.Store == nil {
			return false, nil
		}
		return s.checkTOTP(ctx, u, proof.Code)
	case assertion != nil:
		_, state, err := s.takeCeremony(ctx, assertion.Response.CollectedClientData.Challenge, CeremonyReauth, ac.SessionID)
		if errors.Is(err, errCeremony) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		_, ok, err := s.verifyAssertion(ctx, wu, state, assertion)
		return ok, err
	}
	ok, _, err := s.hasher.Verify(ctx, proof.Password, u.PasswordHash)
	if err != nil && !errors.Is(err, fault.ErrUnavailable) {
		// An unreadable stored hash fails like a wrong password.
		err = nil
	}
	return ok, err
}
