package sqlstore

import (
	"context"

	"github.com/tollgate/tollgate/audit"
	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/token"
)

// keyTable is a table of token.StoredKey rows. The token signing keys and
// the audit digest keys have the same shape and rules in tables of their
// own, so that each keyring sees only its keys.
type keyTable struct {
	s     *Store
	table string // also the prefix of its primary key's name
	// permanent keys are never deleted: the audit digest keys must verify
	// every digest they ever signed.
	permanent bool
}

// InsertSigningKey stores k; keys are never updated.
func (s *Store) InsertSigningKey(ctx context.Context, k token.StoredKey) error {
	return keyTable{s: s, table: "signing_keys"}.InsertSigningKey(ctx, k)
}

// ListSigningKeys returns every key, newest first; ties break by id so the
// order is stable.
func (s *Store) ListSigningKeys(ctx context.Context) ([]token.StoredKey, error) {
	return keyTable{s: s, table: "signing_keys"}.ListSigningKeys(ctx)
}

// DeleteSigningKey removes the key with id.
func (s *Store) DeleteSigningKey(ctx context.Context, id string) error {
	return keyTable{s: s, table: "signing_keys"}.DeleteSigningKey(ctx, id)
}

func (t keyTable) InsertSigningKey(ctx context.Context, k token.StoredKey) error {
	s := t.s
	_, err := s.exec(ctx, s.write,
		`INSERT INTO `+t.table+` (id, algorithm, public_key, sealed_private_key, created_at) VALUES (?, ?, ?, ?, ?)`,
		k.ID, k.Algorithm, k.PublicKey, k.SealedPrivateKey, s.d.Time(k.CreatedAt))
	if s.violates(err, t.table+"_pkey") {
		return fault.Conflictf(token.CodeKeyExists, "a signing key with this id exists")
	}
	return s.dbErr(err)
}

func (t keyTable) ListSigningKeys(ctx context.Context) ([]token.StoredKey, error) {
	s := t.s
	return readAll(ctx, s, scanSigningKey,
		`SELECT id, algorithm, public_key, sealed_private_key, created_at FROM `+t.table+`
		 ORDER BY created_at DESC, id DESC`)
}

func scanSigningKey(r scanner) (k token.StoredKey, err error) {
	err = r.Scan(&k.ID, &k.Algorithm, &k.PublicKey, &k.SealedPrivateKey, at(&k.CreatedAt))
	return k, err
}

func (t keyTable) DeleteSigningKey(ctx context.Context, id string) error {
	s := t.s
	if t.permanent {
		return fault.Conflictf(audit.CodeDigestKeyPermanent, "audit digest keys are never deleted")
	}
	res, err := s.exec(ctx, s.write, `DELETE FROM `+t.table+` WHERE id = ?`, id)
	return s.affectedOne(res, err, func() error { return fault.NotFoundf(token.CodeKeyNotFound, "signing key not found") })
}
