package sqlite

import (
	"context"

	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/token"
)

// InsertSigningKey stores k; keys are never updated.
func (s *Store) InsertSigningKey(ctx context.Context, k token.StoredKey) error {
	_, err := s.write.ExecContext(ctx,
		`INSERT INTO signing_keys (id, algorithm, public_key, sealed_private_key, created_at) VALUES (?, ?, ?, ?, ?)`,
		k.ID, k.Algorithm, k.PublicKey, k.SealedPrivateKey, ts(k.CreatedAt))
	if isUnique(err, "signing_keys.id") {
		return fault.Conflictf("key_exists", "a signing key with this id exists")
	}
	return dbErr(err)
}

// ListSigningKeys returns every key, newest first; ties break by id so the
// order is stable.
func (s *Store) ListSigningKeys(ctx context.Context) ([]token.StoredKey, error) {
	rows, err := s.read.QueryContext(ctx,
		`SELECT id, algorithm, public_key, sealed_private_key, created_at FROM signing_keys
		 ORDER BY created_at DESC, id DESC`)
	if err != nil {
		return nil, dbErr(err)
	}
	return collect(rows, func(r scanner) (token.StoredKey, error) {
		var k token.StoredKey
		var created int64
		err := r.Scan(&k.ID, &k.Algorithm, &k.PublicKey, &k.SealedPrivateKey, &created)
		k.CreatedAt = fromTS(created)
		return k, err
	})
}

// DeleteSigningKey removes the key with id.
func (s *Store) DeleteSigningKey(ctx context.Context, id string) error {
	res, err := s.write.ExecContext(ctx, `DELETE FROM signing_keys WHERE id = ?`, id)
	return affectedOne(res, err, func() error { return fault.NotFoundf("key_not_found", "signing key not found") })
}
