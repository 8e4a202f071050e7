package app

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/tollgate/tollgate/config"
	"github.com/tollgate/tollgate/event"
	"github.com/tollgate/tollgate/httpapi"
	"github.com/tollgate/tollgate/ratelimit"
	redisrl "github.com/tollgate/tollgate/ratelimit/redis"
)

// breakerCooldown is how long a replica stops asking Redis after it failed:
// short enough that recovery is quick, long enough that an outage costs
// requests nothing.
const breakerCooldown = 2 * time.Second

// Redis timeouts are short: a rate-limit check that waits seconds is worse
// than one answered by the policy's failure mode.
const (
	redisDialTimeout = time.Second
	redisIOTimeout   = 250 * time.Millisecond
)

// limits is the rate limiter and the counters behind it.
type limits struct {
	limiter *ratelimit.Limiter
	// local holds the counters when they live in process; redis is the
	// client when they live on Redis.
	local *ratelimit.Local
	redis io.Closer
	// breaker is in front of Redis; nil in process.
	breaker *ratelimit.Breaker
}

// ready is what /readyz asks of the counters: nil in process (always
// ready), the breaker's state when they live on Redis.
func (l limits) ready() httpapi.Dependency {
	if l.breaker == nil {
		return nil
	}
	return l.breaker
}

// openLimiter builds the rate limiter: counters in process, or on Redis
// (with a breaker) when redis_url is set. notify tells other replicas of
// changed tenant plans.
func openLimiter(ctx context.Context, cfg config.Config, st ratelimit.TenantStore, metrics *httpapi.Metrics, log *slog.Logger, notify event.Notifier) (limits, error) {
	policies, err := cfg.RateLimitPolicies()
	if err != nil {
		return limits{}, err
	}
	var out limits
	var backend ratelimit.Backend
	if cfg.RedisURL == "" {
		out.local = ratelimit.NewLocal(ratelimit.LocalOptions{})
		backend = out.local
	} else {
		opts, err := goredis.ParseURL(cfg.RedisURL)
		if err != nil {
			return limits{}, fmt.Errorf("redis_url: %w", err)
		}
		opts.DialTimeout, opts.ReadTimeout, opts.WriteTimeout = redisDialTimeout, redisIOTimeout, redisIOTimeout
		// The breaker, not go-redis, decides when to try again: no command
		// retries, and one dial per attempt (go-redis otherwise dials up to
		// 5 times, each with its own DialTimeout, 100ms apart).
		opts.MaxRetries, opts.DialerRetries = -1, 1
		client := goredis.NewClient(opts)
		pingErr := client.Ping(ctx).Err()
		if err := pingErr; err != nil {
			// Not fatal: each policy's failure mode applies until Redis
			// answers, and the breaker notices when it does.
			log.Warn("Redis does not answer yet; rate limits apply their failure mode until it does", "err", err)
		}
		out.redis = client
		out.breaker = ratelimit.NewBreaker(redisrl.New(client, redisrl.Options{Prefix: cfg.RedisPrefix, UseServerTime: true}), breakerCooldown, nil)
		if pingErr != nil {
			// /readyz reports not-ready from the start, not only once a
			// sign-in has failed.
			out.breaker.Trip()
		}
		backend = out.breaker
	}
	out.limiter = ratelimit.NewLimiter(ratelimit.LimiterDeps{
		Backend: backend, Tenants: st, Policies: policies,
		Failed: metrics.RateLimitFailed, Denied: metrics.RateLimitDenied, Log: log,
		Changed: func(ctx context.Context, tenantID string) {
			notify(ctx, event.Event{Kind: event.KindTenantLimitsChanged, ID: tenantID, At: time.Now()})
		},
	}, ratelimit.LimiterOptions{OverrideTTL: cfg.APIKeyCacheTTL})
	return out, nil
}

// sweepLimits drops idle in-process counters.
func (a *App) sweepLimits(context.Context) error {
	if a.limits.local != nil {
		a.limits.local.Sweep(time.Now())
	}
	return nil
}
