// Package app assembles a Tollgate server from configuration and a store:
// the domain services, the HTTP API and the background loops that keep a
// replica in step with the others. cmd/tollgate and end-to-end tests share
// it so that tests exercise exactly what ships.
package app

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/tollgate/tollgate/apikey"
	"github.com/tollgate/tollgate/audit"
	"github.com/tollgate/tollgate/audit/forward"
	"github.com/tollgate/tollgate/bus"
	"github.com/tollgate/tollgate/clientip"
	"github.com/tollgate/tollgate/config"
	"github.com/tollgate/tollgate/credential"
	"github.com/tollgate/tollgate/event"
	"github.com/tollgate/tollgate/httpapi"
	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/ids"
	"github.com/tollgate/tollgate/mail"
	"github.com/tollgate/tollgate/oauth"
	"github.com/tollgate/tollgate/overview"
	"github.com/tollgate/tollgate/password"
	"github.com/tollgate/tollgate/policy"
	"github.com/tollgate/tollgate/privacy"
	"github.com/tollgate/tollgate/ratelimit"
	"github.com/tollgate/tollgate/serviceaccount"
	"github.com/tollgate/tollgate/session"
	"github.com/tollgate/tollgate/store"
	"github.com/tollgate/tollgate/token"
	"github.com/tollgate/tollgate/usage"
	"github.com/tollgate/tollgate/usage/stream"
	"github.com/tollgate/tollgate/webhook"
)

// App is one assembled replica.
type App struct {
	API         *httpapi.Server
	Keys        *token.Keyring
	Identity    *identity.Service
	Sessions    *session.Service
	Hasher      *password.Hasher
	Credentials *credential.Resolver
	APIKeys     *apikey.Service
	Services    *serviceaccount.Registry
	Limiter     *ratelimit.Limiter
	Policy      *policy.Service
	Usage       *usage.Service
	Webhooks    *webhook.Service

	cfg         config.Config
	store       store.Store
	revocations *credential.Revocations
	decisionLog *policy.LogDecisions // nil unless decision_log_lines
	auditRec    *audit.Recorder
	auditKeys   *token.Keyring
	digester    *audit.Digester
	pruner      *audit.Pruner
	mailer      *mail.Worker
	limits      limits
	log         *slog.Logger
	metrics     *httpapi.Metrics
	bus         bus.Bus
	// quotas is the decisions' view of quota consumption.
	quotas     *usage.QuotaCache
	stopEvents func()
	// usageStream records usage from NATS JetStream once OpenUsageStream
	// has opened it.
	usageStream *stream.Consumer
	// auditForward publishes the audit log to NATS once OpenAuditForward
	// has connected it; nil otherwise.
	auditForward *forward.Forwarder
	// webhookWorker delivers webhooks from the outbox.
	webhookWorker *webhook.Worker
	// origin tells this replica's events from others' on the bus.
	origin string
}

