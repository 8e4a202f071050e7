package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/token"
)

// InsertSigningKey stores k; keys are never updated.
func (s *Store) InsertSigningKey(ctx context.Context, k token.StoredKey) error {
	_, err := s.pool.Exec(ctx,
		`INSERT INTO signing_keys (id, algorithm, public_key, sealed_private_key, created_at) VALUES ($1, $2, $3, $4, $5)`,
		k.ID, k.Algorithm, k.PublicKey, k.SealedPrivateKey, ts(k.CreatedAt))
	if violated(err) == "signing_keys_pkey" {
		return fault.Conflictf("key_exists", "a signing key with this id exists")
	}
	return dbErr(err)
}

// ListSigningKeys returns every key, newest first; ties break by id so the
// order is stable.
func (s *Store) ListSigningKeys(ctx context.Context) ([]token.StoredKey, error) {
	rows, err := s.pool.Query(ctx,
		`SELECT id, algorithm, public_key, sealed_private_key, created_at FROM signing_keys
		 ORDER BY created_at DESC, id DESC`)
	if err != nil {
		return nil, dbErr(err)
	}
	return collect(rows, func(r pgx.Row) (token.StoredKey, error) {
		var k token.StoredKey
		err := r.Scan(&k.ID, &k.Algorithm, &k.PublicKey, &k.SealedPrivateKey, &k.CreatedAt)
		k.CreatedAt = k.CreatedAt.UTC()
		return k, err
	})
}

// DeleteSigningKey removes the key with id.
func (s *Store) DeleteSigningKey(ctx context.Context, id string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM signing_keys WHERE id = $1`, id)
	return affectedOne(tag, err, func() error { return fault.NotFoundf("key_not_found", "signing key not found") })
}
