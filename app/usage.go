package app

import (
	"context"
	"fmt"

	"github.com/tollgate/tollgate/usage"
	"github.com/tollgate/tollgate/usage/stream"
)

// OpenUsageStream creates or verifies the JetStream stream of usage events
// and the durable consumer every replica shares, when nats_url is set; the
// consumer then runs with RunBackground. It is apart from New so that a
// replica built for a test or a one-off command provisions nothing on the
// broker; tollgate serve calls it at start-up and fails if it fails.
func (a *App) OpenUsageStream(ctx context.Context) error {
	if a.cfg.NATSURL == "" || a.usageStream != nil {
		return nil
	}
	c, err := stream.Connect(ctx, a.cfg.NATSURL, a.Usage, stream.Options{
		Stream: a.cfg.UsageStream, Subjects: a.cfg.UsageSubjects, Consumer: a.cfg.UsageConsumer,
		MaxAge: a.cfg.UsageStreamMaxAge, DuplicateWindow: a.cfg.UsageDuplicateWindow, Batch: a.cfg.UsageFetchBatch,
		Name: "tollgate-usage", Log: a.log,
		Recorded:   func(r usage.Result) { a.metrics.UsageEvents("nats", r) },
		Terminated: a.metrics.UsageTerminated,
	})
	if err != nil {
		return fmt.Errorf("opening the usage stream: %w", err)
	}
	a.metrics.RegisterGauge("tollgate_usage_consumer_pending",
		"Usage stream messages not yet recorded (undelivered plus unacknowledged), all replicas together, as of the last look (every 5s).",
		func() float64 { return float64(c.Pending()) })
	a.usageStream = c
	return nil
}
