package session

import (
	"context"
	"errors"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/tollgate/tollgate/audit"
	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/ids"
)

// passkeyUser is the user a session belongs to, with their passkeys:
// passkeys are managed by their owner only, in a session, never with a
// key or a delegated token.
func (s *Service) passkeyUser(ctx context.Context, ac identity.ActorContext) (webauthnUser, identity.User, error) {
	if err := ac.RequireSession(); err != nil {
		return webauthnUser{}, identity.User{}, err
	}
	if !s.passkeysOn() {
		return webauthnUser{}, identity.User{}, errPasskeysUnavailable()
	}
	id, _ := strings.CutPrefix(ac.ActorID, identity.UserActorPrefix)
	u, err := s.identities.GetUser(ctx, id)
	if err != nil {
		return webauthnUser{}, identity.User{}, err
	}
	keys, err := s.passkeys.Store.ListPasskeys(ctx, u.ID)
	if err != nil {
		return webauthnUser{}, identity.User{}, err
	}
	return webauthnUser{id: u.ID, name: u.Email, keys: keys}, u, nil
}

// BeginPasskeyRegistration starts adding a passkey to the session's user:
// it returns the options for navigator.credentials.create. The
// ceremony is bound to this session and lasts CeremonyTTL.
func (s *Service) BeginPasskeyRegistration(ctx context.Context, ac identity.ActorContext) (*protocol.CredentialCreation, error) {
	wu, _, err := s.passkeyUser(ctx, ac)
	if err != nil {
		return nil, err
	}
	return s.beginRegistration(ctx, wu, CeremonyRegister, ac.SessionID)
}

// beginRegistration starts a registration ceremony of wu's, bound to
// binding.
func (s *Service) beginRegistration(ctx context.Context, wu webauthnUser, kind CeremonyKind, binding string) (*protocol.CredentialCreation, error) {
	if len(wu.keys) >= MaxPasskeysPerUser {
		return nil, errPasskeyLimit()
	}
	exclude := make([]protocol.CredentialDescriptor, 0, len(wu.keys))
	for _, p := range wu.keys {
		c := p.credential()
		exclude = append(exclude, c.Descriptor())
	}
	// A discoverable credential can sign in without a password; a key
	// that cannot hold one still serves as a second factor.
	creation, state, err := s.passkeys.RP.w.BeginRegistration(wu,
		webauthn.WithExclusions(exclude),
		webauthn.WithAuthenticatorSelection(protocol.AuthenticatorSelection{
			ResidentKey: protocol.ResidentKeyRequirementPreferred, UserVerification: protocol.VerificationPreferred,
		}))
	if err != nil {
		return nil, fault.Wrap(fault.Internal, CodeMFAUnavailable, err)
	}
	if err := s.saveCeremony(ctx, kind, wu.id, binding, state); err != nil {
		return nil, err
	}
	return creation, nil
}

func errPasskeyLimit() error {
	return fault.Conflictf(CodePasskeyLimit, "you have %d passkeys, the most allowed; remove one first", MaxPasskeysPerUser)
}

// FinishPasskeyRegistration verifies the authenticator's answer to the
// session's registration ceremony and stores the passkey as name.
func (s *Service) FinishPasskeyRegistration(ctx context.Context, ac identity.ActorContext, name string, credential []byte) (Passkey, error) {
	wu, u, err := s.passkeyUser(ctx, ac)
	if err != nil {
		return Passkey{}, err
	}
	if name, err = checkPasskeyName(name); err != nil {
		return Passkey{}, err
	}
	parsed, err := parseAttestation("credential", credential)
	if err != nil {
		return Passkey{}, err
	}
	c, state, err := s.takeCeremony(ctx, parsed.Response.CollectedClientData.Challenge, CeremonyRegister, ac.SessionID)
	if errors.Is(err, errCeremony) || err == nil && c.UserID != u.ID {
		return Passkey{}, errPasskeyRefused()
	}
	if err != nil {
		return Passkey{}, err
	}
	p, err := s.createPasskey(ctx, wu, u, name, state, parsed)
	if errors.Is(err, errAttestation) {
		return Passkey{}, errPasskeyRefused()
	}
	return p, err
}

// errAttestation is an answer to a registration that does not verify;
// the callers answer it each in their own way.
var errAttestation = errors.New("the attestation does not verify")

// createPasskey verifies a registration's answer against its ceremony
// and stores the passkey, audited.
func (s *Service) createPasskey(ctx context.Context, wu webauthnUser, u identity.User, name string, state webauthn.SessionData, parsed *protocol.ParsedCredentialCreationData) (Passkey, error) {
	cred, err := s.passkeys.RP.w.CreateCredential(wu, state, parsed)
	if err != nil {
		return Passkey{}, errAttestation
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	p := Passkey{
		ID: ids.NewAt(now), UserID: u.ID, CredentialID: cred.ID, PublicKey: cred.PublicKey,
		SignCount: cred.Authenticator.SignCount, AAGUID: cred.Authenticator.AAGUID,
		UserVerified: cred.Flags.UserVerified, BackupEligible: cred.Flags.BackupEligible, BackupState: cred.Flags.BackupState,
		AttestationType: cred.AttestationType, Name: name, CreatedAt: now,
	}
	for _, t := range cred.Transport {
		p.Transports = append(p.Transports, string(t))
	}
	ctx = audit.Record(ctx, audit.Event{ActorID: u.ActorID(), Action: audit.ActionMFAPasskeyRegister, TargetType: "user", TargetID: u.ActorID(),
		Detail: map[string]string{"factor": FactorWebAuthn, "passkey_id": p.ID}})
	if err := s.passkeys.Store.CreatePasskey(ctx, p, MaxPasskeysPerUser); err != nil {
		return Passkey{}, err
	}
	return p, nil
}

// checkPasskeyName trims a passkey's name; "" names it "Passkey".
func checkPasskeyName(name string) (string, error) {
	if len(name) > maxPasskeyName*4 {
		return "", errPasskeyName()
	}
	name = strings.TrimSpace(name)
	if name == "" {
		return "Passkey", nil
	}
	if len(name) > maxPasskeyName || !utf8.ValidString(name) || strings.ContainsFunc(name, unicode.IsControl) {
		return "", errPasskeyName()
	}
	return name, nil
}

func errPasskeyName() error {
	return fault.Invalidf("name", CodeInvalidPasskeyName, "name must be at most %d bytes of printable text", maxPasskeyName)
}

// ListPasskeys returns the session's user's passkeys.
func (s *Service) ListPasskeys(ctx context.Context, ac identity.ActorContext) ([]Passkey, error) {
	wu, _, err := s.passkeyUser(ctx, ac)
	return wu.keys, err
}

// RenamePasskey renames one of the session's user's passkeys.
func (s *Service) RenamePasskey(ctx context.Context, ac identity.ActorContext, id, name string) (Passkey, error) {
	wu, _, err := s.passkeyUser(ctx, ac)
	if err != nil {
		return Passkey{}, err
	}
	if !ids.Valid(id) {
		return Passkey{}, errPasskeyNotFound()
	}
	if name, err = checkPasskeyName(name); err != nil {
		return Passkey{}, err
	}
	return s.passkeys.Store.RenamePasskey(ctx, wu.id, id, name)
}
