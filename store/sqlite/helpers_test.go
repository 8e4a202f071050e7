package sqlite_test

import (
	"time"

	"github.com/tollgate/tollgate/token"
)

func storetestKey() token.StoredKey {
	return token.StoredKey{
		ID: "k1", Algorithm: "EdDSA", PublicKey: []byte{1}, SealedPrivateKey: []byte{2},
		CreatedAt: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC),
	}
}
