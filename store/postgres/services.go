package postgres

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

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

func scanService(r pgx.Row) (serviceaccount.Service, error) {
	var sv serviceaccount.Service
	err := r.Scan(&sv.ID, &sv.Name, &sv.Description, &sv.Scopes, &sv.Status, &sv.CreatedAt, &sv.UpdatedAt)
	if err != nil {
		return serviceaccount.Service{}, err
	}
	sv.CreatedAt, sv.UpdatedAt = sv.CreatedAt.UTC(), sv.UpdatedAt.UTC()
	return sv, nil
}

func scanSecret(r pgx.Row) (serviceaccount.Secret, error) {
	var sc serviceaccount.Secret
	if err := r.Scan(&sc.ID, &sc.ServiceID, &sc.Hash, &sc.CreatedAt, &sc.ExpiresAt, &sc.RevokedAt); err != nil {
		return serviceaccount.Secret{}, err
	}
	sc.CreatedAt, sc.ExpiresAt, sc.RevokedAt = sc.CreatedAt.UTC(), utcPtr(sc.ExpiresAt), utcPtr(sc.RevokedAt)
	return sc, nil
}

// insertSecret stores sc as a secret of serviceID, whatever ServiceID sc
// carries.
func insertSecret(ctx context.Context, tx pgx.Tx, serviceID string, sc serviceaccount.Secret) error {
	_, err := tx.Exec(ctx,
		`INSERT INTO service_secrets (`+secretCols+`) VALUES ($1, $2, $3, $4, $5, $6)`,
		sc.ID, serviceID, sc.Hash, ts(sc.CreatedAt), tsPtr(sc.ExpiresAt), tsPtr(sc.RevokedAt))
	if violated(err) == "service_secrets_pkey" {
		return fault.Conflictf("service_secret_exists", "a service secret with this id exists")
	}
	return err
}

// CreateService inserts sv and its first secret in one transaction.
func (s *Store) CreateService(ctx context.Context, sv serviceaccount.Service, first serviceaccount.Secret) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx,
			`INSERT INTO services (`+serviceCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			sv.ID, sv.Name, sv.Description, list(sv.Scopes), string(sv.Status), ts(sv.CreatedAt), ts(sv.UpdatedAt))
		switch violated(err) {
		case "services_name_key":
			return fault.Conflictf("service_name_taken", "a service with this name exists")
		case "services_pkey":
			return fault.Conflictf("service_exists", "a service with this id exists")
		}
		if err != nil {
			return err
		}
		return insertSecret(ctx, tx, sv.ID, first)
	})
}

// GetService returns the service with id.
func (s *Store) GetService(ctx context.Context, id string) (serviceaccount.Service, error) {
	sv, err := scanService(s.pool.QueryRow(ctx, `SELECT `+serviceCols+` FROM services WHERE id = $1`, id))
	return one(sv, err, errServiceNotFound)
}

// GetServiceByName returns the service called name.
func (s *Store) GetServiceByName(ctx context.Context, name string) (serviceaccount.Service, error) {
	sv, err := scanService(s.pool.QueryRow(ctx, `SELECT `+serviceCols+` FROM services WHERE name = $1`, name))
	return one(sv, err, errServiceNotFound)
}

// ListServices pages through every service by id.
func (s *Store) ListServices(ctx context.Context, p cursor.Page) ([]serviceaccount.Service, error) {
	p = p.Normalize()
	rows, err := s.pool.Query(ctx,
		`SELECT `+serviceCols+` FROM services WHERE id > $1 ORDER BY id LIMIT $2`, p.After, p.Limit)
	if err != nil {
		return nil, dbErr(err)
	}
	return collect(rows, scanService)
}

// UpdateService writes sv's description, scopes, status and update time; the
// name is part of the actor id and never changes.
func (s *Store) UpdateService(ctx context.Context, sv serviceaccount.Service) error {
	tag, err := s.pool.Exec(ctx,
		`UPDATE services SET description = $1, scopes = $2, status = $3, updated_at = $4 WHERE id = $5`,
		sv.Description, list(sv.Scopes), string(sv.Status), ts(sv.UpdatedAt), sv.ID)
	return affectedOne(tag, err, errServiceNotFound)
}

// GetServiceSecret returns the secret with id, also one that is revoked or
// whose service is deleted.
func (s *Store) GetServiceSecret(ctx context.Context, id string) (serviceaccount.Secret, error) {
	sc, err := scanSecret(s.pool.QueryRow(ctx, `SELECT `+secretCols+` FROM service_secrets WHERE id = $1`, id))
	return one(sc, err, errSecretNotFound)
}

// RotateServiceSecret adds next and ends the service's other live secrets:
// at once (revoked at next.CreatedAt) when previousUntil is nil, otherwise
// at previousUntil. A secret already due to expire earlier keeps its earlier
// expiry: a rotation never lengthens an old secret's life. The service row
// is locked first, so rotations of one service and its deletion queue.
func (s *Store) RotateServiceSecret(ctx context.Context, serviceID string, next serviceaccount.Secret, previousUntil *time.Time) ([]serviceaccount.Secret, error) {
	var previous []serviceaccount.Secret
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if err := lockService(ctx, tx, serviceID); err != nil {
			return err
		}
		var rows pgx.Rows
		var err error
		if previousUntil == nil {
			rows, err = tx.Query(ctx,
				`UPDATE service_secrets SET revoked_at = $1
				 WHERE service_id = $2 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $1)
				 RETURNING `+secretCols,
				ts(next.CreatedAt), serviceID)
		} else {
			rows, err = tx.Query(ctx,
				`UPDATE service_secrets SET expires_at = LEAST(expires_at, $1)
				 WHERE service_id = $2 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $3)
				 RETURNING `+secretCols,
				ts(*previousUntil), serviceID, ts(next.CreatedAt))
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

func lockService(ctx context.Context, tx pgx.Tx, id string) error {
	var one int
	err := tx.QueryRow(ctx, `SELECT 1 FROM services WHERE id = $1 FOR UPDATE`, id).Scan(&one)
	if isNoRows(err) {
		return errServiceNotFound()
	}
	return err
}

// DeleteService deletes the service and, in the same transaction, revokes
// its unrevoked secrets and every unrevoked key its actor holds in any
// tenant. It returns all their ids in ascending order.
func (s *Store) DeleteService(ctx context.Context, id string, at time.Time) ([]string, error) {
	var revoked []string
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var name string
		err := tx.QueryRow(ctx, `DELETE FROM services WHERE id = $1 RETURNING name`, id).Scan(&name)
		if isNoRows(err) {
			return errServiceNotFound()
		}
		if err != nil {
			return err
		}
		rows, err := tx.Query(ctx,
			`UPDATE service_secrets SET revoked_at = $1 WHERE service_id = $2 AND revoked_at IS NULL RETURNING id`,
			ts(at), id)
		if err != nil {
			return err
		}
		secrets, err := sortedIDs(rows)
		if err != nil {
			return err
		}
		keys, err := revokeKeys(ctx, tx, at, `actor_id = $2`, serviceaccount.ActorPrefix+name)
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
