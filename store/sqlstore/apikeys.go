package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/tollgate/tollgate/apikey"
	"github.com/tollgate/tollgate/cursor"
	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/identity"
)

const apiKeyCols = `id, tenant_id, actor_id, created_by, name, scopes, hash, previous_hash, previous_expires_at,
	expires_at, created_at, rotated_at, last_used_at, revoked_at, rate_limit`

func errAPIKeyNotFound() error {
	return fault.NotFoundf(apikey.CodeAPIKeyNotFound, "API key not found")
}

func (s *Store) scanAPIKey(r scanner) (k apikey.Key, err error) {
	err = r.Scan(&k.ID, &k.TenantID, &k.ActorID, &k.CreatedBy, &k.Name, s.d.ScanList(&k.Scopes), &k.Hash, &k.PreviousHash,
		atNull(&k.PreviousExpiresAt), atNull(&k.ExpiresAt), at(&k.CreatedAt), atNull(&k.RotatedAt),
		atNull(&k.LastUsedAt), atNull(&k.RevokedAt), &k.RateLimit)
	return k, err
}

// CreateAPIKey inserts k. NotFound "tenant_not_found" when the tenant does
// not exist.
func (s *Store) CreateAPIKey(ctx context.Context, k apikey.Key) error {
	_, err := s.exec(ctx, s.write,
		`INSERT INTO api_keys (`+apiKeyCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		k.ID, k.TenantID, k.ActorID, k.CreatedBy, k.Name, s.d.List(k.Scopes), k.Hash, nullBytes(k.PreviousHash),
		s.nullTime(k.PreviousExpiresAt), s.nullTime(k.ExpiresAt), s.d.Time(k.CreatedAt), s.nullTime(k.RotatedAt),
		s.nullTime(k.LastUsedAt), s.nullTime(k.RevokedAt), k.RateLimit)
	switch {
	case s.violates(err, "api_keys_pkey"):
		return fault.Conflictf(apikey.CodeAPIKeyExists, "an API key with this id exists")
	case s.violates(err, "api_keys_tenant_fkey"):
		return errTenantNotFound()
	}
	return s.dbErr(err)
}

// GetAPIKey returns the key with id, whatever its tenant.
func (s *Store) GetAPIKey(ctx context.Context, id string) (apikey.Key, error) {
	return get(ctx, s, s.scanAPIKey, errAPIKeyNotFound, `SELECT `+apiKeyCols+` FROM api_keys WHERE id = ?`, id)
}

// ListAPIKeys pages through f.TenantID's keys by id.
func (s *Store) ListAPIKeys(ctx context.Context, f apikey.Filter, p cursor.Page) ([]apikey.Key, error) {
	if f.TenantID == "" {
		// Never read as "every tenant".
		return nil, fault.Invalidf("tenant_id", identity.CodeTenantRequired, "listing API keys needs a tenant")
	}
	p = p.Normalize()
	var q strings.Builder
	args := []any{f.TenantID, p.After}
	q.WriteString(`SELECT ` + apiKeyCols + ` FROM api_keys WHERE tenant_id = ? AND id > ?`)
	if len(f.ActorIDs) > 0 {
		q.WriteString(` AND ` + s.d.InList(`actor_id`))
		args = append(args, s.d.List(f.ActorIDs))
	}
	if !f.IncludeRevoked {
		q.WriteString(` AND revoked_at IS NULL`)
	}
	q.WriteString(` ORDER BY id LIMIT ?`)
	args = append(args, p.Limit)
	return readAll(ctx, s, s.scanAPIKey, q.String(), args...)
}

