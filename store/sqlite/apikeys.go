package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/tollgate/tollgate/apikey"
	"github.com/tollgate/tollgate/cursor"
	"github.com/tollgate/tollgate/fault"
)

const apiKeyCols = `id, tenant_id, actor_id, created_by, name, scopes, hash, previous_hash, previous_expires_at,
	expires_at, created_at, rotated_at, last_used_at, revoked_at, rate_limit`

func errAPIKeyNotFound() error { return fault.NotFoundf("api_key_not_found", "API key not found") }

// querier is a *sql.DB or a *sql.Tx.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func scanAPIKey(r scanner) (apikey.Key, error) {
	var k apikey.Key
	var scopes string
	var created int64
	var prevExpires, expires, rotated, lastUsed, revoked sql.NullInt64
	err := r.Scan(&k.ID, &k.TenantID, &k.ActorID, &k.CreatedBy, &k.Name, &scopes, &k.Hash, &k.PreviousHash,
		&prevExpires, &expires, &created, &rotated, &lastUsed, &revoked, &k.RateLimit)
	if err != nil {
		return apikey.Key{}, err
	}
	if k.Scopes, err = decodeList(scopes); err != nil {
		return apikey.Key{}, err
	}
	k.CreatedAt = fromTS(created)
	k.PreviousExpiresAt, k.ExpiresAt = fromNullTS(prevExpires), fromNullTS(expires)
	k.RotatedAt, k.LastUsedAt, k.RevokedAt = fromNullTS(rotated), fromNullTS(lastUsed), fromNullTS(revoked)
	return k, nil
}

// CreateAPIKey inserts k. NotFound "tenant_not_found" when the tenant does
// not exist.
func (s *Store) CreateAPIKey(ctx context.Context, k apikey.Key) error {
	_, err := s.write.ExecContext(ctx,
		`INSERT INTO api_keys (`+apiKeyCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		k.ID, k.TenantID, k.ActorID, k.CreatedBy, k.Name, encodeList(k.Scopes), k.Hash, nullBytes(k.PreviousHash),
		nullTS(k.PreviousExpiresAt), nullTS(k.ExpiresAt), ts(k.CreatedAt), nullTS(k.RotatedAt),
		nullTS(k.LastUsedAt), nullTS(k.RevokedAt), k.RateLimit)
	switch {
	case isUnique(err, "api_keys.id"):
		return fault.Conflictf("api_key_exists", "an API key with this id exists")
	case isForeignKey(err):
		return errTenantNotFound()
	}
	return dbErr(err)
}

// GetAPIKey returns the key with id, whatever its tenant.
func (s *Store) GetAPIKey(ctx context.Context, id string) (apikey.Key, error) {
	k, err := scanAPIKey(s.read.QueryRowContext(ctx, `SELECT `+apiKeyCols+` FROM api_keys WHERE id = ?`, id))
	return one(k, err, errAPIKeyNotFound)
}

// ListAPIKeys pages through f.TenantID's keys by id.
func (s *Store) ListAPIKeys(ctx context.Context, f apikey.Filter, p cursor.Page) ([]apikey.Key, error) {
	if f.TenantID == "" {
		// Never read as "every tenant".
		return nil, fault.Invalidf("tenant_id", "tenant_required", "listing API keys needs a tenant")
	}
	p = p.Normalize()
	var q strings.Builder
	args := []any{f.TenantID, p.After}
	q.WriteString(`SELECT ` + apiKeyCols + ` FROM api_keys WHERE tenant_id = ? AND id > ?`)
	if len(f.ActorIDs) > 0 {
		q.WriteString(` AND actor_id IN (SELECT value FROM json_each(?))`)
		args = append(args, encodeList(f.ActorIDs))
	}
	if !f.IncludeRevoked {
		q.WriteString(` AND revoked_at IS NULL`)
	}
	q.WriteString(` ORDER BY id LIMIT ?`)
	args = append(args, p.Limit)
	rows, err := s.read.QueryContext(ctx, q.String(), args...)
	if err != nil {
		return nil, dbErr(err)
	}
	return collect(rows, scanAPIKey)
}

