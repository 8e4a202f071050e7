package audit

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/tollgate/tollgate/fault"
)

// DefaultRetentionDays is how long events are kept when neither the
// configuration nor the tenant says otherwise.
const DefaultRetentionDays = 400

// MaxRetentionDays bounds a retention (100 years).
const MaxRetentionDays = 36500

// RetentionStore is what pruning needs of a Store.
type RetentionStore interface {
	ListAuditHeads(ctx context.Context, after *string, limit int) ([]Head, error)
	// AuditRetentions returns the tenants' own retentions, in days.
	AuditRetentions(ctx context.Context) (map[string]int, error)
	// SetAuditRetention sets a tenant's own retention; days 0 removes it,
	// so that the configured one applies.
	SetAuditRetention(ctx context.Context, tenantID string, days int, now time.Time) error
	// LastAuditBefore returns the seq and hash of the stream's last event
	// timed before t; Seq 0 when there is none.
	LastAuditBefore(ctx context.Context, tenantID string, t time.Time) (Head, error)
	// PruneAudit deletes the stream's events through d.ThroughSeq and the
	// digests before it, and stores d (a DigestPrune) in their place, all
	// in one transaction; d.HeadHash must still be the hash of that event.
	// It returns how many events it deleted: 0 when another pruner got
	// there first, and then it writes nothing (not the audit events ctx
	// carries either).
	PruneAudit(ctx context.Context, d Digest) (int64, error)
}

// CheckRetentionDays validates a tenant's retention (0 clears it).
func CheckRetentionDays(days int) error {
	if days < 0 || days > MaxRetentionDays {
		return fault.Invalidf("days", CodeRetentionInvalid, "a retention is 1 to %d days (0 removes the tenant's own)", MaxRetentionDays)
	}
	return nil
}

// Pruner deletes events past their stream's retention, leaving a signed
// DigestPrune so that what remains still verifies. Replicas may all run
// one: the stream's head lock orders two prunes of one stream, and the
// second finds nothing left to delete.
type Pruner struct {
	store  RetentionStore
	digest *Digester
	days   int
	now    func() time.Time
}

// NewPruner prunes st, signing with signer; days is the configured
// retention (DefaultRetentionDays when 0).
func NewPruner(st RetentionStore, signer Signer, days int, now func() time.Time) *Pruner {
	if days <= 0 {
		days = DefaultRetentionDays
	}
	if now == nil {
		now = time.Now
	}
	return &Pruner{store: st, digest: &Digester{signer: signer, now: now}, days: days, now: now}
}

// PruneAll prunes every stream and returns how many events it deleted.
func (p *Pruner) PruneAll(ctx context.Context) (int64, error) {
	own, err := p.store.AuditRetentions(ctx)
	if err != nil {
		return 0, err
	}
	now := p.now()
	var total int64
	var errs []error
	var after *string
	for {
		heads, err := p.store.ListAuditHeads(ctx, after, MaxPage)
		if err != nil {
			return total, err
		}
		for _, h := range heads {
			days := p.days
			if d, ok := own[h.TenantID]; ok {
				days = d
			}
			n, err := p.PruneStream(ctx, h.TenantID, now.AddDate(0, 0, -days))
			total += n
			errs = append(errs, err)
		}
		if len(heads) < MaxPage {
			return total, errors.Join(errs...)
		}
		last := heads[len(heads)-1].TenantID
		after = &last
	}
}

// PruneStream deletes the stream's events timed before cutoff — through
// the last one that is, so that the rest stays one contiguous run (events
// are appended up to a flush interval after their time, so a few kept ones
// may be a little older) — and returns how many.
func (p *Pruner) PruneStream(ctx context.Context, tenantID string, cutoff time.Time) (int64, error) {
	last, err := p.store.LastAuditBefore(ctx, tenantID, cutoff)
	if err != nil || last.Seq == 0 {
		return 0, err
	}
	d, err := p.digest.build(last, DigestPrune)
	if err != nil {
		return 0, err
	}
	// Recorded in the transaction that prunes, in the stream itself.
	ctx = Record(ctx, Event{TenantID: tenantID, Action: ActionPrune, Outcome: Success, TargetType: "audit_stream",
		TargetID: streamName(tenantID), Detail: map[string]string{
			"through_seq": strconv.FormatInt(last.Seq, 10), "before": cutoff.UTC().Format(time.RFC3339),
		}})
	return p.store.PruneAudit(ctx, d)
}

// streamName names a stream as a target: the tenant id, or "platform".
func streamName(tenantID string) string {
	if tenantID == "" {
		return PlatformStream
	}
	return tenantID
}

// SetRetention gives a tenant a retention of its own (days 0 removes it),
// recorded in the tenant's stream with the change.
func SetRetention(ctx context.Context, st RetentionStore, tenantID string, days int, now time.Time) error {
	if err := CheckRetentionDays(days); err != nil {
		return err
	}
	ctx = Record(ctx, Event{TenantID: tenantID, Action: ActionRetentionPut, Outcome: Success, TargetType: "tenant",
		TargetID: tenantID, Detail: map[string]string{"days": strconv.Itoa(days)}})
	return st.SetAuditRetention(ctx, tenantID, days, now)
}