// RotateAPIKey replaces the key's hash, keeping the old one as the previous
// hash until previousUntil, or dropping it when previousUntil is nil. The
// one UPDATE locks the row, so of two concurrent rotations each keeps the
// hash the other wrote as its previous one, never a lost one.
func (s *Store) RotateAPIKey(ctx context.Context, id string, newHash []byte, previousUntil *time.Time, at time.Time) (apikey.Key, error) {
	// previous_hash = hash reads the value before this update. A
	// transaction of its own carries the act's audit events.
	var k apikey.Key
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		k, err = s.scanAPIKey(s.queryRow(ctx, tx,
			`UPDATE api_keys SET
			   previous_hash = CASE WHEN ? THEN hash END,
			   previous_expires_at = ?,
			   hash = ?,
			   rotated_at = ?
			 WHERE id = ? AND revoked_at IS NULL
			 RETURNING `+apiKeyCols,
			previousUntil != nil, s.nullTime(previousUntil), newHash, s.d.Time(at), id))
		if errors.Is(err, sql.ErrNoRows) {
			return s.apiKeyNotLive(ctx, id)
		}
		return err
	})
	if err != nil {
		return apikey.Key{}, err
	}
	return k, nil
}

// apiKeyNotLive explains why a write to a live key matched nothing: the key
// does not exist, or it is revoked. Keys are never deleted, so a key seen
// revoked stays so.
func (s *Store) apiKeyNotLive(ctx context.Context, id string) error {
	var revoked *time.Time
	err := s.queryRow(ctx, s.read, `SELECT revoked_at FROM api_keys WHERE id = ?`, id).Scan(atNull(&revoked))
	if _, err := one(s, revoked, err, errAPIKeyNotFound); err != nil {
		return err
	}
	return fault.Conflictf(apikey.CodeAPIKeyRevoked, "the API key is revoked")
}

// RevokeAPIKey marks a key revoked unless it already is. Of two concurrent
// calls the second's UPDATE waits for the first and then matches nothing,
// so the first time stays.
func (s *Store) RevokeAPIKey(ctx context.Context, id string, at time.Time) error {
	n, err := s.affected(s.exec(ctx, s.write,
		`UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`, s.d.Time(at), id))
	if err != nil || n > 0 {
		return err
	}
	return s.mustExist(ctx, "api_keys", id, errAPIKeyNotFound)
}

// RevokeActorAPIKeys revokes actorID's unrevoked keys in tenantID and
// returns their ids in ascending order.
func (s *Store) RevokeActorAPIKeys(ctx context.Context, tenantID, actorID string, at time.Time) ([]string, error) {
	var ids []string
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		ids, err = s.revokeKeys(ctx, tx, at, `tenant_id = ? AND actor_id = ?`, tenantID, actorID)
		return err
	})
	if err != nil {
		return nil, err
	}
	return ids, nil
}

// revokeKeys revokes the unrevoked keys matching cond, whose "?"
// parameters are args, and returns their ids in ascending order. q is the
// write pool or a transaction.
func (s *Store) revokeKeys(ctx context.Context, q querier, at time.Time, cond string, args ...any) ([]string, error) {
	rows, err := s.query(ctx, q,
		`UPDATE api_keys SET revoked_at = ? WHERE revoked_at IS NULL AND `+cond+` RETURNING id`,
		append([]any{s.d.Time(at)}, args...)...)
	return sortedIDs(s, rows, err)
}

// sortedIDs scans a one-column result of ids and sorts them, since
// RETURNING gives rows in no particular order. Like collect, it takes the
// query's error.
func sortedIDs(s *Store, rows *sql.Rows, err error) ([]string, error) {
	ids, err := collect(s, rows, err, scanString)
	if err != nil {
		return nil, err
	}
	slices.Sort(ids)
	return ids, nil
}

// SetAPIKeyRateLimit sets the key's own policy spec; "" removes it. A
// revoked key takes it too: it no longer authenticates, so it is moot.
func (s *Store) SetAPIKeyRateLimit(ctx context.Context, id, spec string) error {
	res, err := s.exec(ctx, s.write, `UPDATE api_keys SET rate_limit = ? WHERE id = ?`, spec, id)
	return s.affectedOne(res, err, errAPIKeyNotFound)
}

