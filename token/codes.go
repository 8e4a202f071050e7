package token

import "github.com/tollgate/tollgate/fault"

// Error codes of access tokens and signing keys. docs/errors.md describes each;
// a code never changes meaning once released.
const (
	// Tokens.

	// The access token cannot be accepted (malformed, expired, unknown key,
	// wrong claims …); all look the same.
	CodeInvalidToken fault.Code = "invalid_token"
	// An access token could not be signed; what clients see of any signing
	// failure.
	CodeSigningFailed fault.Code = "signing_failed"
	// The signature operation itself failed.
	CodeTokenSigningFailed fault.Code = "token_signing_failed"
	// A token to sign has missing claims or too long a lifetime.
	CodeTokenClaimsInvalid fault.Code = "token_claims_invalid"

	// Signing keys.

	// A token was to be signed before the keys were loaded.
	CodeSigningKeysNotLoaded fault.Code = "signing_keys_not_loaded"
	// The store holds no signing key and none may be generated now.
	CodeNoSigningKeys fault.Code = "no_signing_keys"
	// A stored signing key is unusable.
	CodeSigningKeyInvalid fault.Code = "signing_key_invalid"
	// The signing algorithm is neither EdDSA nor ES256.
	CodeUnsupportedAlgorithm fault.Code = "unsupported_algorithm"
	// A new signing key's id collided with an existing one.
	CodeKeyExists fault.Code = "key_exists"
	// A signing key to prune was already deleted.
	CodeKeyNotFound         fault.Code = "key_not_found"
	CodeKeyGenerationFailed fault.Code = "key_generation_failed"
	// The master key is not base64 or hex of exactly 32 bytes.
	CodeInvalidMasterKey fault.Code = "invalid_master_key"
	// A signing key could not be decrypted with the master key.
	CodeKeyUnsealFailed fault.Code = "key_unseal_failed"
	// Encrypting a new private key failed.
	CodeSealFailed fault.Code = "seal_failed"
	// The cipher for the master key could not be set up.
	CodeSealerInitFailed fault.Code = "sealer_init_failed"
	// The JWK Set could not be encoded.
	CodeJWKSEncodingFailed fault.Code = "jwks_encoding_failed"
)
