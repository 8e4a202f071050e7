package audit

import "github.com/tollgate/tollgate/fault"

// Error codes of the audit log. docs/errors.md describes each; a code never
// changes meaning once released.
const (
	// An event to append breaks a rule of the event model (a field too
	// long, not UTF-8, a bad outcome …); Field names it.
	CodeInvalidEvent fault.Code = "audit_event_invalid"
	// A batch to append holds more than MaxBatch events.
	CodeBatchTooLarge fault.Code = "audit_batch_too_large"
	// Internal: two writers claimed the same place in a stream. The per
	// stream lock makes this impossible; the unique key is the backstop
	// that refuses the second writer instead of forking the chain.
	CodeSeqConflict fault.Code = "audit_seq_conflict"
	// Verification found a broken link or a digest that does not match;
	// the detail names the stream, the sequence number and what is wrong.
	CodeChainBroken fault.Code = "audit_chain_broken"
	// A digest for this stream and sequence number is already stored
	// (another replica signed the same head first).
	CodeDigestExists fault.Code = "audit_digest_exists"
	// Audit digest keys are never deleted: every digest they signed must
	// stay verifiable.
	CodeDigestKeyPermanent fault.Code = "audit_digest_key_permanent"
	// The digest key could not sign (no key loaded, or not an Ed25519 key).
	CodeDigestSigningFailed fault.Code = "audit_digest_signing_failed"
)

// Codes of the audit API.
const (
	// A filter, limit, cursor or time range of an audit query or export
	// is malformed or out of bounds; Field names it.
	CodeQueryInvalid fault.Code = "audit_query_invalid"
	// The caller may not read this stream: audit:read in the tenant, or a
	// platform admin's own session for any tenant and the platform stream.
	CodeReadDenied fault.Code = "audit_read_denied"
)

// An export file to verify holds a line that is not an exported event, or
// events of more than one stream; the detail names the line.
const CodeExportInvalid fault.Code = "audit_export_invalid"

// The tenant named has no stream the caller can see: it does not exist,
// or the caller is not its member (which is not told apart, as everywhere
// in the API).
const CodeStreamNotFound fault.Code = "audit_stream_not_found"

// The key set given to verify an export's digests (tollgate audit verify
// --keys) is not a JWK Set of Ed25519 keys.
const CodeKeysInvalid fault.Code = "audit_keys_invalid"

// A tenant's audit retention is out of bounds (1 to 36,500 days, or 0 to
// remove it).
const CodeRetentionInvalid fault.Code = "audit_retention_invalid"