// New builds a replica over st. masterKey seals the signing keys.
// hashOpts configure the password hasher, e.g. password.WithWorker.
func New(ctx context.Context, cfg config.Config, st store.Store, masterKey []byte, log *slog.Logger, hashOpts ...password.Option) (*App, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	// a.notify publishes on a.bus, which is opened last: nothing built
	// here publishes before New returns.
	a := &App{cfg: cfg, store: st, log: log, origin: ids.New()}
	notify := a.notify
	keys, err := NewKeyring(ctx, cfg, st, masterKey)
	if err != nil {
		return nil, err
	}
	hasher, err := NewHasher(cfg, hashOpts...)
	if err != nil {
		return nil, err
	}
	proxies, err := clientip.Parse(cfg.TrustedProxies)
	if err != nil {
		return nil, err
	}
	revocations := credential.NewRevocations(st, cfg.AccessTokenTTL, token.DefaultLeeway, nil)
	if err := revocations.Sync(ctx); err != nil {
		return nil, fmt.Errorf("loading session revocations: %w", err)
	}
	metrics := httpapi.NewMetrics()
	metrics.RegisterGauge("tollgate_password_hashes_in_flight", "Password hash computations running now.", func() float64 { return float64(hasher.InFlight()) })
	metrics.RegisterGauge("tollgate_password_hashes_waiting", "Password hash computations waiting for a slot.", func() float64 { return float64(hasher.Waiting()) })

	auditKeys, err := NewAuditKeyring(ctx, st, masterKey)
	if err != nil {
		return nil, err
	}
	// The queue of high-volume audit events; must-not-lose acts go
	// through the store's outbox instead.
	rec := audit.NewRecorder(st, audit.RecorderOptions{
		QueueSize: cfg.AuditQueueSize, FlushInterval: cfg.AuditFlushInterval, Dropped: metrics.AuditDropped, Log: log,
	})
	metrics.RegisterGauge("tollgate_audit_events_queued", "Audit events waiting in the queue to be written.", func() float64 { return float64(rec.Queued()) })
	templates, mailer, err := openMail(cfg, st, masterKey, log)
	if err != nil {
		rec.Close(ctx)
		return nil, err
	}
	// TOTP secrets are sealed as the signing keys are, under ids of their
	// own.
	mfaSealer, err := token.NewSealer(masterKey)
	if err != nil {
		rec.Close(ctx)
		return nil, err
	}
	passkeys, err := passkeyOptions(cfg, st, log)
	if err != nil {
		rec.Close(ctx)
		return nil, err
	}
	idents := identity.NewService(identity.Deps{Store: st, Notify: notify, Mail: templates}, identity.Options{
		MaxTenantsPerUser: cfg.MaxTenantsPerUser, MaxAgentsPerTenant: cfg.MaxAgentsPerTenant,
		InvitationTTL: cfg.InvitationTTL, LinkBase: cfg.EffectiveLinkBaseURL(), DeletionGrace: cfg.TenantDeletionGrace,
	})
	lim, err := openLimiter(ctx, cfg, st, metrics, log, notify)
	if err != nil {
		rec.Close(ctx)
		return nil, err
	}
	closeRedis := func() {
		rec.Close(context.WithoutCancel(ctx))
		closeQuietly(lim.redis, log, "closing the Redis client failed")
	}
	sessions := session.NewService(session.Deps{
		Sessions: st, Identities: st, Roles: idents, Hasher: hasher, Keys: keys,
		Throttle: lim.limiter, Revocations: revocations, Log: log, LoginOutcome: metrics.LoginOutcome, Notify: notify,
		Audit: rec, AuditEmailKey: auditEmailKey(masterKey), Invitations: idents,
		Passwords: st, Reset: session.ResetOptions{TTL: cfg.PasswordResetTTL, LinkBase: cfg.EffectiveLinkBaseURL(), Mail: templates},
		Signups: st, Signup: session.SignupOptions{Mode: cfg.Signup, TTL: cfg.SignupVerificationTTL, LinkBase: cfg.EffectiveLinkBaseURL(), Mail: templates},
		MFA: session.MFAOptions{Store: st, Sealer: mfaSealer}, Passkeys: passkeys,
	}, session.Options{
		Issuer: cfg.EffectiveIssuer(), Audience: cfg.Audience, AccessTTL: cfg.AccessTokenTTL, RefreshTTL: cfg.RefreshTokenTTL,
		AbsoluteLifetime: cfg.SessionAbsoluteLifetime,
	})
	verifier := token.NewVerifier(keys, token.VerifierOptions{
		Issuer: cfg.EffectiveIssuer(), Audience: cfg.Audience, CacheSize: cfg.TokenCacheSize,
	})
	creds := credential.NewResolver(credential.Deps{
		Verifier: verifier, Revoked: revocations, RolePermissions: idents.RolePermissions,
		Keys: st, Rights: idents, Services: st, Blocks: st, Rejected: metrics.CredentialRejected,
	}, credential.Options{KeyCacheTTL: cfg.APIKeyCacheTTL})
	if err := creds.SyncBlocks(ctx); err != nil {
		closeRedis()
		return nil, fmt.Errorf("loading suspended tenants and disabled actors: %w", err)
	}
	apiKeys := apikey.NewService(apikey.Deps{Store: st, Rights: idents, Services: st, Notify: notify},
		apikey.Options{Env: cfg.APIKeyEnvironment, MaxKeysPerActor: cfg.MaxAPIKeysPerActor})
	services := serviceaccount.NewRegistry(serviceaccount.Deps{Store: st, Admins: idents, KnownResourceType: policy.KnownResourceType, Notify: notify},
		serviceaccount.Options{Env: cfg.APIKeyEnvironment})
	// The configuration was validated on load; this only indexes it.
	meters, err := cfg.UsageMeters()
	if err != nil {
		closeRedis()
		return nil, err
	}
	quotas := usage.NewQuotaCache(usage.QuotaCacheDeps{Store: st, Quotas: st, Meters: meters, Bus: busOf{a}, Log: log}, usage.QuotaCacheOptions{})
	pd, err := openPolicy(cfg, st, idents, rec, metrics, log, notify, quotas)
	if err != nil {
		closeRedis()
		return nil, err
	}
	gw, err := openGateway(cfg, pd.compiler)
	if err != nil {
		closeRedis()
		return nil, err
	}
	endpoint := oauth.NewEndpoint(oauth.Deps{Resolver: creds, Clients: services, Agents: idents, Signer: keys, Audit: rec}, oauth.Options{
		Issuer: cfg.EffectiveIssuer(), Audience: cfg.Audience, TokenTTL: cfg.AccessTokenTTL,
	})
	usageSvc := usage.NewService(usage.Deps{Store: st, Meters: meters, Authorizer: pd.service, Tenants: idents, Rights: idents, Notify: notify, Log: log}, usage.Options{MaxFutureSkew: cfg.UsageMaxFutureSkew})
	hooks, hookWorker, err := openWebhooks(cfg, st, idents, masterKey, templates, metrics, log)
	if err != nil {
		closeRedis()
		return nil, err
	}
	api := httpapi.New(httpapi.Deps{
		Sessions: sessions, Identity: idents, Credentials: creds, APIKeys: apiKeys, Services: services, OAuth: endpoint,
		Limiter: lim.limiter, RateLimits: ratelimit.NewAdmin(lim.limiter, idents), Policy: pd.service, Gateway: gw, Usage: usageSvc,
		Keys: keys, Store: st, RateLimitBackend: lim.ready(), Metrics: metrics, Log: log,
		Audit: audit.NewService(st, auditRights{idents}), AuditKeys: auditKeys, Webhooks: hooks,
		SessionAdmin: session.NewManager(sessions, st, idents), Privacy: privacy.NewService(privacy.Deps{
			Accounts: st, Agents: idents, Sessions: st, Keys: st, Audit: st,
		}),
		Overview: overview.NewService(overview.Deps{Store: st, Rights: idents, Usage: usageSvc}),
	}, httpapi.Options{
		MaxBodyBytes: cfg.MaxBodyBytes, RotationGrace: cfg.RotationGracePeriod, TrustedProxies: proxies,
		MetricsToken: cfg.MetricsToken, MetricsElsewhere: cfg.MetricsAddr != "",
		AccessLog: httpapi.AccessLog{Percent: cfg.AccessLogPercent, Slow: cfg.AccessLogSlow},
	})

	*a = App{
		API: api, Keys: keys, Identity: idents, Sessions: sessions, Hasher: hasher, Credentials: creds,
		APIKeys: apiKeys, Services: services, Limiter: lim.limiter, Policy: pd.service, Usage: usageSvc, Webhooks: hooks,
		webhookWorker: hookWorker, cfg: cfg, store: st, revocations: revocations, decisionLog: pd.lines, limits: lim,
		log: log, metrics: metrics, origin: a.origin, auditRec: rec, auditKeys: auditKeys,
		quotas:   quotas,
		mailer:   mailer,
		digester: audit.NewDigester(st, auditKeys, audit.DigesterOptions{Interval: cfg.AuditDigestInterval, Log: log}),
		pruner:   audit.NewPruner(st, auditKeys, cfg.AuditRetentionDays, nil),
	}
	if a.bus, err = openBus(ctx, cfg, a); err != nil {
		closeRedis()
		return nil, err
	}
	if a.stopEvents, err = a.bus.Subscribe(context.Background(), event.Subject, a.receive); err != nil {
		_ = a.bus.Close()
		closeRedis()
		return nil, fmt.Errorf("subscribing to credential events: %w", err)
	}
	return a, nil
}

