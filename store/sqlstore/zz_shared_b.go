package sqlstore

// Temporary copies of helpers that other ports own (tenants.go, blocks.go,
// apikeys.go), so that agents.go and services.go compile on their own. This
// file is deleted at merge in favour of those ports' definitions.

import (
	"context"
	"time"
)

// revokeKeys revokes the unrevoked keys matching cond and returns their ids
// in ascending order.
func (s *Store) revokeKeys(ctx context.Context, q querier, at time.Time, cond string, args ...any) ([]string, error) {
	rows, err := s.query(ctx, q,
		`UPDATE api_keys SET revoked_at = ? WHERE revoked_at IS NULL AND `+cond+` RETURNING id`,
		append([]any{s.d.Time(at)}, args...)...)
	return sortedIDs(s, rows, err)
}
