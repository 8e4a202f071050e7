package sqlite

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

const serviceCols = `id, name, description, scopes, status, created_at, updated_at`

const secretCols = `id, service_id, hash, created_at, expires_at, revoked_at`

func errServiceNotFound() error { return fault.NotFoundf("service_not_found", "service not found") }

func errSecretNotFound() error {
	return fault.NotFoundf("service_secret_not_found", "service secret not found")
}

func scanService(r scanner) (serviceaccount.Service, error) {
	var sv serviceaccount.Service
	var scopes string
	var created, updated int64
	err := r.Scan(&sv.ID, &sv.Name, &sv.Description, &scopes, &sv.Status, &created, &updated)
	if err != nil {
		return serviceaccount.Service{}, err
	}
	if sv.Scopes, err = decodeList(scopes); err != nil {
		return serviceaccount.Service{}, err
	}
	sv.CreatedAt, sv.UpdatedAt = fromTS(created), fromTS(updated)
	return sv, nil
}

func scanSecret(r scanner) (serviceaccount.Secret, error) {
	var sc serviceaccount.Secret
	var created int64
	var expires, revoked sql.NullInt64
	if err := r.Scan(&sc.ID, &sc.ServiceID, &sc.Hash, &created, &expires, &revoked); err != nil {
		return serviceaccount.Secret{}, err
	}
	sc.CreatedAt, sc.ExpiresAt, sc.RevokedAt = fromTS(created), fromNullTS(expires), fromNullTS(revoked)
	return sc, nil
}

// insertSecret stores sc as a secret of serviceID, whatever ServiceID sc
// carries.
func insertSecret(ctx context.Context, tx *sql.Tx, serviceID string, sc serviceaccount.Secret) error {
	_, err := tx.ExecContext(ctx,
		`INSERT INTO service_secrets (`+secretCols+`) VALUES (?, ?, ?, ?, ?, ?)`,
		sc.ID, serviceID, sc.Hash, ts(sc.CreatedAt), nullTS(sc.ExpiresAt), nullTS(sc.RevokedAt))
	if isUnique(err, "service_secrets.id") {
		return fault.Conflictf("service_secret_exists", "a service secret with this id exists")
	}
	return err
}

// CreateService inserts sv and its first secret in one transaction.
func (s *Store) CreateService(ctx context.Context, sv serviceaccount.Service, first serviceaccount.Secret) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx,
			`INSERT INTO services (`+serviceCols+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			sv.ID, sv.Name, sv.Description, encodeList(sv.Scopes), string(sv.Status), ts(sv.CreatedAt), ts(sv.UpdatedAt))
		switch {
		case isUnique(err, "services.name"):
			return fault.Conflictf("service_name_taken", "a service with this name exists")
		case isUnique(err, "services.id"):
			return fault.Conflictf("service_exists", "a service with this id exists")
		case err != nil:
			return err
		}
		return insertSecret(ctx, tx, sv.ID, first)
	})
}

// GetService returns the service with id.
func (s *Store) GetService(ctx context.Context, id string) (serviceaccount.Service, error) {
	sv, err := scanService(s.read.QueryRowContext(ctx, `SELECT `+serviceCols+` FROM services WHERE id = ?`, id))
	return one(sv, err, errServiceNotFound)
}

// GetServiceByName returns the service called name.
func (s *Store) GetServiceByName(ctx context.Context, name string) (serviceaccount.Service, error) {
	sv, err := scanService(s.read.QueryRowContext(ctx, `SELECT `+serviceCols+` FROM services WHERE name = ?`, name))
	return one(sv, err, errServiceNotFound)
}

// ListServices pages through every service by id.
func (s *Store) ListServices(ctx context.Context, p cursor.Page) ([]serviceaccount.Service, error) {
	p = p.Normalize()
	rows, err := s.read.QueryContext(ctx,
		`SELECT `+serviceCols+` FROM services WHERE id > ? ORDER BY id LIMIT ?`, p.After, p.Limit)
	if err != nil {
		return nil, dbErr(err)
	}
	return collect(rows, scanService)
}

// UpdateService writes sv's description, scopes, status and update time; the
// name is part of the actor id and never changes.
func (s *Store) UpdateService(ctx context.Context, sv serviceaccount.Service) error {
	res, err := s.write.ExecContext(ctx,
		`UPDATE services SET description = ?, scopes = ?, status = ?, updated_at = ? WHERE id = ?`,
		sv.Description, encodeList(sv.Scopes), string(sv.Status), ts(sv.UpdatedAt), sv.ID)
	return affectedOne(res, err, errServiceNotFound)
}

// GetServiceSecret returns the secret with id, also one that is revoked or
// whose service is deleted.
func (s *Store) GetServiceSecret(ctx context.Context, id string) (serviceaccount.Secret, error) {
	sc, err := scanSecret(s.read.QueryRowContext(ctx, `SELECT `+secretCols+` FROM service_secrets WHERE id = ?`, id))
	return one(sc, err, errSecretNotFound)
}

// RotateServiceSecret adds next and ends the service's other live secrets:
// at once (revoked at next.CreatedAt) when previousUntil is nil, otherwise
// at previousUntil. A secret already due to expire earlier keeps its earlier
// expiry: a rotation never lengthens an old secret's life.
func (s *Store) RotateServiceSecret(ctx context.Context, serviceID string, next serviceaccount.Secret, previousUntil *time.Time) ([]serviceaccount.Secret, error) {
	var previous []serviceaccount.Secret
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var exists bool
		err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM services WHERE id = ?)`, serviceID).Scan(&exists)
		if err != nil {
			return err
		}
		if !exists {
			return errServiceNotFound()
		}
		now := ts(next.CreatedAt)
		var rows *sql.Rows
		if previousUntil == nil {
			rows, err = tx.QueryContext(ctx,
				`UPDATE service_secrets SET revoked_at = ?
				 WHERE service_id = ? AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?)
				 RETURNING `+secretCols,
				now, serviceID, now)
		} else {
			until := ts(*previousUntil)
			rows, err = tx.QueryContext(ctx,
				`UPDATE service_secrets SET expires_at = min(coalesce(expires_at, ?), ?)
				 WHERE service_id = ? AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?)
				 RETURNING `+secretCols,
				until, until, serviceID, now)
		}
		if err != nil {
			return err
		}
		if previous, err = collect(rows, scanSecret); err != nil {
			return err
		}
		slices.SortFunc(previous, func(a, b serviceaccount.Secret) int { return cmp.Compare(a.ID, b.ID) })
		return insertSecret(ctx, tx, serviceID, next)
	})
	if err != nil {
		return nil, err
	}
	return previous, nil
}

// DeleteService deletes the service and, in the same transaction, revokes
// its unrevoked secrets and every unrevoked key its actor holds in any
// tenant. It returns all their ids in ascending order.
func (s *Store) DeleteService(ctx context.Context, id string, at time.Time) ([]string, error) {
	var revoked []string
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var name string
		err := tx.QueryRowContext(ctx, `DELETE FROM services WHERE id = ? RETURNING name`, id).Scan(&name)
		if _, err := one(name, err, errServiceNotFound); err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx,
			`UPDATE service_secrets SET revoked_at = ? WHERE service_id = ? AND revoked_at IS NULL RETURNING id`,
			ts(at), id)
		if err != nil {
			return err
		}
		secrets, err := sortedIDs(rows)
		if err != nil {
			return err
		}
		keys, err := revokeKeys(ctx, tx, at, `actor_id = ?`, serviceaccount.ActorPrefix+name)
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
