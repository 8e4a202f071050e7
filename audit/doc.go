// Package audit is Tollgate's security audit log: append-only,
// tamper-evident streams of events, one per tenant and one for the
// platform.
//
// Each event is hash-chained to its predecessor in its stream:
// Hash = SHA-256(PrevHash || Canonical(event)), where the canonical form
// holds the stream and the sequence number, so that editing, deleting,
// reordering or inserting an event breaks a link that Verify names.
// Digests signed with Ed25519 anchor a stream's head at a point in time, so
// that a wholesale rewrite of the chain (which anyone with write access to
// the database could compute) is still found.
//
// The package owns the rules; storage implements Store (store/sqlstore for
// SQLite and PostgreSQL) and the digest key is a token.Keyring of its own.
package audit
