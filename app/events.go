package app

import (
	"context"
	"fmt"

	"github.com/tollgate/tollgate/bus"
	natsbus "github.com/tollgate/tollgate/bus/nats"
	"github.com/tollgate/tollgate/config"
	"github.com/tollgate/tollgate/event"
	"github.com/tollgate/tollgate/policy"
)

// openBus connects to NATS when configured, or returns an in-process bus.
func openBus(ctx context.Context, cfg config.Config, a *App) (bus.Bus, error) {
	if cfg.NATSURL == "" {
		return bus.NewLocal(), nil
	}
	b, err := natsbus.Connect(ctx, cfg.NATSURL, natsbus.Options{Prefix: cfg.NATSPrefix, Name: "tollgate", Log: a.log})
	if err != nil {
		return nil, fmt.Errorf("connecting to NATS: %w", err)
	}
	return b, nil
}

// notify applies events on this replica at once, then tells the others.
// A lost publish is not fatal: other replicas still learn of revocations
// by polling the store and of other changes when caches expire.
func (a *App) notify(ctx context.Context, events ...event.Event) {
	for i := range events {
		events[i].Origin = a.origin
	}
	a.apply(ctx, true, events...)
	if err := event.Publish(context.WithoutCancel(ctx), a.bus, events...); err != nil {
		a.log.WarnContext(ctx, "publishing credential events failed; other replicas catch up by polling", "err", err, "count", len(events))
		for _, e := range events {
			a.metrics.CredentialEvent(e.Kind, "publish_failed")
		}
		return
	}
	for _, e := range events {
		a.metrics.CredentialEvent(e.Kind, "published")
	}
}

// receive applies an event published by another replica.
func (a *App) receive(_ context.Context, m bus.Message) {
	e, err := event.Decode(m.Data)
	if err != nil {
		a.metrics.CredentialEvent("unknown", "invalid")
		a.log.Warn("ignoring an invalid credential event", "err", err)
		return
	}
	if e.Origin == a.origin {
		return
	}
	a.metrics.CredentialEvent(e.Kind, "received")
	a.apply(context.Background(), false, e)
}

// apply updates this replica's caches. Changes made here (local) are
// served by the policy engine before apply returns, so that whoever made
// them sees them in their next decision; those of other replicas are
// applied in the background.
func (a *App) apply(ctx context.Context, local bool, events ...event.Event) {
	var changes []policy.Change
	for _, e := range events {
		if e.Kind == event.KindTenantLimitsChanged {
			a.Limiter.Invalidate()
			continue
		}
		if e.Kind == event.KindQuotasChanged {
			a.quotas.Invalidate(e.Tenant)
			continue
		}
		if e.Kind == event.KindMetersChanged {
			a.Usage.InvalidateMeters(e.Tenant)
			continue
		}
		changes = append(changes, policy.ChangesOf(e)...)
		a.Credentials.Apply(e)
	}
	if local {
		a.Policy.Engine().Apply(ctx, changes...)
	} else {
		a.Policy.Engine().Announce(changes...)
	}
}

// busOf publishes on a's bus, which is opened after what publishes on it
// is built; nothing publishes before New returns.
type busOf struct{ a *App }

func (b busOf) Publish(ctx context.Context, subject string, data []byte) error {
	return b.a.bus.Publish(ctx, subject, data)
}
