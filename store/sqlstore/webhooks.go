package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/tollgate/tollgate/cursor"
	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/webhook"
)

const webhookCols = `id, tenant_id, url, description, event_types, status, disabled_reason,
	secret_id, secret_sealed, previous_secret_id, previous_secret_sealed, previous_expires_at,
	failing_since, created_by, created_at, updated_at`

func errWebhookNotFound() error {
	return fault.NotFoundf(webhook.CodeWebhookNotFound, "webhook not found")
}

func errDeliveryNotFound() error {
	return fault.NotFoundf(webhook.CodeDeliveryNotFound, "delivery not found")
}

func (s *Store) scanWebhook(r scanner) (e webhook.Endpoint, err error) {
	var status string
	var prevID *string
	var prevSealed []byte
	err = r.Scan(&e.ID, &e.TenantID, &e.URL, &e.Description, s.d.ScanList(&e.EventTypes), &status, &e.DisabledReason,
		&e.Secret.ID, &e.Secret.Sealed, &prevID, &prevSealed, atNull(&e.PreviousExpiresAt),
		atNull(&e.FailingSince), &e.CreatedBy, at(&e.CreatedAt), at(&e.UpdatedAt))
	e.Status = webhook.Status(status)
	if prevID != nil {
		e.PreviousSecret = &webhook.SealedSecret{ID: *prevID, Sealed: prevSealed}
	}
	return e, err
}

