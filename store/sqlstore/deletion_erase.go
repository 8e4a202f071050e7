package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/tollgate/tollgate/identity"
)

// eraseStep erases at most limit rows of one kind of a tenant's data and
// reports how many it erased; 0 means that kind is gone.
type eraseStep func(ctx context.Context, tx *sql.Tx, tenantID string, now time.Time, limit int) (int, error)

// tenantTable is a table of tenant rows and the columns that, with
// tenant_id, key one row: erasure deletes by key in batches. A table with
// no key columns holds one row per tenant.
type tenantTable struct {
	name string
	key  []string
}

// erasedTables are the tables erasure empties of the tenant's rows, in
// order: deliveries before their endpoints (whose delete would otherwise
// cascade to every delivery at once), sessions after the people whose
// other sessions are revoked first. Audit tables (audit_events,
// audit_heads, audit_digests, audit_forward_cursors, audit_retention) are
// kept: the chain must stay verifiable, and retention prunes it. A table
// added by a later migration that holds tenant rows must be added here.
var erasedTables = []tenantTable{
	{"webhook_deliveries", []string{"id"}},
	{"webhook_endpoints", []string{"id"}},
	{"webhook_cursors", nil},
	{"invitations", []string{"id"}},
	{"mail_outbox", []string{"id"}},
	{"api_keys", []string{"id"}},
	{"agents", []string{"id"}},
	{"mfa_challenges", []string{"token_hash"}},
	{"sessions", []string{"id"}},
	{"resources", []string{"type", "id"}},
	{"policy_sets", []string{"version"}},
	{"schema_extensions", []string{"version"}},
	{"roles", []string{"name"}},
	{"tenant_rate_limits", nil},
	{"usage_quota_thresholds", []string{"meter", "actor", "period_start", "threshold"}},
	{"usage_quotas", nil},
	{"usage_meters", nil},
	{"usage_uniques", []string{"meter", "minute", "subject", "dims", "value"}},
	{"usage_rollups", []string{"meter", "minute", "subject", "dims"}},
	{"usage_hour_uniques", []string{"meter", "minute", "subject", "dims", "value"}},
	{"usage_hour_rollups", []string{"meter", "minute", "subject", "dims"}},
	{"usage_events", []string{"source", "id"}},
	// Added by migration 00024 after usage_events, so that a deletion in
	// progress across the upgrade keeps its step index.
	{"usage_tenant_hour_uniques", []string{"meter", "minute", "dims", "value"}},
	{"usage_tenant_hour_rollups", []string{"meter", "minute", "dims"}},
}

// erasureSteps are the steps of erasing a tenant, in order; the index of
// the current one is stored in tenant_deletions.step, so a new worker
// resumes where the last one stopped.
func (s *Store) erasureSteps() []eraseStep {
	steps := []eraseStep{s.eraseMembers}
	for _, t := range erasedTables {
		steps = append(steps, s.deleteBatch(t))
	}
	return steps
}

// EraseTenantBatch implements identity.DeletionStore.
func (s *Store) EraseTenantBatch(ctx context.Context, d identity.TenantDeletion, now time.Time, lease time.Duration, limit int) (int, bool, error) {
	erased, done := 0, false
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		step, err := s.holdDeletion(ctx, tx, d, now, lease)
		if err != nil {
			return err
		}
		steps := s.erasureSteps()
		// A step that erased something stays current: it may hold more.
		for ; step < len(steps); step++ {
			if erased, err = steps[step](ctx, tx, d.TenantID, now, limit); err != nil {
				return err
			}
			if erased > 0 {
				break
			}
		}
		done = step >= len(steps)
		_, err = s.exec(ctx, tx, `UPDATE tenant_deletions SET step = ?, erased = erased + ? WHERE tenant_id = ?`,
			step, erased, d.TenantID)
		return err
	})
	if err != nil {
		return 0, false, err
	}
	return erased, done, nil
}

