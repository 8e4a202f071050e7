package session

import (
	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
)

// RelyingParty is the WebAuthn relying party Tollgate is: the domain
// passkeys are bound to and the web origins that may run ceremonies.
type RelyingParty struct {
	w *webauthn.WebAuthn
}

// NewRelyingParty checks and builds a relying party. id is a registrable
// domain (no scheme, no port); every origin is a scheme://host[:port]
// whose host is id or under it (config checks that, naming the settings).
func NewRelyingParty(id, name string, origins []string) (*RelyingParty, error) {
	w, err := webauthn.New(&webauthn.Config{
		RPID: id, RPDisplayName: name, RPOrigins: origins,
		AttestationPreference: protocol.PreferNoAttestation,
	})
	if err != nil {
		return nil, err
	}
	return &RelyingParty{w: w}, nil
}

// webauthnUser is a user as go-webauthn sees them. The user handle is
// the user id: opaque, never the address, and what a discoverable
// sign-in finds the user by.
type webauthnUser struct {
	id, name string
	keys     []Passkey
}

func (u webauthnUser) WebAuthnID() []byte          { return []byte(u.id) }
func (u webauthnUser) WebAuthnName() string        { return u.name }
func (u webauthnUser) WebAuthnDisplayName() string { return u.name }

func (u webauthnUser) WebAuthnCredentials() []webauthn.Credential {
	out := make([]webauthn.Credential, 0, len(u.keys))
	for _, p := range u.keys {
		out = append(out, p.credential())
	}
	return out
}

// credential is p as go-webauthn verifies assertions against it.
func (p Passkey) credential() webauthn.Credential {
	var flags protocol.AuthenticatorFlags = protocol.FlagUserPresent
	if p.UserVerified {
		flags |= protocol.FlagUserVerified
	}
	if p.BackupEligible {
		flags |= protocol.FlagBackupEligible
	}
	if p.BackupState {
		flags |= protocol.FlagBackupState
	}
	transports := make([]protocol.AuthenticatorTransport, 0, len(p.Transports))
	for _, t := range p.Transports {
		transports = append(transports, protocol.AuthenticatorTransport(t))
	}
	return webauthn.Credential{
		ID: p.CredentialID, PublicKey: p.PublicKey, AttestationType: p.AttestationType,
		Transport: transports, Flags: webauthn.NewCredentialFlags(flags),
		Authenticator: webauthn.Authenticator{AAGUID: p.AAGUID, SignCount: p.SignCount},
	}
}
