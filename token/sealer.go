package token

import (
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"

	"golang.org/x/crypto/chacha20poly1305"

	"github.com/tollgate/tollgate/fault"
)

// MasterKeySize is the length in bytes of the key that seals signing keys.
const MasterKeySize = chacha20poly1305.KeySize

// sealVersion leads every sealed blob and is bound into the AAD, so that a
// future format (another AEAD, a rotated master key) can be told apart and a
// blob can never be reinterpreted under a different version.
const sealVersion byte = 1

// Sealer encrypts signing private keys at rest with the master key. A sealed
// blob is version(1) || nonce(24) || ciphertext+tag; the AAD is the version
// and the key id, so a blob copied onto another key's row fails to open.
type Sealer struct {
	aead cipher.AEAD
}

// NewSealer returns a Sealer for a MasterKeySize-byte master key.
func NewSealer(masterKey []byte) (*Sealer, error) {
	if len(masterKey) != MasterKeySize {
		return nil, fault.Invalidf("master_key", CodeInvalidMasterKey,
			"the master key must be %d bytes, got %d", MasterKeySize, len(masterKey))
	}
	aead, err := chacha20poly1305.NewX(masterKey)
	if err != nil {
		return nil, fault.Wrap(fault.Internal, CodeSealerInitFailed, err)
	}
	return &Sealer{aead: aead}, nil
}

func sealAAD(keyID string) []byte {
	return append([]byte{sealVersion}, keyID...)
}

// Seal encrypts plaintext for the key named keyID.
func (s *Sealer) Seal(keyID string, plaintext []byte) ([]byte, error) {
	ns := s.aead.NonceSize()
	out := make([]byte, 1+ns, 1+ns+len(plaintext)+s.aead.Overhead())
	out[0] = sealVersion
	// XChaCha's 192-bit nonce makes random nonces safe for any realistic
	// number of keys under one master key.
	if _, err := rand.Read(out[1:]); err != nil {
		return nil, fault.Wrap(fault.Internal, CodeSealFailed, err)
	}
	return s.aead.Seal(out, out[1:], plaintext, sealAAD(keyID)), nil
}

// Open decrypts a blob sealed for keyID. It fails for a wrong master key, a
// blob sealed for another key id, or any tampering.
func (s *Sealer) Open(keyID string, sealed []byte) ([]byte, error) {
	ns := s.aead.NonceSize()
	if len(sealed) < 1+ns+s.aead.Overhead() {
		return nil, unsealError(errors.New("sealed key is too short"))
	}
	if sealed[0] != sealVersion {
		return nil, unsealError(errors.New("unknown sealed key version"))
	}
	pt, err := s.aead.Open(nil, sealed[1:1+ns], sealed[1+ns:], sealAAD(keyID))
	if err != nil {
		return nil, unsealError(err)
	}
	return pt, nil
}

func unsealError(cause error) *fault.Error {
	return &fault.Error{
		Kind: fault.Internal, Code: CodeKeyUnsealFailed,
		Detail: "a signing key could not be decrypted; is the master key the one it was sealed with?",
		Err:    cause,
	}
}

// ParseMasterKey decodes a master key written as base64 (standard or
// URL-safe, padded or not) or as 64 hex digits. Surrounding white space is
// ignored. Errors never include the input, since it is a secret.
func ParseMasterKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	// 64 hex digits are also valid base64 (of 48 bytes), so hex goes first.
	if len(s) == 2*MasterKeySize {
		if b, err := hex.DecodeString(s); err == nil {
			return b, nil
		}
	}
	for _, enc := range []*base64.Encoding{
		base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding,
	} {
		b, err := enc.DecodeString(s)
		if err != nil {
			continue
		}
		if len(b) != MasterKeySize {
			return nil, fault.Invalidf("master_key", CodeInvalidMasterKey,
				"the master key must decode to %d bytes, got %d (generate one with: openssl rand -base64 32)",
				MasterKeySize, len(b))
		}
		return b, nil
	}
	return nil, fault.Invalidf("master_key", CodeInvalidMasterKey,
		"the master key must be base64 or hex of %d random bytes (generate one with: openssl rand -base64 32)",
		MasterKeySize)
}

// GenerateMasterKey returns a new random master key, base64 encoded.
func GenerateMasterKey() string {
	b := make([]byte, MasterKeySize)
	_, _ = rand.Read(b) // crypto/rand.Read never fails since Go 1.24; it crashes instead.
	return base64.StdEncoding.EncodeToString(b)
}