// deleteBatch deletes at most limit of t's rows of the tenant.
func (s *Store) deleteBatch(t tenantTable) eraseStep {
	query := `DELETE FROM ` + t.name + ` WHERE tenant_id = ?`
	if len(t.key) > 0 {
		cols := strings.Join(t.key, ", ")
		if len(t.key) > 1 {
			cols = "(" + cols + ")"
		}
		query += ` AND ` + cols + ` IN (SELECT ` + strings.Join(t.key, ", ") + ` FROM ` + t.name + ` WHERE tenant_id = ? LIMIT ?)`
	}
	return func(ctx context.Context, tx *sql.Tx, tenantID string, _ time.Time, limit int) (int, error) {
		args := []any{tenantID}
		if len(t.key) > 0 {
			args = append(args, tenantID, limit)
		}
		return s.affected(s.exec(ctx, tx, query, args...))
	}
}

// eraseMembers removes at most limit memberships of the tenant, erasing
// each person who belongs to no other tenant.
func (s *Store) eraseMembers(ctx context.Context, tx *sql.Tx, tenantID string, now time.Time, limit int) (int, error) {
	rows, err := s.query(ctx, tx, `SELECT actor_id FROM memberships WHERE tenant_id = ? ORDER BY actor_id LIMIT ?`, tenantID, limit)
	actors, err := collect(s, rows, err, scanString)
	if err != nil {
		return 0, err
	}
	for _, actor := range actors {
		if userID, ok := strings.CutPrefix(actor, identity.UserActorPrefix); ok {
			if err := s.erasePersonIfLast(ctx, tx, tenantID, userID, now); err != nil {
				return 0, err
			}
		}
		if _, err := s.exec(ctx, tx, `DELETE FROM memberships WHERE tenant_id = ? AND actor_id = ?`, tenantID, actor); err != nil {
			return 0, err
		}
	}
	return len(actors), nil
}

// erasePersonIfLast erases a user who belongs to no tenant but tenantID:
// the account (email, name, password hash; its MFA secrets, recovery codes
// and reset tokens go by cascade), the sign-ups and mail addressed to them,
// and the network details of their sessions, which are revoked rather than
// deleted so that every replica learns of it from the revocation feed; the
// expiry sweep deletes them later. Platform admins keep their accounts:
// they are the platform's, not the tenant's.
func (s *Store) erasePersonIfLast(ctx context.Context, tx *sql.Tx, tenantID, userID string, now time.Time) error {
	var email string
	var admin bool
	err := s.queryRow(ctx, tx, `SELECT email, platform_admin FROM users WHERE id = ?`, userID).Scan(&email, &admin)
	if errors.Is(err, sql.ErrNoRows) || err == nil && admin {
		return nil
	}
	if err != nil {
		return err
	}
	var elsewhere bool
	if err := s.queryRow(ctx, tx, `SELECT EXISTS (SELECT 1 FROM memberships WHERE actor_id = ? AND tenant_id <> ?)`,
		identity.UserActorPrefix+userID, tenantID).Scan(&elsewhere); err != nil || elsewhere {
		return err
	}
	actor := identity.UserActorPrefix + userID
	for _, q := range []struct {
		query string
		args  []any
	}{
		{`UPDATE sessions SET revoked_at = ?, revoke_reason = 'tenant_deleted' WHERE actor_id = ? AND revoked_at IS NULL`,
			[]any{s.d.Time(now), actor}},
		{`UPDATE sessions SET ip = '', user_agent = '' WHERE actor_id = ?`, []any{actor}},
		{`DELETE FROM refresh_tokens WHERE session_id IN (SELECT id FROM sessions WHERE actor_id = ?)`, []any{actor}},
		{`DELETE FROM mail_outbox WHERE recipient = ?`, []any{email}},
		{`DELETE FROM signups WHERE email = ?`, []any{email}},
		// Passkeys and the rest of the person's second factors go with
		// the account (ON DELETE CASCADE); a ceremony under way has none.
		{`DELETE FROM passkey_ceremonies WHERE user_id = ?`, []any{userID}},
		{`DELETE FROM users WHERE id = ?`, []any{userID}},
	} {
		if _, err := s.exec(ctx, tx, q.query, q.args...); err != nil {
			return err
		}
	}
	return nil
}