// NewKeyring loads the signing keys, creating the first one on an empty store.
func NewKeyring(ctx context.Context, cfg config.Config, st token.KeyStore, masterKey []byte) (*token.Keyring, error) {
	sealer, err := token.NewSealer(masterKey)
	if err != nil {
		return nil, err
	}
	kr := token.NewKeyring(st, sealer, token.KeyringOptions{
		Algorithm: cfg.SigningAlgorithm, TokenTTL: cfg.AccessTokenTTL,
		// A rotated key is published at once but signs only after every
		// replica has had two chances to load it, so no replica meets a
		// token whose key it does not know yet.
		ActivationDelay: KeyActivationDelay(cfg),
	})
	if err := kr.Load(ctx); err != nil {
		return nil, fmt.Errorf("loading signing keys: %w", err)
	}
	return kr, nil
}

// KeyActivationDelay is how long after a rotation the new key starts signing.
func KeyActivationDelay(cfg config.Config) time.Duration { return 2 * cfg.KeyRefreshInterval }

// NewHasher builds the password hasher from the argon2id settings.
func NewHasher(cfg config.Config, opts ...password.Option) (*password.Hasher, error) {
	p := password.DefaultParams()
	p.MemoryKiB, p.Iterations, p.Parallelism = cfg.Argon2MemoryKiB, cfg.Argon2Iterations, cfg.Argon2Parallelism
	return password.NewHasher(p, cfg.EffectiveHashConcurrency(), opts...)
}

// sweepInterval spaces the clean-up of expired rows.
const sweepInterval = 10 * time.Minute

// erasureInterval spaces the looks for tenant deletions whose grace
// period ended.
const erasureInterval = time.Minute

