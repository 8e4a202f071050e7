package app

import (
	"context"
	"log/slog"

	"github.com/tollgate/tollgate/config"
	"github.com/tollgate/tollgate/httpapi"
	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/store"
	"github.com/tollgate/tollgate/token"
	"github.com/tollgate/tollgate/webhook"
)

// openWebhooks builds the webhook API's rules and the delivery worker.
// Secrets are sealed with the master key, as the signing keys are, under
// names of their own.
func openWebhooks(cfg config.Config, st store.Store, idents *identity.Service, masterKey []byte, templates webhook.Mail, metrics *httpapi.Metrics, log *slog.Logger) (*webhook.Service, *webhook.Worker, error) {
	sealer, err := token.NewSealer(masterKey)
	if err != nil {
		return nil, nil, err
	}
	allowed, err := webhook.ParseNetworks(cfg.WebhookAllowedNetworks)
	if err != nil {
		return nil, nil, err
	}
	guard := webhook.NewGuard(allowed)
	svc := webhook.NewService(webhook.Deps{Store: st, Rights: idents, Sealer: sealer}, webhook.Options{Guard: guard})
	worker := webhook.NewWorker(webhook.WorkerDeps{Store: st, Sealer: sealer, Client: webhook.NewClient(guard, cfg.WebhookTimeout),
		Mail: templates, Observe: metrics.WebhookAttempt},
		webhook.WorkerOptions{Concurrency: cfg.WebhookConcurrency, Timeout: cfg.WebhookTimeout, DisableAfter: cfg.WebhookDisableAfter, Log: log})
	metrics.RegisterGauge("tollgate_webhook_attempts_in_flight", "Webhook delivery attempts waiting on the network now.",
		func() float64 { return float64(worker.InFlight()) })
	return svc, worker, nil
}

// DeliverWebhooks runs the webhook worker once: new audit events become
// deliveries, and one batch of due deliveries is sent. busy reports that
// more may be waiting. serve runs the worker continuously (RunBackground);
// tests call this.
func (a *App) DeliverWebhooks(ctx context.Context) (busy bool, err error) {
	return a.webhookWorker.RunOnce(ctx)
}
