package session

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/tollgate/tollgate/fault"
)

// A ceremony's life: saved when begun, taken once when answered, the
// answer bounded and parsed, an assertion verified and its use recorded.

// hashChallenge is the key a ceremony is stored under.
func hashChallenge(challenge string) []byte {
	sum := sha256.Sum256([]byte("tollgate webauthn challenge\x00" + challenge))
	return sum[:]
}

// saveCeremony stores the state go-webauthn began a ceremony with.
func (s *Service) saveCeremony(ctx context.Context, kind CeremonyKind, userID, binding string, state *webauthn.SessionData) error {
	data, err := json.Marshal(state)
	if err != nil {
		return err
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	return s.passkeys.Store.CreatePasskeyCeremony(ctx, PasskeyCeremony{
		Kind: kind, UserID: userID, Binding: binding, State: data, CreatedAt: now, ExpiresAt: now.Add(s.passkeys.CeremonyTTL),
	}, hashChallenge(state.Challenge))
}

// errCeremony is a ceremony that is unknown, used, expired, or not the
// caller's; the callers answer it each in their own way.
var errCeremony = errors.New("no such passkey ceremony")

// takeCeremony consumes the ceremony challenge names, which must be of
// kind and bound to binding. Consumed first, it is used up whether or not
// the answer then verifies: a challenge is signed at most once.
func (s *Service) takeCeremony(ctx context.Context, challenge string, kind CeremonyKind, binding string) (PasskeyCeremony, webauthn.SessionData, error) {
	var state webauthn.SessionData
	if challenge == "" {
		return PasskeyCeremony{}, state, errCeremony
	}
	c, err := s.passkeys.Store.TakePasskeyCeremony(ctx, hashChallenge(challenge), s.now())
	if errors.Is(err, fault.ErrNotFound) {
		return PasskeyCeremony{}, state, errCeremony
	}
	if err != nil {
		return PasskeyCeremony{}, state, err
	}
	if c.Kind != kind || c.Binding != binding {
		return PasskeyCeremony{}, state, errCeremony
	}
	if err := json.Unmarshal(c.State, &state); err != nil {
		return PasskeyCeremony{}, state, err
	}
	return c, state, nil
}

// parseAssertion bounds and parses an authenticator's answer to a
// sign-in or re-authentication ceremony.
func parseAssertion(field string, raw []byte) (*protocol.ParsedCredentialAssertionData, error) {
	if len(raw) == 0 || len(raw) > maxCredentialJSON {
		return nil, fault.Invalidf(field, CodeInvalidPasskey, "%s must be the passkey's answer, at most %d bytes of JSON", field, maxCredentialJSON)
	}
	p, err := protocol.ParseCredentialRequestResponseBytes(raw)
	if err != nil {
		return nil, fault.Invalidf(field, CodeInvalidPasskey, "%s is not a WebAuthn assertion", field)
	}
	return p, nil
}

// parseAttestation bounds and parses an authenticator's answer to a
// registration.
func parseAttestation(field string, raw []byte) (*protocol.ParsedCredentialCreationData, error) {
	if len(raw) == 0 || len(raw) > maxCredentialJSON {
		return nil, fault.Invalidf(field, CodeInvalidPasskey, "%s must be the passkey's answer, at most %d bytes of JSON", field, maxCredentialJSON)
	}
	p, err := protocol.ParseCredentialCreationResponseBytes(raw)
	if err != nil {
		return nil, fault.Invalidf(field, CodeInvalidPasskey, "%s is not a WebAuthn attestation", field)
	}
	return p, nil
}

// verifyAssertion checks an assertion of u's against the ceremony's state
// and records the use. It reports the passkey used, or ok false when the
// assertion does not verify or its counter went backwards (a cloned
// authenticator, or a replay), which is logged.
func (s *Service) verifyAssertion(ctx context.Context, u webauthnUser, state webauthn.SessionData, p *protocol.ParsedCredentialAssertionData) (Passkey, bool, error) {
	cred, err := s.passkeys.RP.w.ValidateLogin(u, state, p)
	if err != nil {
		return Passkey{}, false, nil
	}
	return s.recordUse(ctx, u, cred)
}

// recordUse stores the counter of a verified assertion. go-webauthn flags
// a counter that did not move forward; that is refused here, and
// UsePasskey refuses again under concurrency.
func (s *Service) recordUse(ctx context.Context, u webauthnUser, cred *webauthn.Credential) (Passkey, bool, error) {
	var key Passkey
	for _, p := range u.keys {
		if string(p.CredentialID) == string(cred.ID) {
			key = p
		}
	}
	if cred.Authenticator.CloneWarning {
		s.log.WarnContext(ctx, "passkey counter did not advance: refusing a possibly cloned authenticator", "user", u.id, "passkey", key.ID)
		return Passkey{}, false, nil
	}
	used, err := s.passkeys.Store.UsePasskey(ctx, u.id, cred.ID, cred.Authenticator.SignCount, cred.Flags.BackupState, s.now().UTC().Truncate(time.Microsecond))
	if err != nil || !used {
		if err == nil {
			s.log.WarnContext(ctx, "passkey counter did not advance: refusing a possibly cloned authenticator", "user", u.id, "passkey", key.ID)
		}
		return Passkey{}, false, err
	}
	return key, true, nil
}
