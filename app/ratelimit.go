package app

import (
	"context"
	"fmt"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/tollgate/tollgate/config"
	"github.com/tollgate/tollgate/event"
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

// openLimiter builds the rate limiter: counters in process, or on Redis
// (with a breaker) when redis_url is set.
func (a *App) openLimiter(ctx context.Context, cfg config.Config) error {
	policies, err := cfg.RateLimitPolicies()
	if err != nil {
		return err
	}
	var backend ratelimit.Backend
	if cfg.RedisURL == "" {
		local := ratelimit.NewLocal(ratelimit.LocalOptions{})
		a.localLimits = local
		backend = local
	} else {
		opts, err := goredis.ParseURL(cfg.RedisURL)
		if err != nil {
			return fmt.Errorf("redis_url: %w", err)
		}
		opts.DialTimeout, opts.ReadTimeout, opts.WriteTimeout = redisDialTimeout, redisIOTimeout, redisIOTimeout
		// The breaker, not go-redis, decides when to try again: no command
		// retries, and one dial per attempt (go-redis otherwise dials up to
		// 5 times, each with its own DialTimeout, 100ms apart).
		opts.MaxRetries, opts.DialerRetries = -1, 1
		client := goredis.NewClient(opts)
		if err := client.Ping(ctx).Err(); err != nil {
			// Not fatal: each policy's failure mode applies until Redis
			// answers, and the breaker notices when it does.
			a.log.Warn("Redis does not answer yet; rate limits apply their failure mode until it does", "err", err)
		}
		a.redis = client
		backend = ratelimit.NewBreaker(redisrl.New(client, redisrl.Options{Prefix: cfg.RedisPrefix, UseServerTime: true}), breakerCooldown, nil)
	}
	a.Limiter = ratelimit.NewLimiter(ratelimit.LimiterDeps{
		Backend: backend, Tenants: a.store, Policies: policies,
		Failed: a.metrics.RateLimitFailed, Denied: a.metrics.RateLimitDenied, Log: a.log,
		Changed: func(ctx context.Context, tenantID string) {
			a.notify(ctx, event.Event{Kind: event.KindTenantLimitsChanged, ID: tenantID, At: time.Now()})
		},
	}, ratelimit.LimiterOptions{OverrideTTL: cfg.APIKeyCacheTTL})
	return nil
}

// sweepLimits drops idle in-process counters.
func (a *App) sweepLimits(context.Context) error {
	if a.localLimits != nil {
		a.localLimits.Sweep(time.Now())
	}
	return nil
}
