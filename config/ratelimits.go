package config

import (
	"fmt"
	"strings"

	"github.com/tollgate/tollgate/ratelimit"
)

// ParseNamedLimits reads the rate_limits setting: comma-separated
// name=spec pairs, the limits services check by name. Names must be valid
// limit names, unique, and not one of Tollgate's own tiers.
func ParseNamedLimits(s string) (map[string]ratelimit.Policy, error) {
	out := map[string]ratelimit.Policy{}
	if strings.TrimSpace(s) == "" {
		return out, nil
	}
	for _, item := range strings.Split(s, ",") {
		name, spec, ok := strings.Cut(strings.TrimSpace(item), "=")
		name = strings.TrimSpace(name)
		if !ok || name == "" {
			return nil, fmt.Errorf("%q is not name=spec, such as messages=60/1m", strings.TrimSpace(item))
		}
		if ratelimit.IsTier(name) {
			return nil, fmt.Errorf("%q is one of Tollgate's own tiers; set rate_limit_%s instead", name, name)
		}
		if _, dup := out[name]; dup {
			return nil, fmt.Errorf("limit %q is defined twice", name)
		}
		p, err := ratelimit.ParsePolicy(name, spec)
		if err != nil {
			return nil, fmt.Errorf("limit %q: %w", name, specError(err))
		}
		out[name] = p
	}
	return out, nil
}

// RateLimitPolicies returns every configured policy by name: Tollgate's
// tiers and the named limits. It assumes a validated Config.
func (c Config) RateLimitPolicies() (map[string]ratelimit.Policy, error) {
	out, err := ParseNamedLimits(c.RateLimits)
	if err != nil {
		return nil, err
	}
	for name, spec := range map[string]string{
		ratelimit.TierIP: c.RateLimitIP, ratelimit.TierTenant: c.RateLimitTenant,
		ratelimit.TierActor: c.RateLimitActor, ratelimit.TierService: c.RateLimitService,
		ratelimit.TierLogin: c.RateLimitLogin, ratelimit.TierLoginAccount: c.RateLimitLoginAccount,
		ratelimit.TierLoginAccountIP: c.RateLimitLoginAccountIP, ratelimit.TierToken: c.RateLimitToken,
	} {
		p, err := ratelimit.ParsePolicy(name, spec)
		if err != nil {
			return nil, fmt.Errorf("rate_limit_%s: %w", name, specError(err))
		}
		out[name] = p
	}
	return out, nil
}
