package postgres

import (
	"context"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tollgate/tollgate/apikey"
	"github.com/tollgate/tollgate/cursor"
	"github.com/tollgate/tollgate/fault"
)

const apiKeyCols = `id, tenant_id, actor_id, created_by, name, scopes, hash, previous_hash, previous_expires_at,
	expires_at, created_at, rotated_at, last_used_at, revoked_at, rate_limit`

func errAPIKeyNotFound() error { return fault.NotFoundf("api_key_not_found", "API key not found") }

// querier is the pool or a transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

func scanAPIKey(r pgx.Row) (apikey.Key, error) {
	var k apikey.Key
	err := r.Scan(&k.ID, &k.TenantID, &k.ActorID, &k.CreatedBy, &k.Name, &k.Scopes, &k.Hash, &k.PreviousHash,
		&k.PreviousExpiresAt, &k.ExpiresAt, &k.CreatedAt, &k.RotatedAt, &k.LastUsedAt, &k.RevokedAt, &k.RateLimit)
	if err != nil {
		return apikey.Key{}, err
	}
	k.CreatedAt = k.CreatedAt.UTC()
	k.PreviousExpiresAt, k.ExpiresAt = utcPtr(k.PreviousExpiresAt), utcPtr(k.ExpiresAt)
	k.RotatedAt, k.LastUsedAt, k.RevokedAt = utcPtr(k.RotatedAt), utcPtr(k.LastUsedAt), utcPtr(k.RevokedAt)
	return k, nil
}

// CreateAPIKey inserts k. NotFound "tenant_not_found" when the tenant does
// not exist.
func (s *Store) CreateAPIKey(ctx context.Context, k apikey.Key) error {
	_, err := s.pool.Exec(ctx,
		`INSERT INTO api_keys (`+apiKeyCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
		k.ID, k.TenantID, k.ActorID, k.CreatedBy, k.Name, list(k.Scopes), k.Hash, nullBytes(k.PreviousHash),
		tsPtr(k.PreviousExpiresAt), tsPtr(k.ExpiresAt), ts(k.CreatedAt), tsPtr(k.RotatedAt),
		tsPtr(k.LastUsedAt), tsPtr(k.RevokedAt), k.RateLimit)
	switch violated(err) {
	case "api_keys_pkey":
		return fault.Conflictf("api_key_exists", "an API key with this id exists")
	case "api_keys_tenant_fkey":
		return errTenantNotFound()
	}
	return dbErr(err)
}

// GetAPIKey returns the key with id, whatever its tenant.
func (s *Store) GetAPIKey(ctx context.Context, id string) (apikey.Key, error) {
	k, err := scanAPIKey(s.pool.QueryRow(ctx, `SELECT `+apiKeyCols+` FROM api_keys WHERE id = $1`, id))
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
	args := []any{f.TenantID, p.After, p.Limit}
	q.WriteString(`SELECT ` + apiKeyCols + ` FROM api_keys WHERE tenant_id = $1 AND id > $2`)
	if len(f.ActorIDs) > 0 {
		q.WriteString(` AND actor_id = ANY ($4)`)
		args = append(args, f.ActorIDs)
	}
	if !f.IncludeRevoked {
		q.WriteString(` AND revoked_at IS NULL`)
	}
	q.WriteString(` ORDER BY id LIMIT $3`)
	rows, err := s.pool.Query(ctx, q.String(), args...)
	if err != nil {
		return nil, dbErr(err)
	}
	return collect(rows, scanAPIKey)
}

// RotateAPIKey replaces the key's hash, keeping the old one as the previous
// hash until previousUntil, or dropping it when previousUntil is nil. The
// one UPDATE locks the row, so of two concurrent rotations each keeps the
// hash the other wrote as its previous one, never a lost one.
func (s *Store) RotateAPIKey(ctx context.Context, id string, newHash []byte, previousUntil *time.Time, at time.Time) (apikey.Key, error) {
	// previous_hash = hash reads the value before this update.
	k, err := scanAPIKey(s.pool.QueryRow(ctx,
		`UPDATE api_keys SET
		   previous_hash = CASE WHEN $1 THEN hash END,
		   previous_expires_at = $2,
		   hash = $3,
		   rotated_at = $4
		 WHERE id = $5 AND revoked_at IS NULL
		 RETURNING `+apiKeyCols,
		previousUntil != nil, tsPtr(previousUntil), newHash, ts(at), id))
	if isNoRows(err) {
		return apikey.Key{}, s.apiKeyNotLive(ctx, id)
	}
	if err != nil {
		return apikey.Key{}, dbErr(err)
	}
	return k, nil
}

