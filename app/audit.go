package app

import (
	"context"
	"fmt"

	"github.com/tollgate/tollgate/audit"
	"github.com/tollgate/tollgate/token"
)

// NewAuditKeyring loads the audit digest keys: a token.Keyring of its own
// over the store's audit key table, always Ed25519, creating the first key
// on an empty store. It rotates like the token keyring, but its keys are
// never pruned: every digest they signed stays to be verified.
func NewAuditKeyring(ctx context.Context, st audit.Store, masterKey []byte) (*token.Keyring, error) {
	sealer, err := token.NewSealer(masterKey)
	if err != nil {
		return nil, err
	}
	kr := token.NewKeyring(st.AuditKeyStore(), sealer, token.KeyringOptions{Algorithm: token.AlgEdDSA})
	if err := kr.Load(ctx); err != nil {
		return nil, fmt.Errorf("loading audit digest keys: %w", err)
	}
	return kr, nil
}
