package sqlstore

import (
	"context"
	"time"

	"github.com/tollgate/tollgate/credential"
)

// defaultRevokedLimit applies when RevokedSince is given no positive limit.
const defaultRevokedLimit = 1000

// revokedAfter is one arm of the revocation feed: a table's revocations
// after the position (since, afterID), in (revoked_at, id) order, at most
// limit; it takes those three parameters in that order. The row comparison
// seeks the (revoked_at, id) index to the position and the LIMIT stops the
// walk early, so an arm reads only what it may return. SQLite allows ORDER
// BY and LIMIT only on a compound's last SELECT, hence the subquery.
func revokedAfter(table string) string {
	return `SELECT * FROM (SELECT id, revoked_at FROM ` + table + `
	  WHERE (revoked_at, id) > (?, ?)
	  ORDER BY revoked_at, id LIMIT ?) AS arm`
}

// revokedSinceQuery merges the three arms. Ids are unique across sessions,
// API keys and service secrets, so (revoked_at, id) orders the union
// totally and keyset paging works across it. Its parameters are each arm's
// three, then the limit.
var revokedSinceQuery = revokedAfter("sessions") +
	` UNION ALL ` + revokedAfter("api_keys") +
	` UNION ALL ` + revokedAfter("service_secrets") +
	` ORDER BY revoked_at, id LIMIT ?`

// RevokedSince lists revoked sessions, API keys and service secrets after
// the position (since, afterID) in (revoked_at, id) order; afterID ""
// includes every revocation at since.
func (s *Store) RevokedSince(ctx context.Context, since time.Time, afterID string, limit int) ([]credential.Revocation, error) {
	if limit <= 0 {
		limit = defaultRevokedLimit
	}
	t := s.d.Time(since)
	return readAll(ctx, s, scanRevocation, revokedSinceQuery,
		t, afterID, limit,
		t, afterID, limit,
		t, afterID, limit,
		limit)
}

func scanRevocation(r scanner) (rev credential.Revocation, err error) {
	err = r.Scan(&rev.ID, at(&rev.RevokedAt))
	return rev, err
}