// RotateAPIKey replaces the key's hash, keeping the old one as the previous
// hash until previousUntil, or dropping it when previousUntil is nil.
func (s *Store) RotateAPIKey(ctx context.Context, id string, newHash []byte, previousUntil *time.Time, at time.Time) (apikey.Key, error) {
	var out apikey.Key
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		// previous_hash = hash reads the value before this update.
		k, err := scanAPIKey(tx.QueryRowContext(ctx,
			`UPDATE api_keys SET
			   previous_hash = CASE WHEN ? THEN hash END,
			   previous_expires_at = ?,
			   hash = ?,
			   rotated_at = ?
			 WHERE id = ? AND revoked_at IS NULL
			 RETURNING `+apiKeyCols,
			previousUntil != nil, nullTS(previousUntil), newHash, ts(at), id))
		if errors.Is(err, sql.ErrNoRows) {
			return apiKeyNotLive(ctx, tx, id)
		}
		out = k
		return err
	})
	if err != nil {
		return apikey.Key{}, err
	}
	return out, nil
}

// apiKeyNotLive explains why a write to a live key matched nothing: the key
// does not exist, or it is revoked.
func apiKeyNotLive(ctx context.Context, tx *sql.Tx, id string) error {
	var revoked sql.NullInt64
	err := tx.QueryRowContext(ctx, `SELECT revoked_at FROM api_keys WHERE id = ?`, id).Scan(&revoked)
	if errors.Is(err, sql.ErrNoRows) {
		return errAPIKeyNotFound()
	}
	if err != nil {
		return err
	}
	return fault.Conflictf("api_key_revoked", "the API key is revoked")
}

// RevokeAPIKey marks a key revoked unless it already is; the first
// revocation's time stays.
func (s *Store) RevokeAPIKey(ctx context.Context, id string, at time.Time) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		var exists bool
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM api_keys WHERE id = ?)`, id).Scan(&exists); err != nil {
			return err
		}
		if !exists {
			return errAPIKeyNotFound()
		}
		_, err := tx.ExecContext(ctx,
			`UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`, ts(at), id)
		return err
	})
}

// RevokeActorAPIKeys revokes actorID's unrevoked keys in tenantID and
// returns their ids in ascending order.
func (s *Store) RevokeActorAPIKeys(ctx context.Context, tenantID, actorID string, at time.Time) ([]string, error) {
	ids, err := revokeKeys(ctx, s.write, at, `tenant_id = ? AND actor_id = ?`, tenantID, actorID)
	if err != nil {
		return nil, dbErr(err)
	}
	return ids, nil
}

// revokeKeys revokes the unrevoked keys matching cond and returns their ids
// in ascending order.
func revokeKeys(ctx context.Context, q querier, at time.Time, cond string, args ...any) ([]string, error) {
	rows, err := q.QueryContext(ctx,
		`UPDATE api_keys SET revoked_at = ? WHERE revoked_at IS NULL AND `+cond+` RETURNING id`,
		append([]any{ts(at)}, args...)...)
	if err != nil {
		return nil, err
	}
	return sortedIDs(rows)
}

// SetAPIKeyRateLimit sets the key's own policy spec; "" removes it. A
// revoked key takes it too: it no longer authenticates, so it is moot.
func (s *Store) SetAPIKeyRateLimit(ctx context.Context, id, spec string) error {
	res, err := s.write.ExecContext(ctx, `UPDATE api_keys SET rate_limit = ? WHERE id = ?`, spec, id)
	return affectedOne(res, err, errAPIKeyNotFound)
}

// TouchAPIKeys moves each key's last use forward to used[id], in one
// statement for the whole map.
func (s *Store) TouchAPIKeys(ctx context.Context, used map[string]time.Time) error {
	if len(used) == 0 {
		return nil
	}
	m := make(map[string]int64, len(used))
	for id, t := range used {
		m[id] = ts(t)
	}
	b, err := json.Marshal(m)
	if err != nil {
		return dbErr(err)
	}
	_, err = s.write.ExecContext(ctx,
		`UPDATE api_keys SET last_used_at = u.at
		 FROM (SELECT key AS id, value AS at FROM json_each(?)) AS u
		 WHERE api_keys.id = u.id AND (api_keys.last_used_at IS NULL OR api_keys.last_used_at < u.at)`,
		string(b))
	return dbErr(err)
}
