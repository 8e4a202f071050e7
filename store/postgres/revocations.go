package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/tollgate/tollgate/credential"
)

// defaultRevokedLimit applies when RevokedSince is given no positive limit.
const defaultRevokedLimit = 1000

// revokedAfter is one arm of the revocation feed: a table's revocations
// after the position ($1, $2), in (revoked_at, id) order, at most $3. The
// row comparison is a range on the (revoked_at, id) index, so each arm
// reads only what it returns, and the LIMIT stops it early.
func revokedAfter(table string) string {
	return `(SELECT id, revoked_at FROM ` + table + `
	  WHERE (revoked_at, id) > ($1, $2)
	  ORDER BY revoked_at, id LIMIT $3)`
}

// revokedSinceQuery merges the three arms. Ids are unique across sessions,
// API keys and service secrets, so (revoked_at, id) orders the union
// totally and keyset paging works across it.
var revokedSinceQuery = revokedAfter("sessions") +
	` UNION ALL ` + revokedAfter("api_keys") +
	` UNION ALL ` + revokedAfter("service_secrets") +
	` ORDER BY revoked_at, id LIMIT $3`

// RevokedSince lists revoked sessions, API keys and service secrets after
// the position (since, afterID) in (revoked_at, id) order; afterID ""
// includes every revocation at since.
func (s *Store) RevokedSince(ctx context.Context, since time.Time, afterID string, limit int) ([]credential.Revocation, error) {
	if limit <= 0 {
		limit = defaultRevokedLimit
	}
	rows, err := s.pool.Query(ctx, revokedSinceQuery, ts(since), afterID, limit)
	if err != nil {
		return nil, dbErr(err)
	}
	return collect(rows, func(r pgx.Row) (credential.Revocation, error) {
		var rev credential.Revocation
		err := r.Scan(&rev.ID, &rev.RevokedAt)
		rev.RevokedAt = rev.RevokedAt.UTC()
		return rev, err
	})
}
