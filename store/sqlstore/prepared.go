package sqlstore

import (
	"context"
	"database/sql"
	"sync"
)

// stmtCache holds statements prepared once on the write pool. SQLite's
// driver parses a statement on every Exec; for the audit log's multi-row
// INSERT (2,000 placeholders) parsing cost more than the rows. PostgreSQL's
// driver caches statements itself, so there it changes little. Only a
// fixed set of query texts goes through it, so it stays small.
type stmtCache struct {
	mu    sync.Mutex
	stmts map[string]*sql.Stmt
}

// prepare prepares queries on the write pool, each once. It must not be
// called inside a transaction: SQLite's write pool has one connection,
// which the transaction holds.
func (s *Store) prepare(ctx context.Context, queries ...string) error {
	s.stmts.mu.Lock()
	defer s.stmts.mu.Unlock()
	for _, q := range queries {
		if _, ok := s.stmts.stmts[q]; ok {
			continue
		}
		st, err := s.write.PrepareContext(ctx, s.d.Rebind(q))
		if err != nil {
			return s.dbErr(err)
		}
		if s.stmts.stmts == nil {
			s.stmts.stmts = map[string]*sql.Stmt{}
		}
		s.stmts.stmts[q] = st
	}
	return nil
}

// execIn runs query in tx through its prepared statement when prepare has
// made one, or parsed afresh otherwise.
func (s *Store) execIn(ctx context.Context, tx *sql.Tx, query string, args ...any) (sql.Result, error) {
	s.stmts.mu.Lock()
	st := s.stmts.stmts[query]
	s.stmts.mu.Unlock()
	if st == nil {
		return tx.ExecContext(ctx, s.d.Rebind(query), args...)
	}
	return tx.StmtContext(ctx, st).ExecContext(ctx, args...)
}

// close closes every cached statement.
func (c *stmtCache) close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var first error
	for _, st := range c.stmts {
		if err := st.Close(); err != nil && first == nil {
			first = err
		}
	}
	c.stmts = nil
	return first
}
