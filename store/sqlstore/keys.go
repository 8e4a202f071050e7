package sqlstore

import (
	"context"

	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/token"
)

// InsertSigningKey stores k; keys are never updated.
func (s *Store) InsertSigningKey(ctx context.Context, k token.StoredKey) error {
	_, err := s.exec(ctx, s.write,
		`INSERT INTO signing_keys (id, algorithm, public_key, sealed_private_key, created_at) VALUES (?, ?, ?, ?, ?)`,
		k.ID, k.Algorithm, k.PublicKey, k.SealedPrivateKey, s.d.Time(k.CreatedAt))
	if s.violates(err, "signing_keys_pkey") {
		return fault.Conflictf(token.CodeKeyExists, "a signing key with this id exists")
	}
	return s.dbErr(err)
}

// ListSigningKeys returns every key, newest first; ties break by id so the
// order is stable.
func (s *Store) ListSigningKeys(ctx context.Context) ([]token.StoredKey, error) {
	return readAll(ctx, s, scanSigningKey,
		`SELECT id, algorithm, public_key, sealed_private_key, created_at FROM signing_keys
		 ORDER BY created_at DESC, id DESC`)
}

func scanSigningKey(r scanner) (k token.StoredKey, err error) {
	err = r.Scan(&k.ID, &k.Algorithm, &k.PublicKey, &k.SealedPrivateKey, at(&k.CreatedAt))
	return k, err
}

// DeleteSigningKey removes the key with id.
func (s *Store) DeleteSigningKey(ctx context.Context, id string) error {
	res, err := s.exec(ctx, s.write, `DELETE FROM signing_keys WHERE id = ?`, id)
	return s.affectedOne(res, err, func() error { return fault.NotFoundf(token.CodeKeyNotFound, "signing key not found") })
}
