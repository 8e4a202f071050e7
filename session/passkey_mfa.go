package session

import (
	"context"
	"encoding/hex"
	"errors"

	"github.com/go-webauthn/webauthn/protocol"

	"github.com/tollgate/tollgate/fault"
)

// BeginPasskeyMFA starts a passkey ceremony for a sign-in's challenge:
// the options for navigator.credentials.get, allowing the user's
// passkeys. The answer goes to CompleteMFA with the same mfa_token.
func (s *Service) BeginPasskeyMFA(ctx context.Context, token string) (*protocol.CredentialAssertion, error) {
	hash, wu, err := s.challengePasskeys(ctx, token, false)
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
	if err := s.saveCeremony(ctx, CeremonyMFA, wu.id, hex.EncodeToString(hash), state); err != nil {
		return nil, err
	}
	return assertion, nil
}

// completeWithPasskey finishes a challenge with a passkey's answer. A
// wrong answer, a replayed or another challenge's ceremony, and a
// counter gone backwards all count as a wrong code does.
func (s *Service) completeWithPasskey(ctx context.Context, req MFARequest, note *loginNote) (Tokens, error) {
	if !s.passkeysOn() {
		return Tokens{}, errPasskeysUnavailable()
	}
	parsed, err := parseAssertion("webauthn", req.Passkey)
	if err != nil {
		return Tokens{}, err
	}
	hash, c, u, err := s.openChallenge(ctx, req.Token, false)
	if err != nil {
		return Tokens{}, err
	}
	note.email, note.actorID = u.Email, u.ActorID()
	attempt, err := s.beginSecondFactor(ctx, u, req.Client, note)
	if err != nil {
		return Tokens{}, err
	}
	_, state, err := s.takeCeremony(ctx, parsed.Response.CollectedClientData.Challenge, CeremonyMFA, hex.EncodeToString(hash))
	if errors.Is(err, errCeremony) {
		return Tokens{}, s.secondFactorFailed(ctx, hash, attempt, note, errPasskeySignIn())
	}
	if err != nil {
		return Tokens{}, err
	}
	keys, err := s.passkeys.Store.ListPasskeys(ctx, u.ID)
	if err != nil {
		return Tokens{}, err
	}
	key, ok, err := s.verifyAssertion(ctx, webauthnUser{id: u.ID, name: u.Email, keys: keys}, state, parsed)
	if err != nil {
		return Tokens{}, err
	}
	if !ok {
		return Tokens{}, s.secondFactorFailed(ctx, hash, attempt, note, errPasskeySignIn())
	}
	return s.finish(ctx, hash, c, u, key.AMR(), attempt, req.Client)
}
