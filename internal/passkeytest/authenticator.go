// Package passkeytest is a software WebAuthn authenticator for tests: an
// ECDSA P-256 key pair that answers registration and sign-in options
// with "none" attestation and real signatures, so that ceremonies run end
// to end through go-webauthn's verification. It plays the browser too:
// it writes the client data a browser at Origin would.
package passkeytest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"

	"github.com/fxamacker/cbor/v2"
)

// Authenticator flags (WebAuthn §6.1).
const (
	flagUserPresent    = 0x01
	flagUserVerified   = 0x04
	flagBackupEligible = 0x08
	flagBackupState    = 0x10
	flagAttestedData   = 0x40
)

// Authenticator holds one credential. Its fields may be changed between
// ceremonies to misbehave.
type Authenticator struct {
	// Origin is the web origin the client data names.
	Origin string
	// RPID, when set, overrides the relying party id the options name,
	// as a phishing site's would.
	RPID string
	// Counting authenticators raise Count before each assertion; others
	// always send 0.
	Counting bool
	Count    uint32
	// UserVerified sets the UV flag; Synced the backup flags.
	UserVerified bool
	Synced       bool
	// CredentialID and UserHandle are set by Register.
	CredentialID []byte
	UserHandle   []byte
	key          *ecdsa.PrivateKey
}

// New returns a counting, user-verifying, device-bound authenticator
// used from origin.
func New(origin string) *Authenticator {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err) // crypto/rand does not fail
	}
	id := make([]byte, 32)
	_, _ = rand.Read(id)
	return &Authenticator{Origin: origin, Counting: true, UserVerified: true, key: key, CredentialID: id}
}

var b64 = base64.RawURLEncoding

// options is what the authenticator reads of creation or request
// options.
type options struct {
	PublicKey struct {
		Challenge string `json:"challenge"`
		RPID      string `json:"rpId"`
		RP        struct {
			ID string `json:"id"`
		} `json:"rp"`
		User struct {
			ID string `json:"id"`
		} `json:"user"`
	} `json:"publicKey"`
}

func parseOptions(raw []byte) (options, error) {
	var o options
	if err := json.Unmarshal(raw, &o); err != nil {
		return o, fmt.Errorf("passkeytest: options: %w", err)
	}
	return o, nil
}

// Register answers PublicKeyCredentialCreationOptions ({"publicKey": …})
// with a new credential, as navigator.credentials.create would.
func (a *Authenticator) Register(optionsJSON []byte) ([]byte, error) {
	o, err := parseOptions(optionsJSON)
	if err != nil {
		return nil, err
	}
	if a.UserHandle, err = b64.DecodeString(o.PublicKey.User.ID); err != nil {
		return nil, fmt.Errorf("passkeytest: user id: %w", err)
	}
	clientData := a.clientData("webauthn.create", o.PublicKey.Challenge)
	authData := a.authData(o.PublicKey.RP.ID, flagAttestedData, 0)
	authData = append(authData, make([]byte, 16)...) // AAGUID: none
	authData = binary.BigEndian.AppendUint16(authData, uint16(len(a.CredentialID)))
	authData = append(authData, a.CredentialID...)
	cose, err := a.coseKey()
	if err != nil {
		return nil, err
	}
	authData = append(authData, cose...)
	att, err := cbor.Marshal(map[string]any{"fmt": "none", "attStmt": map[string]any{}, "authData": authData})
	if err != nil {
		return nil, err
	}
	return json.Marshal(map[string]any{
		"id": b64.EncodeToString(a.CredentialID), "rawId": b64.EncodeToString(a.CredentialID), "type": "public-key",
		"response": map[string]any{
			"clientDataJSON": b64.EncodeToString(clientData), "attestationObject": b64.EncodeToString(att),
			"transports": []string{"internal"},
		},
	})
}

// Assert answers PublicKeyCredentialRequestOptions ({"publicKey": …})
// with a signed assertion, as navigator.credentials.get would.
func (a *Authenticator) Assert(optionsJSON []byte) ([]byte, error) {
	o, err := parseOptions(optionsJSON)
	if err != nil {
		return nil, err
	}
	if a.Counting {
		a.Count++
	}
	clientData := a.clientData("webauthn.get", o.PublicKey.Challenge)
	authData := a.authData(o.PublicKey.RPID, 0, a.Count)
	hash := sha256.Sum256(clientData)
	digest := sha256.Sum256(append(authData, hash[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, a.key, digest[:])
	if err != nil {
		return nil, err
	}
	return json.Marshal(map[string]any{
		"id": b64.EncodeToString(a.CredentialID), "rawId": b64.EncodeToString(a.CredentialID), "type": "public-key",
		"response": map[string]any{
			"clientDataJSON": b64.EncodeToString(clientData), "authenticatorData": b64.EncodeToString(authData),
			"signature": b64.EncodeToString(sig), "userHandle": b64.EncodeToString(a.UserHandle),
		},
	})
}

func (a *Authenticator) clientData(typ, challenge string) []byte {
	b, _ := json.Marshal(map[string]any{"type": typ, "challenge": challenge, "origin": a.Origin, "crossOrigin": false})
	return b
}

// authData is the fixed part of authenticator data: rpIdHash, flags,
// counter.
func (a *Authenticator) authData(rpID string, flags byte, count uint32) []byte {
	if a.RPID != "" {
		rpID = a.RPID
	}
	h := sha256.Sum256([]byte(rpID))
	flags |= flagUserPresent
	if a.UserVerified {
		flags |= flagUserVerified
	}
	if a.Synced {
		flags |= flagBackupEligible | flagBackupState
	}
	out := append(h[:], flags)
	return binary.BigEndian.AppendUint32(out, count)
}

// coseKey is the public key as a COSE_Key (RFC 9053): EC2, ES256, P-256.
func (a *Authenticator) coseKey() ([]byte, error) {
	pub, err := a.key.PublicKey.ECDH()
	if err != nil {
		return nil, err
	}
	point := pub.Bytes() // 0x04 || X || Y
	return cbor.Marshal(map[int]any{1: 2, 3: -7, -1: 1, -2: point[1:33], -3: point[33:65]})
}