// apiKeyNotLive explains why a write to a live key matched nothing: the key
// does not exist, or it is revoked. Keys are never deleted, so a key seen
// revoked stays so.
func (s *Store) apiKeyNotLive(ctx context.Context, id string) error {
	var revoked *time.Time
	err := s.pool.QueryRow(ctx, `SELECT revoked_at FROM api_keys WHERE id = $1`, id).Scan(&revoked)
	if isNoRows(err) {
		return errAPIKeyNotFound()
	}
	if err != nil {
		return dbErr(err)
	}
	return fault.Conflictf("api_key_revoked", "the API key is revoked")
}

// RevokeAPIKey marks a key revoked unless it already is. Of two concurrent
// calls the second's UPDATE waits for the first and then matches nothing,
// so the first time stays.
func (s *Store) RevokeAPIKey(ctx context.Context, id string, at time.Time) error {
	tag, err := s.pool.Exec(ctx,
		`UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL`, ts(at), id)
	if err != nil {
		return dbErr(err)
	}
	if tag.RowsAffected() > 0 {
		return nil
	}
	var exists bool
	if err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM api_keys WHERE id = $1)`, id).Scan(&exists); err != nil {
		return dbErr(err)
	}
	if !exists {
		return errAPIKeyNotFound()
	}
	return nil
}

// RevokeActorAPIKeys revokes actorID's unrevoked keys in tenantID and
// returns their ids in ascending order.
func (s *Store) RevokeActorAPIKeys(ctx context.Context, tenantID, actorID string, at time.Time) ([]string, error) {
	ids, err := revokeKeys(ctx, s.pool, at, `tenant_id = $2 AND actor_id = $3`, tenantID, actorID)
	if err != nil {
		return nil, dbErr(err)
	}
	return ids, nil
}

// revokeKeys revokes the unrevoked keys matching cond, whose parameters
// start at $2, and returns their ids in ascending order.
func revokeKeys(ctx context.Context, q querier, at time.Time, cond string, args ...any) ([]string, error) {
	rows, err := q.Query(ctx,
		`UPDATE api_keys SET revoked_at = $1 WHERE revoked_at IS NULL AND `+cond+` RETURNING id`,
		append([]any{ts(at)}, args...)...)
	if err != nil {
		return nil, err
	}
	return sortedIDs(rows)
}

// SetAPIKeyRateLimit sets the key's own policy spec; "" removes it. A
// revoked key takes it too: it no longer authenticates, so it is moot.
func (s *Store) SetAPIKeyRateLimit(ctx context.Context, id, spec string) error {
	tag, err := s.pool.Exec(ctx, `UPDATE api_keys SET rate_limit = $1 WHERE id = $2`, spec, id)
	return affectedOne(tag, err, errAPIKeyNotFound)
}

// TouchAPIKeys moves each key's last use forward to used[id], in one
// statement for the whole map. Replicas flush overlapping sets of keys at
// the same time, so the rows are locked in id order first: UPDATE … FROM
// alone locks in whatever order the join produces, and two flushes could
// deadlock. GREATEST keeps the value monotonic even if another flush moved
// it after the filter was evaluated.
func (s *Store) TouchAPIKeys(ctx context.Context, used map[string]time.Time) error {
	if len(used) == 0 {
		return nil
	}
	ids := make([]string, 0, len(used))
	times := make([]time.Time, 0, len(used))
	for id, t := range used {
		ids = append(ids, id)
		times = append(times, ts(t))
	}
	_, err := s.pool.Exec(ctx,
		`WITH u AS (
		   SELECT * FROM unnest($1::text[], $2::timestamptz[]) AS u (id, at)
		 ), locked AS (
		   SELECT k.id, u.at FROM api_keys k JOIN u ON u.id = k.id
		   WHERE k.last_used_at IS NULL OR k.last_used_at < u.at
		   ORDER BY k.id
		   FOR UPDATE OF k
		 )
		 UPDATE api_keys k SET last_used_at = GREATEST(k.last_used_at, locked.at)
		 FROM locked WHERE k.id = locked.id`,
		ids, times)
	return dbErr(err)
}
