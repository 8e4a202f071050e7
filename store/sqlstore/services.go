package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"slices"
	"time"

	"github.com/tollgate/tollgate/cursor"
	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/serviceaccount"
)

const serviceCols = `id, name, description, scopes, tenants, resource_types, status, created_at, updated_at`

const secretCols = `id, service_id, hash, created_at, expires_at, revoked_at`

func errServiceNotFound() error {
	return fault.NotFoundf(serviceaccount.CodeServiceNotFound, "service not found")
}

func errSecretNotFound() error {
	return fault.NotFoundf(serviceaccount.CodeServiceSecretNotFound, "service secret not found")
}

func (s *Store) scanService(r scanner) (serviceaccount.Service, error) {
	var sv serviceaccount.Service
	err := r.Scan(&sv.ID, &sv.Name, &sv.Description, s.d.ScanList(&sv.Scopes),
		s.d.ScanList(&sv.Tenants), s.d.ScanList(&sv.ResourceTypes), &sv.Status,
		at(&sv.CreatedAt), at(&sv.UpdatedAt))
	return sv, err
}

func scanSecret(r scanner) (serviceaccount.Secret, error) {
	var sc serviceaccount.Secret
	err := r.Scan(&sc.ID, &sc.ServiceID, &sc.Hash, at(&sc.CreatedAt), atNull(&sc.ExpiresAt), atNull(&sc.RevokedAt))
	return sc, err
}

// insertSecret stores sc as a secret of serviceID, whatever ServiceID sc
// carries.
func (s *Store) insertSecret(ctx context.Context, tx *sql.Tx, serviceID string, sc serviceaccount.Secret) error {
	_, err := s.exec(ctx, tx,
		`INSERT INTO service_secrets (`+secretCols+`) VALUES (?, ?, ?, ?, ?, ?)`,
		sc.ID, serviceID, sc.Hash, s.d.Time(sc.CreatedAt), s.nullTime(sc.ExpiresAt), s.nullTime(sc.RevokedAt))
	if s.violates(err, "service_secrets_pkey") {
		return fault.Conflictf(serviceaccount.CodeServiceSecretExists, "a service secret with this id exists")
	}
	return err
}

// CreateService inserts sv and its first secret in one transaction.
func (s *Store) CreateService(ctx context.Context, sv serviceaccount.Service, first serviceaccount.Secret) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := s.exec(ctx, tx,
			`INSERT INTO services (`+serviceCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			sv.ID, sv.Name, sv.Description, s.d.List(sv.Scopes), s.d.List(sv.Tenants), s.d.List(sv.ResourceTypes), string(sv.Status),
			s.d.Time(sv.CreatedAt), s.d.Time(sv.UpdatedAt))
		switch {
		case s.violates(err, "services_name_key"):
			return fault.Conflictf(serviceaccount.CodeServiceNameTaken, "a service with this name exists")
		case s.violates(err, "services_pkey"):
			return fault.Conflictf(serviceaccount.CodeServiceExists, "a service with this id exists")
		case err != nil:
			return err
		}
		return s.insertSecret(ctx, tx, sv.ID, first)
	})
}

// GetService returns the service with id.
func (s *Store) GetService(ctx context.Context, id string) (serviceaccount.Service, error) {
	sv, err := s.scanService(s.queryRow(ctx, s.read, `SELECT `+serviceCols+` FROM services WHERE id = ?`, id))
	return one(s, sv, err, errServiceNotFound)
}

// GetServiceByName returns the service called name.
func (s *Store) GetServiceByName(ctx context.Context, name string) (serviceaccount.Service, error) {
	sv, err := s.scanService(s.queryRow(ctx, s.read, `SELECT `+serviceCols+` FROM services WHERE name = ?`, name))
	return one(s, sv, err, errServiceNotFound)
}

// ListServices pages through every service by id.
func (s *Store) ListServices(ctx context.Context, p cursor.Page) ([]serviceaccount.Service, error) {
	p = p.Normalize()
	rows, err := s.query(ctx, s.read,
		`SELECT `+serviceCols+` FROM services WHERE id > ? ORDER BY id LIMIT ?`, p.After, p.Limit)
	return collect(s, rows, err, s.scanService)
}

