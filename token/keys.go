package token

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/tollgate/tollgate/fault"
)

// Signing algorithms. A key keeps the algorithm it was generated with; the
// configured algorithm applies to keys generated from then on.
const (
	AlgEdDSA = "EdDSA"
	AlgES256 = "ES256"
)

// VerificationKey is a parsed public key, immutable. Snapshots reuse the
// same pointer for the same key material, so the verified-token cache can
// tell "still the key that verified this token" by pointer equality.
type VerificationKey struct {
	id  string
	alg string
	der []byte
	pub crypto.PublicKey // ed25519.PublicKey or *ecdsa.PublicKey on P-256
}

// NewVerificationKey returns the key kid that verifies tokens signed with
// alg: AlgEdDSA with an ed25519.PublicKey, or AlgES256 with an
// *ecdsa.PublicKey on P-256, a valid point. The key holds a copy of pub.
//
// A KeySource must return the same *VerificationKey for as long as a kid's
// material is unchanged: make a new one only for new material.
func NewVerificationKey(kid, alg string, pub crypto.PublicKey) (*VerificationKey, error) {
	if kid == "" {
		return nil, errors.New("verification key: no kid")
	}
	switch p := pub.(type) {
	case ed25519.PublicKey:
		if alg != AlgEdDSA {
			return nil, fmt.Errorf("verification key %s: an Ed25519 key for %q", kid, alg)
		}
		if len(p) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("verification key %s: Ed25519 key of %d bytes", kid, len(p))
		}
		pub = ed25519.PublicKey(bytes.Clone(p))
	case *ecdsa.PublicKey:
		// Bytes panics on a key without a point; the fields are only read.
		//lint:ignore SA1019 no other way to tell a zero PublicKey
		if p == nil || p.Curve != elliptic.P256() || p.X == nil || p.Y == nil {
			return nil, fmt.Errorf("verification key %s: not a P-256 key", kid)
		}
		if alg != AlgES256 {
			return nil, fmt.Errorf("verification key %s: a P-256 key for %q", kid, alg)
		}
		// Bytes fails for an invalid key; parsing again copies the point
		// and rejects one off the curve.
		b, err := p.Bytes()
		if err != nil {
			return nil, fmt.Errorf("verification key %s: %w", kid, err)
		}
		if pub, err = ecdsa.ParseUncompressedPublicKey(elliptic.P256(), b); err != nil {
			return nil, fmt.Errorf("verification key %s: %w", kid, err)
		}
	default:
		return nil, fmt.Errorf("verification key %s: unsupported public key type %T", kid, pub)
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("verification key %s: %w", kid, err)
	}
	return &VerificationKey{id: kid, alg: alg, der: der, pub: pub}, nil
}

// ID is the key's kid.
func (k *VerificationKey) ID() string { return k.id }

// Algorithm is AlgEdDSA or AlgES256, the only alg the key verifies.
func (k *VerificationKey) Algorithm() string { return k.alg }

// PublicKey is an ed25519.PublicKey or an *ecdsa.PublicKey on P-256; it
// must not be modified.
func (k *VerificationKey) PublicKey() crypto.PublicKey { return k.pub }

// signingKey is a decrypted private key and when it may start signing.
type signingKey struct {
	id         string
	method     jwt.SigningMethod
	priv       crypto.Signer // ed25519.PrivateKey or *ecdsa.PrivateKey
	activeFrom time.Time
}

// newKeyID returns 128 random bits, base64url: opaque and never reused, so a
// kid always names one key material, even after its key is pruned. (An
// RFC 7638 thumbprint would add nothing: keys are looked up by id anyway.)
func newKeyID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func methodFor(alg string) (jwt.SigningMethod, error) {
	switch alg {
	case AlgEdDSA:
		return jwt.SigningMethodEdDSA, nil
	case AlgES256:
		return jwt.SigningMethodES256, nil
	}
	return nil, fault.Invalidf("signing_algorithm", CodeUnsupportedAlgorithm,
		"unsupported signing algorithm %q: use %s or %s", alg, AlgEdDSA, AlgES256)
}

