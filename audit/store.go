package audit

import (
	"context"

	"github.com/tollgate/tollgate/token"
)

// MaxPage bounds one read of events, heads or digests.
const MaxPage = 10000

// Store keeps the streams. Every method is scoped to one stream, named by
// its tenant ("" for the platform stream), except ListAuditHeads, which is
// for the digester and verify --all.
type Store interface {
	Reader
	Querier
	// AppendAudit validates events, assigns each its Seq, PrevHash and Hash
	// atomically per stream (two appenders on one stream, in one process
	// or in two replicas, never fork it) and stores them, all or none. A
	// batch may mix streams and holds at most MaxBatch events. It returns
	// the events as stored.
	AppendAudit(ctx context.Context, events []Event) ([]Event, error)
	// ListAuditHeads returns the heads of the streams after the tenant id
	// *after in byte order (every stream when after is nil), at most limit,
	// each with its DigestSeq.
	ListAuditHeads(ctx context.Context, after *string, limit int) ([]Head, error)
	// InsertAuditDigest stores a signed digest: Conflict
	// audit_digest_exists when the stream already has one through the same
	// Seq.
	InsertAuditDigest(ctx context.Context, d Digest) error
	// AuditKeyStore keeps the digest signing keys, apart from the token
	// signing keys, for a token.Keyring of their own.
	AuditKeyStore() token.KeyStore
}

// Reader reads one stream; it is all Verify needs, so that an export can be
// verified as well as the database.
type Reader interface {
	// ReadAudit returns the stream's events with Seq > afterSeq in Seq
	// order, at most limit (1..MaxPage).
	ReadAudit(ctx context.Context, tenantID string, afterSeq int64, limit int) ([]Event, error)
	// AuditHead returns the stream's head; an unknown stream has Seq 0 and
	// the Genesis hash.
	AuditHead(ctx context.Context, tenantID string) (Head, error)
	// ListAuditDigests returns the stream's digests with ThroughSeq >
	// afterSeq in ThroughSeq order, at most limit (1..MaxPage).
	ListAuditDigests(ctx context.Context, tenantID string, afterSeq int64, limit int) ([]Digest, error)
}
