package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"

	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/usage"
)

// TenantMeters implements usage.MeterStore: none and version 0 when the
// tenant has none, whether or not it exists.
func (s *Store) TenantMeters(ctx context.Context, tenantID string) (usage.TenantMeters, error) {
	m := usage.TenantMeters{TenantID: tenantID}
	var raw []byte
	err := s.queryRow(ctx, s.read, `SELECT meters, version, updated_at FROM usage_meters WHERE tenant_id = ?`, tenantID).
		Scan(&raw, &m.Version, at(&m.UpdatedAt))
	if errors.Is(err, sql.ErrNoRows) {
		return usage.TenantMeters{TenantID: tenantID}, nil
	}
	if err != nil {
		return usage.TenantMeters{}, s.dbErr(err)
	}
	if err := json.Unmarshal(raw, &m.Meters); err != nil {
		return usage.TenantMeters{}, s.dbErr(err)
	}
	return m, nil
}

// SetTenantMeters implements usage.MeterStore in one upsert whose update
// applies only at the version named, so that of two writers that read
// the same version one wins and the other is told.
func (s *Store) SetTenantMeters(ctx context.Context, m usage.TenantMeters, version int64) (int64, error) {
	b, err := json.Marshal(m.Meters)
	if err != nil {
		return 0, s.dbErr(err)
	}
	var v int64
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		var exists bool
		if err := s.queryRow(ctx, tx, `SELECT EXISTS (SELECT 1 FROM tenants WHERE id = ?)`, m.TenantID).Scan(&exists); err != nil {
			return err
		}
		if !exists {
			return errTenantNotFound()
		}
		rows, err := s.query(ctx, tx,
			`INSERT INTO usage_meters (tenant_id, meters, version, updated_at) VALUES (?, ?, 1, ?)
			 ON CONFLICT (tenant_id) DO UPDATE SET meters = excluded.meters, version = usage_meters.version + 1, updated_at = excluded.updated_at
			 WHERE ? < 0 OR usage_meters.version = ?
			 RETURNING version`,
			m.TenantID, string(b), s.d.Time(m.UpdatedAt), version, version)
		got, err := collect(s, rows, err, func(r scanner) (int64, error) {
			var v int64
			return v, r.Scan(&v)
		})
		if err != nil {
			return err
		}
		// No row: the update's version did not match. Version 1 when
		// another was named: the row was new, and the writer expected one.
		if len(got) == 0 || (version >= 0 && got[0] != version+1) {
			return fault.Conflictf(usage.CodeMetersChanged, "the tenant's meters are not at version %d; read them again", version)
		}
		v = got[0]
		return nil
	})
	return v, err
}
