package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// Temporary copy of what agents.go and services.go still call from the
// deleted apikeys.go (now store/sqlstore/apikeys.go), until those files are
// ported too; this file is deleted at merge.

// querier is the pool or a transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
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
