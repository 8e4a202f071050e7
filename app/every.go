package app

import (
	"context"
	"log/slog"
	"time"
)

// every runs fn each interval until ctx ends. A failure is logged and the
// loop goes on: the replica keeps what it last loaded until the store
// answers again.
func every(ctx context.Context, interval time.Duration, log *slog.Logger, what string, fn func(context.Context) error) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := fn(ctx); err != nil && ctx.Err() == nil {
				log.WarnContext(ctx, what+" failed; keeping the previous state", "err", err)
			}
		}
	}
}
