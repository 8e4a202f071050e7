// Package token issues and verifies Tollgate's access tokens: JWTs (RFC 9068
// profile, typ "at+jwt") signed with EdDSA or ES256 keys that live in the
// store, their private halves sealed with the master key.
//
// A Keyring is one process's view of the keys. It publishes every key whose
// tokens may still be alive, so a rotation never breaks a token in flight,
// and follows rotations by other processes through Refresh. Key ids are
// random and never reused. Keys are only ever taken from the store: headers
// such as jku, jwk or x5u are ignored.
//
// A Verifier checks signature, header and claims, and caches the result per
// token. A cache hit re-checks the time claims and that the verifying key is
// still published, but never revocation: callers check the session id.
package token
