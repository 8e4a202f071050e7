package token

import (
	"crypto/ed25519"
	"errors"
	"testing"

	"github.com/tollgate/tollgate/fault"
)

// TestSignMessage signs a message that holds the key id, as audit digests
// do, and refuses keys that are not Ed25519.
func TestSignMessage(t *testing.T) {
	fx := newFixture(t, AlgEdDSA)
	var built string
	kid, sig, err := fx.kr.SignMessage(func(kid string) []byte {
		built = "msg for " + kid
		return []byte(built)
	})
	if err != nil {
		t.Fatal(err)
	}
	vk, ok := fx.kr.snap.Load().keys[kid]
	if !ok || built != "msg for "+kid || !ed25519.Verify(vk.pub.(ed25519.PublicKey), []byte(built), sig) {
		t.Fatalf("signature of %q by %s does not verify", built, kid)
	}

	_, _, err = newFixture(t, AlgES256).kr.SignMessage(func(string) []byte { return nil })
	if !errors.Is(err, &fault.Error{Code: CodeUnsupportedAlgorithm}) {
		t.Fatalf("ES256 SignMessage: %v", err)
	}
	if _, _, err := NewKeyring(newMemStore(), fx.sealer, KeyringOptions{}).SignMessage(func(string) []byte { return nil }); !errors.Is(err, &fault.Error{Code: CodeSigningKeysNotLoaded}) {
		t.Fatalf("unloaded SignMessage: %v", err)
	}
}