// generateKey creates a key pair and seals its private half.
func generateKey(alg string, sealer *Sealer, now time.Time) (StoredKey, error) {
	if _, err := methodFor(alg); err != nil {
		return StoredKey{}, err
	}
	var pub, priv any
	var err error
	if alg == AlgEdDSA {
		pub, priv, err = ed25519.GenerateKey(rand.Reader)
	} else {
		var k *ecdsa.PrivateKey
		k, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		pub, priv = &k.PublicKey, k
	}
	if err != nil {
		return StoredKey{}, fault.Wrap(fault.Internal, CodeKeyGenerationFailed, err)
	}
	pubDER, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return StoredKey{}, fault.Wrap(fault.Internal, CodeKeyGenerationFailed, err)
	}
	privDER, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return StoredKey{}, fault.Wrap(fault.Internal, CodeKeyGenerationFailed, err)
	}
	id := newKeyID()
	sealed, err := sealer.Seal(id, privDER)
	if err != nil {
		return StoredKey{}, err
	}
	return StoredKey{
		ID: id, Algorithm: alg, PublicKey: pubDER, SealedPrivateKey: sealed,
		// Stores keep microseconds; truncating here keeps the ordering this
		// process sees equal to the one it reads back.
		CreatedAt: now.UTC().Truncate(time.Microsecond),
	}, nil
}

func badKey(id string, cause error) *fault.Error {
	return &fault.Error{
		Kind: fault.Internal, Code: CodeSigningKeyInvalid,
		Detail: "signing key " + id + " is unusable", Err: cause,
	}
}

// parsePublicKey parses k's public key, reusing prev when it holds the same
// key material.
func parsePublicKey(k StoredKey, prev *VerificationKey) (*VerificationKey, error) {
	if prev != nil && prev.alg == k.Algorithm && bytes.Equal(prev.der, k.PublicKey) {
		return prev, nil
	}
	pub, err := x509.ParsePKIXPublicKey(k.PublicKey)
	if err != nil {
		return nil, badKey(k.ID, err)
	}
	switch p := pub.(type) {
	case ed25519.PublicKey:
		if k.Algorithm != AlgEdDSA {
			return nil, badKey(k.ID, fmt.Errorf("an Ed25519 key is stored as %q", k.Algorithm))
		}
	case *ecdsa.PublicKey:
		if k.Algorithm != AlgES256 || p.Curve != elliptic.P256() {
			return nil, badKey(k.ID, fmt.Errorf("an ECDSA %s key is stored as %q", p.Curve.Params().Name, k.Algorithm))
		}
	default:
		return nil, badKey(k.ID, fmt.Errorf("unsupported public key type %T", pub))
	}
	return &VerificationKey{id: k.ID, alg: k.Algorithm, der: bytes.Clone(k.PublicKey), pub: pub}, nil
}

// openPrivateKey unseals k's private key and checks it belongs to vk, so a
// mixed-up row can never sign tokens that the published key rejects.
func openPrivateKey(k StoredKey, vk *VerificationKey, sealer *Sealer, activeFrom time.Time) (*signingKey, error) {
	der, err := sealer.Open(k.ID, k.SealedPrivateKey)
	if err != nil {
		return nil, err
	}
	priv, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, badKey(k.ID, err)
	}
	signer, ok := priv.(crypto.Signer)
	if !ok {
		return nil, badKey(k.ID, fmt.Errorf("unsupported private key type %T", priv))
	}
	pub, ok := signer.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(vk.pub) {
		return nil, badKey(k.ID, errors.New("the private key does not match the public key"))
	}
	method, err := methodFor(k.Algorithm)
	if err != nil {
		return nil, badKey(k.ID, err)
	}
	return &signingKey{id: k.ID, method: method, priv: signer, activeFrom: activeFrom}, nil
}
