package token

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"fmt"

	"github.com/tollgate/tollgate/fault"
)

// jwk is an RFC 7517 public key (RFC 8037 for OKP, RFC 7518 for EC).
type jwk struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Y   string `json:"y,omitempty"`
	Kid string `json:"kid"`
	Alg string `json:"alg"`
	Use string `json:"use"`
}

type jwkSet struct {
	Keys []jwk `json:"keys"`
}

// buildJWKS renders the published keys once per snapshot, so that serving
// /.well-known/jwks.json costs nothing.
func buildJWKS(keys []*VerificationKey) ([]byte, error) {
	set := jwkSet{Keys: make([]jwk, 0, len(keys))}
	for _, k := range keys {
		j := jwk{Kid: k.id, Alg: k.alg, Use: "sig"}
		switch p := k.pub.(type) {
		case ed25519.PublicKey:
			j.Kty, j.Crv, j.X = "OKP", "Ed25519", base64.RawURLEncoding.EncodeToString(p)
		case *ecdsa.PublicKey:
			// Uncompressed point: 0x04 || X || Y, each 32 bytes on P-256.
			b, err := p.Bytes()
			if err != nil || len(b) != 65 {
				return nil, badKey(k.id, fmt.Errorf("encoding the EC public key: %v", err))
			}
			j.Kty, j.Crv = "EC", "P-256"
			j.X = base64.RawURLEncoding.EncodeToString(b[1:33])
			j.Y = base64.RawURLEncoding.EncodeToString(b[33:])
		default:
			return nil, badKey(k.id, fmt.Errorf("unsupported public key type %T", k.pub))
		}
		set.Keys = append(set.Keys, j)
	}
	b, err := json.Marshal(set)
	if err != nil {
		return nil, fault.Wrap(fault.Internal, CodeJWKSEncodingFailed, err)
	}
	return b, nil
}
