package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"time"
)

// ForwardCursor is a stream leased for publishing: the events after Seq
// are yet to be acknowledged by the broker.
type ForwardCursor struct {
	TenantID string
	Seq      int64
}

// ForwardStore keeps, per stream, how far it has been published to the
// broker (NATS), for forwarders on any number of replicas.
type ForwardStore interface {
	Reader
	// ClaimAuditForward leases to owner, until leaseUntil, at most limit
	// streams whose head is past their cursor and whose lease has ended
	// by now; a stream met for the first time starts at seq 0, so its
	// whole history is published.
	ClaimAuditForward(ctx context.Context, owner string, now, leaseUntil time.Time, limit int) ([]ForwardCursor, error)
	// AdvanceAuditForward moves the stream's cursor forward to seq and
	// ends the lease, if owner still holds it; held reports whether it
	// did (when not, another forwarder took the stream over and
	// publishes from the old cursor again).
	AdvanceAuditForward(ctx context.Context, owner, tenantID string, seq int64, now time.Time) (held bool, err error)
}

// MarshalOCSF returns e as one OCSF JSON object, as an export line holds
// it (without the newline).
func MarshalOCSF(e *Event) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	// The canonical form keeps <, > and & as they are; so must the copy.
	enc.SetEscapeHTML(false)
	if err := enc.Encode(toOCSF(e)); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}