// UpdateService writes sv's description, scopes, reach, status and update
// time; the name is part of the actor id and never changes.
func (s *Store) UpdateService(ctx context.Context, sv serviceaccount.Service) error {
	res, err := s.exec(ctx, s.write,
		`UPDATE services SET description = ?, scopes = ?, tenants = ?, resource_types = ?, status = ?, updated_at = ? WHERE id = ?`,
		sv.Description, s.d.List(sv.Scopes), s.d.List(sv.Tenants), s.d.List(sv.ResourceTypes), string(sv.Status), s.d.Time(sv.UpdatedAt), sv.ID)
	return s.affectedOne(res, err, errServiceNotFound)
}

// GetServiceSecret returns the secret with id, also one that is revoked or
// whose service is deleted.
func (s *Store) GetServiceSecret(ctx context.Context, id string) (serviceaccount.Secret, error) {
	sc, err := scanSecret(s.queryRow(ctx, s.read, `SELECT `+secretCols+` FROM service_secrets WHERE id = ?`, id))
	return one(s, sc, err, errSecretNotFound)
}

// RotateServiceSecret adds next and ends the service's other live secrets:
// at once (revoked at next.CreatedAt) when previousUntil is nil, otherwise
// at previousUntil. A secret already due to expire earlier keeps its earlier
// expiry: a rotation never lengthens an old secret's life. The service row
// is locked first, so rotations of one service and its deletion queue.
func (s *Store) RotateServiceSecret(ctx context.Context, serviceID string, next serviceaccount.Secret, previousUntil *time.Time) ([]serviceaccount.Secret, error) {
	var previous []serviceaccount.Secret
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.lockService(ctx, tx, serviceID); err != nil {
			return err
		}
		now := s.d.Time(next.CreatedAt)
		var rows *sql.Rows
		var err error
		if previousUntil == nil {
			rows, err = s.query(ctx, tx,
				`UPDATE service_secrets SET revoked_at = ?
				 WHERE service_id = ? AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?)
				 RETURNING `+secretCols,
				now, serviceID, now)
		} else {
			// The earlier of the two, where a NULL expiry (never) is the
			// later: a CASE says so on both databases (PostgreSQL's LEAST
			// skips NULLs, SQLite's min returns NULL).
			until := s.d.Time(*previousUntil)
			rows, err = s.query(ctx, tx,
				`UPDATE service_secrets
				 SET expires_at = CASE WHEN expires_at IS NOT NULL AND expires_at < ? THEN expires_at ELSE ? END
				 WHERE service_id = ? AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?)
				 RETURNING `+secretCols,
				until, until, serviceID, now)
		}
		if previous, err = collect(s, rows, err, scanSecret); err != nil {
			return err
		}
		slices.SortFunc(previous, func(a, b serviceaccount.Secret) int { return cmp.Compare(a.ID, b.ID) })
		return s.insertSecret(ctx, tx, serviceID, next)
	})
	if err != nil {
		return nil, err
	}
	return previous, nil
}

// lockService locks the service row for the rest of tx (where the database
// needs a row lock for that); NotFound when there is no such service.
func (s *Store) lockService(ctx context.Context, tx *sql.Tx, id string) error {
	var n int
	err := s.queryRow(ctx, tx, `SELECT 1 FROM services WHERE id = ?`+s.d.ForUpdate(), id).Scan(&n)
	_, err = one(s, n, err, errServiceNotFound)
	return err
}

// DeleteService deletes the service and, in the same transaction, revokes
// its unrevoked secrets and every unrevoked key its actor holds in any
// tenant. It returns all their ids in ascending order.
func (s *Store) DeleteService(ctx context.Context, id string, at time.Time) ([]string, error) {
	var revoked []string
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var name string
		err := s.queryRow(ctx, tx, `DELETE FROM services WHERE id = ? RETURNING name`, id).Scan(&name)
		if _, err := one(s, name, err, errServiceNotFound); err != nil {
			return err
		}
		rows, err := s.query(ctx, tx,
			`UPDATE service_secrets SET revoked_at = ? WHERE service_id = ? AND revoked_at IS NULL RETURNING id`,
			s.d.Time(at), id)
		secrets, err := sortedIDs(s, rows, err)
		if err != nil {
			return err
		}
		keys, err := s.revokeKeys(ctx, tx, at, `actor_id = ?`, serviceaccount.ActorPrefix+name)
		if err != nil {
			return err
		}
		revoked = append(secrets, keys...)
		slices.Sort(revoked)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return revoked, nil
}
