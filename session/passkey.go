package session

import (
	"context"
	"time"

	"github.com/tollgate/tollgate/fault"
)

// FactorWebAuthn is a passkey or security key as a second factor: the
// challenge's factors list it when the user has one.
const FactorWebAuthn = "webauthn"

// Passkey is a WebAuthn credential of a user's: a passkey synced by a
// platform, or a key bound to one device.
type Passkey struct {
	ID     string
	UserID string
	// CredentialID is the authenticator's id for the key pair, unique
	// across users.
	CredentialID []byte
	// PublicKey is the credential's COSE public key.
	PublicKey []byte
	// SignCount is the authenticator's counter at its last use; 0 for
	// authenticators that do not count.
	SignCount uint32
	AAGUID    []byte
	// Transports are the client's hints for reaching the authenticator
	// ("usb", "internal", "hybrid", …).
	Transports []string
	// UserVerified: the authenticator verified the user (PIN, biometric)
	// at registration.
	UserVerified bool
	// BackupEligible: the key may leave the device (a synced passkey);
	// BackupState: it has.
	BackupEligible  bool
	BackupState     bool
	AttestationType string
	Name            string
	CreatedAt       time.Time
	LastUsedAt      *time.Time
}

// AMR is how a sign-in with p is named (RFC 8176 §2). "hwk" is a key
// bound to the hardware that holds it; a backup-eligible key may be
// copied off the device by a sync fabric, so it is named for what it
// may be, a software-secured key: "swk". The flag is the
// authenticator's own word: with "none" attestation nothing else
// vouches for the hardware.
func (p Passkey) AMR() string {
	if p.BackupEligible {
		return AMRSoftwareKey
	}
	return AMRHardwareKey
}

// CeremonyKind is what a WebAuthn ceremony is for.
type CeremonyKind string

const (
	// CeremonyRegister adds a passkey to a signed-in user.
	CeremonyRegister CeremonyKind = "register"
	// CeremonyReauth proves a signed-in user holds one of their passkeys,
	// before removing one.
	CeremonyReauth CeremonyKind = "reauth"
	// CeremonyMFA is a passkey as the second factor of a challenge.
	CeremonyMFA CeremonyKind = "mfa"
	// CeremonyEnrol registers a first factor with an enrolment
	// challenge, in a tenant that requires one.
	CeremonyEnrol CeremonyKind = "enrol"
	// CeremonyLogin is a passwordless sign-in: no user is known yet.
	CeremonyLogin CeremonyKind = "login"
)

// PasskeyCeremony is a WebAuthn ceremony begun and waiting for the
// authenticator's answer. It is stored under the hash of its challenge,
// which the answer's client data carries back, so any replica can finish
// it, once.
type PasskeyCeremony struct {
	Kind CeremonyKind
	// UserID is whose ceremony it is; "" for CeremonyLogin.
	UserID string
	// Binding is what must present the answer: the session id for
	// register and reauth, the hex hash of the mfa_token for mfa and
	// enrol, "" for login.
	Binding string
	// State is go-webauthn's SessionData, as JSON.
	State     []byte
	CreatedAt time.Time
	ExpiresAt time.Time
}

// PasskeyStore is what passkeys need of the store.
type PasskeyStore interface {
	// CreatePasskey stores p. Conflict "passkey_limit" when the user has
	// max passkeys already, "passkey_exists" when the credential id is
	// registered (to anyone); NotFound "user_not_found".
	CreatePasskey(ctx context.Context, p Passkey, max int) error
	// ListPasskeys returns the user's passkeys, oldest first.
	ListPasskeys(ctx context.Context, userID string) ([]Passkey, error)
	// RenamePasskey renames the user's passkey id. NotFound
	// "passkey_not_found" when the user has no such passkey.
	RenamePasskey(ctx context.Context, userID, id, name string) (Passkey, error)
	// DeletePasskey removes the user's passkey id (NotFound as Rename).
	DeletePasskey(ctx context.Context, userID, id string) error
	// UsePasskey records a use of the user's credential: its counter
	// becomes count and its backup state backupState. It reports false,
	// changing nothing, when the stored counter is not below count
	// unless both are 0 (an authenticator that does not count), so of
	// two uses of one signature at most one succeeds.
	UsePasskey(ctx context.Context, userID string, credentialID []byte, count uint32, backupState bool, now time.Time) (bool, error)
	// CreatePasskeyCeremony stores a ceremony under its challenge's hash.
	CreatePasskeyCeremony(ctx context.Context, c PasskeyCeremony, challengeHash []byte) error
	// TakePasskeyCeremony consumes a ceremony live at now, once. NotFound
	// "passkey_ceremony_invalid" when it is unknown, used or expired.
	TakePasskeyCeremony(ctx context.Context, challengeHash []byte, now time.Time) (PasskeyCeremony, error)
}

// PasskeyOptions configure passkeys. A Service without them refuses
// passkeys (mfa_unavailable) and lists no webauthn factor.
type PasskeyOptions struct {
	Store PasskeyStore
	// RP is the relying party ceremonies run for.
	RP *RelyingParty
	// CeremonyTTL is how long a ceremony waits for its answer; 0 is 5
	// minutes.
	CeremonyTTL time.Duration
}

// MaxPasskeysPerUser caps a user's passkeys: enough for a phone, a laptop
// and a few security keys, and a bound on the allow list every sign-in
// sends.
const MaxPasskeysPerUser = 10

// Bounds on what clients send, checked before anything is parsed.
const (
	// maxCredentialJSON bounds an authenticator's answer. A "none"
	// attestation is a few hundred bytes; a packed one with its
	// certificate chain a few KiB.
	maxCredentialJSON = 16 << 10
	// maxPasskeyName bounds a passkey's name, in bytes.
	maxPasskeyName = 64
)

func (s *Service) passkeysOn() bool { return s.passkeys.Store != nil && s.passkeys.RP != nil }

func errPasskeysUnavailable() error {
	return fault.Forbiddenf(CodeMFAUnavailable, "passkeys are not configured on this server")
}

func errPasskeyNotFound() error {
	return fault.NotFoundf(CodePasskeyNotFound, "no such passkey")
}

// errPasskeySignIn is every failed passwordless sign-in and every wrong
// passkey given to a challenge: unknown credential, unknown or disabled
// user, bad signature, wrong origin, replayed or expired ceremony,
// counter gone backwards. They look alike, so the answer reveals nothing
// about which accounts or credentials exist.
func errPasskeySignIn() error {
	return fault.Unauthenticatedf(CodeInvalidPasskey, "the passkey could not be verified; start again")
}

// errPasskeyRefused is a failed ceremony of a signed-in user's.
func errPasskeyRefused() error {
	return fault.Forbiddenf(CodeInvalidPasskey, "the passkey could not be verified; start again")
}
