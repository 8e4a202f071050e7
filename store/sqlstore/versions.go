package sqlstore

import (
	"context"
	"database/sql"
	"errors"

	"github.com/tollgate/tollgate/cursor"
	"github.com/tollgate/tollgate/policy"
)

// A tenant's policies and its schema extension are both versioned texts:
// one row per version in their table (tenant_id, version, text,
// created_by, created_at), the current one the greatest. These read
// either.

const textVersionCols = `version, text, created_by, created_at`

func scanTextVersion(tenantID string, withText bool) func(r scanner) (policy.PolicySet, error) {
	return func(r scanner) (policy.PolicySet, error) {
		ps := policy.PolicySet{TenantID: tenantID}
		dest := []any{&ps.Version, &ps.CreatedBy, at(&ps.CreatedAt)}
		if withText {
			dest = []any{&ps.Version, &ps.Text, &ps.CreatedBy, at(&ps.CreatedAt)}
		}
		if err := r.Scan(dest...); err != nil {
			return policy.PolicySet{}, err
		}
		return ps, nil
	}
}

// currentText returns tenantID's latest version in table, or one with only
// TenantID set (Version 0) when it has none, whether or not the tenant
// exists.
func (s *Store) currentText(ctx context.Context, table, tenantID string) (policy.PolicySet, error) {
	ps, err := scanTextVersion(tenantID, true)(s.queryRow(ctx, s.read,
		`SELECT `+textVersionCols+` FROM `+table+` WHERE tenant_id = ? ORDER BY version DESC LIMIT 1`, tenantID))
	if errors.Is(err, sql.ErrNoRows) {
		return policy.PolicySet{TenantID: tenantID}, nil
	}
	if err != nil {
		return policy.PolicySet{}, s.dbErr(err)
	}
	return ps, nil
}

// textVersion returns one version of tenantID's text in table; notFound
// when there is none.
func (s *Store) textVersion(ctx context.Context, table, tenantID string, version int64, notFound func() error) (policy.PolicySet, error) {
	return get(ctx, s, scanTextVersion(tenantID, true), notFound,
		`SELECT `+textVersionCols+` FROM `+table+` WHERE tenant_id = ? AND version = ?`, tenantID, version)
}

// listTextVersions pages through tenantID's versions in table newest
// first, those before the decimal version in p.After, with Text left
// empty. p.Limit is normalised as in every other list. Invalid
// "invalid_cursor" when p.After is neither "" nor a decimal integer.
func (s *Store) listTextVersions(ctx context.Context, table, tenantID string, p cursor.Page) ([]policy.PolicySet, error) {
	p = p.Normalize()
	q := `SELECT version, created_by, created_at FROM ` + table + ` WHERE tenant_id = ?`
	args := []any{tenantID}
	if p.After != "" {
		before, err := versionCursor(p.After)
		if err != nil {
			return nil, err
		}
		q += ` AND version < ?`
		args = append(args, before)
	}
	q += ` ORDER BY version DESC LIMIT ?`
	args = append(args, p.Limit)
	return readAll(ctx, s, scanTextVersion(tenantID, false), q, args...)
}

// insertTextVersion writes version of tenantID's text into table.
func (s *Store) insertTextVersion(ctx context.Context, tx *sql.Tx, table string, ps policy.PolicySet, version int64) error {
	_, err := s.exec(ctx, tx,
		`INSERT INTO `+table+` (tenant_id, `+textVersionCols+`) VALUES (?, ?, ?, ?, ?)`,
		ps.TenantID, version, ps.Text, ps.CreatedBy, s.d.Time(ps.CreatedAt))
	return err
}