// RunBackground starts the loops that keep this replica in step with the
// store — signing keys and revocations made by other processes — the
// clean-up and the audit digests. It returns a function that waits for them after ctx ends.
func (a *App) RunBackground(ctx context.Context) (wait func()) {
	refresh := a.cfg.KeyRefreshInterval
	var wg sync.WaitGroup
	for _, job := range []struct {
		what  string
		every time.Duration
		run   func(context.Context) error
	}{
		{"refreshing signing keys", refresh, a.Keys.Refresh},
		{"refreshing audit digest keys", refresh, a.auditKeys.Refresh},
		{"syncing credential revocations", refresh, a.revocations.Sync},
		{"syncing suspended tenants and disabled actors", refresh, a.Credentials.SyncBlocks},
		{"recording API key use", touchInterval, a.Credentials.FlushTouches},
		{"sweeping expired rows", sweepInterval, func(ctx context.Context) error { a.Sweep(ctx); return nil }},
		{"dropping idle rate-limit counters", time.Minute, a.sweepLimits},
		{"delivering email", mailInterval, func(ctx context.Context) error { _, err := a.mailer.DeliverDue(ctx); return err }},
		{"pruning the audit log", pruneInterval, a.pruneAudit},
		// Every replica looks for due deletions; a lease gives each to one.
		{"erasing deleted tenants", erasureInterval, a.Identity.EraseDue},
	} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			every(ctx, job.every, a.log, job.what, job.run)
		}()
	}
	if a.usageStream != nil {
		wg.Go(func() { a.usageStream.Run(ctx) })
	}
	// Every replica publishes the audit log; leases keep two from
	// publishing one stream at once.
	if a.auditForward != nil {
		wg.Go(func() { a.auditForward.Run(ctx) })
	}
	// Every replica delivers webhooks; claims keep them from sending one
	// delivery twice at once.
	wg.Go(func() { a.webhookWorker.Run(ctx) })
	wg.Go(func() { a.Sessions.RunResets(ctx) })
	// The digester signs at once and then every audit_digest_interval;
	// every replica may run it (a second digest of a head is dropped).
	wg.Add(1)
	go func() {
		defer wg.Done()
		_ = a.digester.Run(ctx)
	}()
	return wg.Wait
}

// Sweep deletes expired sessions and signing keys no token can still need.
func (a *App) Sweep(ctx context.Context) {
	if n, err := a.store.DeleteExpired(ctx, time.Now()); err != nil {
		a.log.Warn("deleting expired sessions failed", "err", err)
	} else if n > 0 {
		a.log.Info("deleted expired sessions", "count", n)
	}
	if kids, err := a.Keys.Prune(ctx); err != nil {
		a.log.Warn("pruning signing keys failed", "err", err)
	} else if len(kids) > 0 {
		a.log.Info("pruned retired signing keys", "kids", kids)
	}
}

// pruneInterval spaces the audit log's retention runs; events outlive
// their retention by at most this.
const pruneInterval = 6 * time.Hour

// pruneAudit deletes the audit events past their retention.
func (a *App) pruneAudit(ctx context.Context) error {
	n, err := a.pruner.PruneAll(ctx)
	if n > 0 {
		a.log.Info("pruned audit events past their retention", "count", n)
	}
	return err
}

// touchInterval spaces the batched writes of API keys' last_used_at.
const touchInterval = 10 * time.Second

// Close stops the event subscription, writes pending key use and closes
// the bus. The store belongs to the caller.
func (a *App) Close(ctx context.Context) error {
	a.stopEvents()
	if err := a.Credentials.FlushTouches(ctx); err != nil {
		a.log.Warn("recording API key use failed", "err", err)
	}
	closeQuietly(a.limits.redis, a.log, "closing the Redis client failed")
	if a.usageStream != nil {
		closeQuietly(a.usageStream, a.log, "closing the usage stream connection failed")
	}
	if a.auditForward != nil {
		closeQuietly(a.auditForward, a.log, "closing the audit stream connection failed")
	}
	// A refresh of quota totals may be claiming a threshold crossing,
	// which writes to the store and the audit outbox.
	a.quotas.Close()
	// After the API has drained: the queue holds the last requests' events.
	a.auditRec.Close(ctx)
	if a.decisionLog != nil {
		a.decisionLog.Close()
	}
	return a.bus.Close()
}

// closeQuietly closes c, if any, logging a failure.
func closeQuietly(c io.Closer, log *slog.Logger, msg string) {
	if c == nil {
		return
	}
	if err := c.Close(); err != nil {
		log.Warn(msg, "err", err)
	}
}

// SyncRevocations pulls revocations made by other processes now, instead of
// at the next tick.
func (a *App) SyncRevocations(ctx context.Context) error { return a.revocations.Sync(ctx) }
