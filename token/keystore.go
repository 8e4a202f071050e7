package token

import (
	"context"
	"time"
)

// StoredKey is a signing key as persisted: the private half is sealed with
// the master key (see Sealer) and never stored in the clear.
type StoredKey struct {
	ID        string // the JWT "kid"
	Algorithm string // "EdDSA" or "ES256"
	PublicKey []byte // PKIX DER
	// SealedPrivateKey is the PKCS#8 DER private key sealed by the master key.
	SealedPrivateKey []byte
	CreatedAt        time.Time
}

// KeyStore persists signing keys. Keys are never updated; rotation inserts
// a newer one and pruning deletes ones no token can still need.
type KeyStore interface {
	// InsertSigningKey: Conflict "key_exists" on a duplicate id.
	InsertSigningKey(ctx context.Context, k StoredKey) error
	// ListSigningKeys returns every key, newest first.
	ListSigningKeys(ctx context.Context) ([]StoredKey, error)
	// DeleteSigningKey removes one key. NotFound "key_not_found".
	DeleteSigningKey(ctx context.Context, id string) error
}