// CreateWebhook implements webhook.Store.
func (s *Store) CreateWebhook(ctx context.Context, e webhook.Endpoint) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := s.exec(ctx, tx, `INSERT INTO webhook_endpoints (`+webhookCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL, NULL, NULL, ?, ?, ?)`,
			e.ID, e.TenantID, e.URL, e.Description, s.d.List(e.EventTypes), string(e.Status), e.DisabledReason,
			e.Secret.ID, e.Secret.Sealed, e.CreatedBy, s.d.Time(e.CreatedAt), s.d.Time(e.UpdatedAt))
		if err != nil {
			return err
		}
		// The tenant's first endpoint starts its cursor at the audit head:
		// what happened before is not delivered.
		_, err = s.exec(ctx, tx, `INSERT INTO webhook_cursors (tenant_id, seq, updated_at)
			VALUES (?, COALESCE((SELECT seq FROM audit_heads WHERE tenant_id = ?), 0), ?)
			ON CONFLICT (tenant_id) DO NOTHING`, e.TenantID, e.TenantID, s.d.Time(e.CreatedAt))
		return err
	})
	switch {
	case s.violates(err, "webhook_endpoints_pkey"):
		return fault.Conflictf(webhook.CodeWebhookExists, "a webhook with this id exists")
	case s.violates(err, "webhook_endpoints_tenant_fkey"):
		return errTenantNotFound()
	}
	return err
}

// GetWebhook implements webhook.Store.
func (s *Store) GetWebhook(ctx context.Context, tenantID, id string) (webhook.Endpoint, error) {
	return get(ctx, s, s.scanWebhook, errWebhookNotFound,
		`SELECT `+webhookCols+` FROM webhook_endpoints WHERE tenant_id = ? AND id = ?`, tenantID, id)
}

// ListWebhooks implements webhook.Store.
func (s *Store) ListWebhooks(ctx context.Context, tenantID string, p cursor.Page) ([]webhook.Endpoint, error) {
	return list(ctx, s, p, s.scanWebhook,
		`SELECT `+webhookCols+` FROM webhook_endpoints WHERE tenant_id = ? AND id > ? ORDER BY id LIMIT ?`, tenantID)
}

// CountWebhooks implements webhook.Store.
func (s *Store) CountWebhooks(ctx context.Context, tenantID string) (int, error) {
	return s.count(ctx, `SELECT count(*) FROM webhook_endpoints WHERE tenant_id = ?`, tenantID)
}

// UpdateWebhook implements webhook.Store. Each column is set from the
// patch only when the patch names it (CASE WHEN set THEN value ELSE column),
// so the one UPDATE reads the rest from the row as it is now.
func (s *Store) UpdateWebhook(ctx context.Context, tenantID, id string, p webhook.EndpointPatch, at time.Time) (webhook.Endpoint, error) {
	var out webhook.Endpoint
	url, description, status := deref(p.URL), deref(p.Description), webhook.Status(deref((*string)(p.Status)))
	var types []string
	if p.EventTypes != nil {
		types = *p.EventTypes
	}
	guard, guardArgs := ``, []any{}
	if p.IfFailing != nil {
		guard, guardArgs = ` AND status = ? AND failing_since = ?`, []any{string(webhook.Enabled), s.d.Time(*p.IfFailing)}
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		disabling, enabling := p.Status != nil && status == webhook.Disabled, p.Status != nil && status == webhook.Enabled
		args := []any{
			p.URL != nil, url, p.Description != nil, description, p.EventTypes != nil, s.d.List(types),
			// disabled_reason and failing_since read the status before this
			// UPDATE: SET expressions see the old row.
			disabling, p.DisabledReason, enabling, enabling,
			p.Status != nil, string(status),
			s.d.Time(at), tenantID, id,
		}
		out, err = s.scanWebhook(s.queryRow(ctx, tx, `UPDATE webhook_endpoints SET
			   url = CASE WHEN ? THEN ? ELSE url END,
			   description = CASE WHEN ? THEN ? ELSE description END,
			   event_types = CASE WHEN ? THEN ? ELSE event_types END,
			   disabled_reason = CASE WHEN ? THEN CASE WHEN status = 'disabled' THEN disabled_reason ELSE ? END
			     WHEN ? THEN '' ELSE disabled_reason END,
			   failing_since = CASE WHEN ? AND status = 'disabled' THEN NULL ELSE failing_since END,
			   status = CASE WHEN ? THEN ? ELSE status END,
			   updated_at = ?
			 WHERE tenant_id = ? AND id = ?`+guard+`
			 RETURNING `+webhookCols, append(args, guardArgs...)...))
		if errors.Is(err, sql.ErrNoRows) {
			if p.IfFailing != nil {
				if err := s.mustExistIn(ctx, tx, tenantID, id); err != nil {
					return err
				}
				return fault.Conflictf(webhook.CodeWebhookChanged, "the endpoint changed since it was read")
			}
			return errWebhookNotFound()
		}
		if err != nil || out.Status != webhook.Disabled || p.Status == nil {
			return err
		}
		// A disabled endpoint receives nothing: its waiting deliveries
		// fail now (a redelivery can send them once it is enabled again).
		_, err = s.exec(ctx, tx, `UPDATE webhook_deliveries SET status = ?, last_error = ?
			WHERE endpoint_id = ? AND status = ?`, string(webhook.Failed), "endpoint_disabled", id, string(webhook.Pending))
		return err
	})
	return out, err
}

// mustExistIn fails with webhook_not_found unless the tenant has endpoint
// id.
func (s *Store) mustExistIn(ctx context.Context, tx *sql.Tx, tenantID, id string) error {
	var one int
	err := s.queryRow(ctx, tx, `SELECT 1 FROM webhook_endpoints WHERE tenant_id = ? AND id = ?`, tenantID, id).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return errWebhookNotFound()
	}
	return err
}

// deref is *p, or "" for nil.
func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// RotateWebhookSecret implements webhook.Store. The one UPDATE reads the
// current secret as it moves it, so of two concurrent rotations the second
// keeps the first's secret as its previous one.
func (s *Store) RotateWebhookSecret(ctx context.Context, tenantID, id string, next webhook.SealedSecret, previousUntil *time.Time, at time.Time) (webhook.Endpoint, error) {
	var out webhook.Endpoint
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		keep := previousUntil != nil
		out, err = s.scanWebhook(s.queryRow(ctx, tx, `UPDATE webhook_endpoints SET
			   previous_secret_id = CASE WHEN ? THEN secret_id END,
			   previous_secret_sealed = CASE WHEN ? THEN secret_sealed END,
			   previous_expires_at = ?,
			   secret_id = ?, secret_sealed = ?, updated_at = ?
			 WHERE tenant_id = ? AND id = ?
			 RETURNING `+webhookCols,
			keep, keep, s.nullTime(previousUntil), next.ID, next.Sealed, s.d.Time(at), tenantID, id))
		if errors.Is(err, sql.ErrNoRows) {
			return errWebhookNotFound()
		}
		return err
	})
	return out, err
}

// DeleteWebhook implements webhook.Store.
func (s *Store) DeleteWebhook(ctx context.Context, tenantID, id string) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := s.exec(ctx, tx, `DELETE FROM webhook_endpoints WHERE tenant_id = ? AND id = ?`, tenantID, id)
		if err := s.affectedOne(res, err, errWebhookNotFound); err != nil {
			return err
		}
		// With its last endpoint the tenant stops costing the dispatcher.
		_, err = s.exec(ctx, tx, `DELETE FROM webhook_cursors WHERE tenant_id = ?
			AND NOT EXISTS (SELECT 1 FROM webhook_endpoints WHERE tenant_id = ?)`, tenantID, tenantID)
		return err
	})
}

// TenantOwnerEmails implements webhook.Store.
func (s *Store) TenantOwnerEmails(ctx context.Context, tenantID string, limit int) ([]string, error) {
	return readAll(ctx, s, scanString, `SELECT u.email FROM memberships m JOIN users u ON m.actor_id = 'user:' || u.id
		WHERE m.tenant_id = ? AND `+s.d.ListHas("m.roles")+` AND u.status = ? ORDER BY u.email LIMIT ?`,
		tenantID, identity.RoleOwner, string(identity.UserActive), limit)
}
