package sqlstore

import (
	"context"
	"time"

	"github.com/tollgate/tollgate/overview"
)

// TenantCounts counts what a tenant overview shows. Each count is an index
// range of the tenant: memberships_pkey, sessions_tenant_idx,
// api_keys_tenant_idx, agents_tenant_idx. The counts are read one after
// the other, not as one snapshot: an overview is a glance, not a ledger.
func (s *Store) TenantCounts(ctx context.Context, tenantID string, now time.Time) (overview.Counts, error) {
	c := overview.Counts{MembersByRole: map[string]int{}}
	var err error
	if c.Members, err = s.count(ctx, `SELECT count(*) FROM memberships WHERE tenant_id = ?`, tenantID); err != nil {
		return overview.Counts{}, err
	}
	rows, err := s.query(ctx, s.read,
		`SELECT elem.value, count(*) FROM memberships, `+s.d.ListElements("memberships.roles")+`
		 WHERE memberships.tenant_id = ? GROUP BY elem.value`, tenantID)
	if err != nil {
		return overview.Counts{}, s.dbErr(err)
	}
	defer rows.Close()
	for rows.Next() {
		var role string
		var n int
		if err := rows.Scan(&role, &n); err != nil {
			return overview.Counts{}, s.dbErr(err)
		}
		c.MembersByRole[role] = n
	}
	if err := rows.Err(); err != nil {
		return overview.Counts{}, s.dbErr(err)
	}
	at := s.d.Time(now)
	if c.ActiveSessions, err = s.count(ctx,
		`SELECT count(*) FROM sessions WHERE tenant_id = ? AND revoked_at IS NULL AND expires_at > ?`, tenantID, at); err != nil {
		return overview.Counts{}, err
	}
	if c.APIKeys, err = s.count(ctx,
		`SELECT count(*) FROM api_keys WHERE tenant_id = ? AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?)`, tenantID, at); err != nil {
		return overview.Counts{}, err
	}
	if c.Agents, err = s.CountAgents(ctx, tenantID); err != nil {
		return overview.Counts{}, err
	}
	return c, nil
}
