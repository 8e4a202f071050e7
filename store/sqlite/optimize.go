package sqlite

import (
	"context"
	"time"

	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/store"
)

// optimizeEvery is how often the writer refreshes the planner's
// statistics. Without them SQLite reads a filtered page of the audit log
// (by actor, target or action) through the primary key, the whole stream
// of the tenant, rather than through the index made for the filter: it
// prefers the covering key to an index it knows nothing about.
const optimizeEvery = 10 * time.Minute

// Optimize runs PRAGMA optimize over every table (0x10002): ANALYZE,
// bounded by the analysis limit the pragma sets itself, on the tables that
// were never analyzed or have grown or shrunk a lot since. When nothing
// changed it does nothing, so running it often is cheap.
func (s *Store) Optimize(ctx context.Context) error {
	if _, err := s.write.ExecContext(ctx, "PRAGMA optimize=0x10002"); err != nil {
		return fault.Wrap(fault.Unavailable, store.CodeStoreUnavailable, err)
	}
	return nil
}

// optimize runs Optimize every optimizeEvery until stop closes. A failure
// waits for the next turn: stale statistics slow queries, never break
// them.
func (s *Store) optimize(stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(optimizeEvery)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			_ = s.Optimize(ctx)
			cancel()
		case <-stop:
			return
		}
	}
}
