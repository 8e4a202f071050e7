package session

import (
	"context"
	"encoding/hex"
	"errors"

	"github.com/go-webauthn/webauthn/protocol"
)

// BeginPasskeyEnrolment starts registering a passkey with the challenge
// of a sign-in into a tenant that requires a second factor the user has
// not got (Login's ChallengeError with Enrol), as StartTOTPEnrolment
// starts an app's: the options for navigator.credentials.create.
func (s *Service) BeginPasskeyEnrolment(ctx context.Context, token string) (*protocol.CredentialCreation, error) {
	hash, wu, err := s.challengePasskeys(ctx, token, true)
	if err != nil {
		return nil, err
	}
	return s.beginRegistration(ctx, wu, CeremonyEnrol, hex.EncodeToString(hash))
}

// challengePasskeys opens a sign-in's challenge (one of Enrol's when
// enrol) for a passkey ceremony, which needs passkeys on, and returns the
// challenge's hash and its user with their passkeys.
func (s *Service) challengePasskeys(ctx context.Context, token string, enrol bool) ([]byte, webauthnUser, error) {
	if !s.passkeysOn() {
		return nil, webauthnUser{}, errPasskeysUnavailable()
	}
	hash, _, u, err := s.openChallenge(ctx, token, enrol)
	if err != nil {
		return nil, webauthnUser{}, err
	}
	keys, err := s.passkeys.Store.ListPasskeys(ctx, u.ID)
	if err != nil {
		return nil, webauthnUser{}, err
	}
	return hash, webauthnUser{id: u.ID, name: u.Email, keys: keys}, nil
}

// ConfirmPasskeyEnrolment stores the passkey BeginPasskeyEnrolment's
// ceremony registered and finishes the sign-in with it: the passkey is
// the second factor, so amr is the password's, the key's and mfa. A
// wrong answer counts as a wrong code does at ConfirmTOTPEnrolment.
func (s *Service) ConfirmPasskeyEnrolment(ctx context.Context, token, name string, credential []byte, c Client) (Tokens, error) {
	var note loginNote
	t, err := s.confirmPasskeyEnrolment(ctx, token, name, credential, c, &note)
	s.auditLogin(ctx, note, t, err)
	s.recordOutcome(err)
	return t, err
}

func (s *Service) confirmPasskeyEnrolment(ctx context.Context, token, name string, credential []byte, cl Client, note *loginNote) (Tokens, error) {
	if !s.passkeysOn() {
		return Tokens{}, errPasskeysUnavailable()
	}
	name, err := checkPasskeyName(name)
	if err != nil {
		return Tokens{}, err
	}
	parsed, err := parseAttestation("credential", credential)
	if err != nil {
		return Tokens{}, err
	}
	hash, ch, u, err := s.openChallenge(ctx, token, true)
	if err != nil {
		return Tokens{}, err
	}
	note.email, note.actorID = u.Email, u.ActorID()
	attempt, err := s.beginSecondFactor(ctx, u, cl, note)
	if err != nil {
		return Tokens{}, err
	}
	_, state, err := s.takeCeremony(ctx, parsed.Response.CollectedClientData.Challenge, CeremonyEnrol, hex.EncodeToString(hash))
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
	p, err := s.createPasskey(ctx, webauthnUser{id: u.ID, name: u.Email, keys: keys}, u, name, state, parsed)
	if errors.Is(err, errAttestation) {
		return Tokens{}, s.secondFactorFailed(ctx, hash, attempt, note, errPasskeySignIn())
	}
	if err != nil {
		return Tokens{}, err
	}
	return s.finish(ctx, hash, ch, u, p.AMR(), attempt, cl)
}