// touchChunk is the most keys one TouchAPIKeys statement writes, two
// parameters each: well inside both databases' limits.
const touchChunk = 1024

// TouchAPIKeys moves each key's last use forward to used[id], in one
// statement for the whole map (one transaction of several, in id order,
// when it holds more than touchChunk keys). Replicas flush overlapping sets
// of keys at the same time, so the rows are locked in id order first:
// UPDATE … FROM alone locks in whatever order the join produces, and two
// flushes could deadlock (SQLite's single writer needs no lock). The CASE
// (GREATEST, which SQLite lacks) keeps the value monotonic even if another
// flush moved it after the filter was evaluated.
//
// This replaced PostgreSQL's UPDATE … FROM unnest($1::text[],
// $2::timestamptz[]); touching 1,000 keys took about as long with either
// (21–61 ms against 23–51 ms over three runs on a loaded two-core machine),
// so PostgreSQL keeps no statement of its own.
func (s *Store) TouchAPIKeys(ctx context.Context, used map[string]time.Time) error {
	if len(used) == 0 {
		return nil
	}
	ids := make([]string, 0, len(used))
	for id := range used {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	if len(ids) <= touchChunk {
		return s.dbErr(s.touchAPIKeys(ctx, s.write, ids, used))
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		for chunk := range slices.Chunk(ids, touchChunk) {
			if err := s.touchAPIKeys(ctx, tx, chunk, used); err != nil {
				return err
			}
		}
		return nil
	})
}

// touchAPIKeys is one TouchAPIKeys statement for ids, at most touchChunk.
//
// The pairs are a VALUES list. Its first row is a NULL pair typed by the
// columns it stands for: PostgreSQL types the parameters of a VALUES list
// from the list's typed rows and would otherwise take them for text, which
// it cannot compare with a timestamptz. The row matches no key. The list is padded with more NULL pairs to a power of two, so
// that a server that caches prepared statements by their text (pgx does,
// per connection) holds a few sizes of this statement rather than one per
// map size.
func (s *Store) touchAPIKeys(ctx context.Context, q querier, ids []string, used map[string]time.Time) error {
	n := 1
	for n < len(ids) {
		n *= 2
	}
	var values strings.Builder
	args := make([]any, 0, 2*n)
	for i := range n {
		values.WriteString(`, (?, ?)`)
		if i < len(ids) {
			args = append(args, ids[i], s.d.Time(used[ids[i]]))
		} else {
			args = append(args, nil, nil)
		}
	}
	_, err := s.exec(ctx, q,
		`WITH u (id, at) AS (
		   VALUES ((SELECT id FROM api_keys WHERE 1 = 0), (SELECT last_used_at FROM api_keys WHERE 1 = 0))`+
			values.String()+`
		 ), locked AS (
		   SELECT k.id, u.at FROM api_keys k JOIN u ON u.id = k.id
		   WHERE k.last_used_at IS NULL OR k.last_used_at < u.at
		   ORDER BY k.id`+s.d.ForUpdate()+`
		 )
		 UPDATE api_keys SET last_used_at = CASE
		   WHEN last_used_at IS NULL OR last_used_at < locked.at THEN locked.at ELSE last_used_at END
		 FROM locked WHERE api_keys.id = locked.id`,
		args...)
	return err
}

// CountLiveAPIKeys counts actorID's keys in tenantID that are neither
// revoked nor expired at now.
func (s *Store) CountLiveAPIKeys(ctx context.Context, tenantID, actorID string, now time.Time) (int, error) {
	return s.count(ctx,
		`SELECT count(*) FROM api_keys WHERE tenant_id = ? AND actor_id = ? AND revoked_at IS NULL
		 AND (expires_at IS NULL OR expires_at > ?)`,
		tenantID, actorID, s.d.Time(now))
}
