package app

import (
	"context"
	"fmt"

	"github.com/tollgate/tollgate/audit/forward"
)

// OpenAuditForward connects the audit publisher when nats_url is set and
// audit_forward is on, creating the stream when it is missing; the
// publisher then runs with RunBackground. Like OpenUsageStream it is apart
// from New, so that only serve provisions anything on the broker.
func (a *App) OpenAuditForward(ctx context.Context) error {
	if a.cfg.NATSURL == "" || !a.cfg.AuditForward || a.auditForward != nil {
		return nil
	}
	f, err := forward.Connect(ctx, a.cfg.NATSURL, a.store, forward.Options{
		Stream: a.cfg.AuditStream, Prefix: a.cfg.AuditSubjectPrefix,
		MaxAge: a.cfg.AuditStreamMaxAge, DuplicateWindow: a.cfg.AuditDuplicateWindow,
		Name: "tollgate-audit", Log: a.log, Published: a.metrics.AuditForwarded,
	})
	if err != nil {
		return fmt.Errorf("opening the audit stream: %w", err)
	}
	a.auditForward = f
	return nil
}
