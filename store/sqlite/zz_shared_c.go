package sqlite

import (
	"context"
	"database/sql"
	"time"
)

// Temporary copy of what agents.go and services.go still call from the
// deleted apikeys.go (now store/sqlstore/apikeys.go), until those files are
// ported too; this file is deleted at merge.

// querier is a *sql.DB or a *sql.Tx.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
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
