package ratelimit

import (
	"context"

	"github.com/tollgate/tollgate/identity"
)

// Names of the tiers Tollgate applies to its own API. Services cannot check
// them through the API, and services' own limits cannot take these names.
const (
	// TierIP limits requests without a valid credential, per client IP.
	TierIP = "ip"
	// TierTenant limits every authenticated request of a tenant.
	TierTenant = "tenant"
	// TierActor limits each API key, or each actor using a token.
	TierActor = "actor"
	// TierService limits each registered service (platform components).
	TierService = "service"
	// TierLogin limits failed sign-ins per client IP (any accounts).
	TierLogin = "login"
	// TierLoginAccount limits failed sign-ins per account (from any IP).
	TierLoginAccount = "login_account"
	// TierLoginAccountIP limits failed sign-ins per account and client IP.
	TierLoginAccountIP = "login_account_ip"
	// TierToken limits the OAuth token endpoint per client IP.
	TierToken = "token"
)

// Tiers lists the tier names in the order they are applied.
func Tiers() []string {
	return []string{TierIP, TierLogin, TierToken, TierLoginAccount, TierLoginAccountIP, TierActor, TierTenant, TierService}
}

// IsTier reports whether name is one of Tollgate's own tiers.
func IsTier(name string) bool {
	switch name {
	case TierIP, TierTenant, TierActor, TierService, TierLogin, TierLoginAccount, TierLoginAccountIP, TierToken:
		return true
	}
	return false
}

// TenantOverridable reports whether a tenant's plan may replace the policy
// called name. The tiers applied before a tenant is known (per IP, sign-in,
// token endpoint) and the service tier are the operator's alone.
func TenantOverridable(name string) bool {
	return !IsTier(name) || name == TierTenant || name == TierActor
}

// Class says which tiers the requests of one of Tollgate's routes pass.
type Class uint8

const (
	// ClassDefault routes pass the per-IP tier without a valid credential,
	// the actor and tenant (or service) tiers with one.
	ClassDefault Class = iota
	// ClassExempt routes (probes, metrics) are never limited: a limited
	// health check would take a healthy replica out of its pool.
	ClassExempt
	// ClassLogin is sign-in: the per-IP tier, on every attempt. The sign-in
	// tiers count failures, so the sign-in itself applies them once it
	// knows the account (Limiter.BeginLogin).
	ClassLogin
	// ClassToken is the OAuth token endpoint: the per-IP and token tiers.
	ClassToken
)

// TierCheck is one tier to apply: the policy called Name, for TenantID, to
// Key. Own, when set, replaces the policy (an API key's own limit).
type TierCheck struct {
	Name, TenantID, Key string
	Own                 *Policy
}

// MaxTiers is the most tiers one request passes.
const MaxTiers = 3

// AnonymousTiers are the tiers of a request of class that has no valid
// credential, from the client address ip: the IP tier, and the token tier
// on the token endpoint. An exempt route passes none.
func AnonymousTiers(class Class, ip string) []TierCheck {
	switch class {
	case ClassExempt:
		return nil
	case ClassToken:
		return []TierCheck{{Name: TierIP, Key: ip}, {Name: TierToken, Key: ip}}
	}
	return []TierCheck{{Name: TierIP, Key: ip}}
}

// ActorTiers are the tiers of an authenticated request: the per-actor tier
// before the tenant's, so that one noisy key or actor, once refused, stops
// spending its tenant's quota. An API key is its own actor and may carry
// its own policy. Services are limited by the service tier alone: they
// serve every tenant.
func ActorTiers(ac *identity.ActorContext) ([]TierCheck, error) {
	if ac.ActorType == identity.ActorService {
		return []TierCheck{{Name: TierService, Key: ac.ActorID}}, nil
	}
	actor := TierCheck{Name: TierActor, TenantID: ac.TenantID, Key: ac.ActorID}
	if ac.Credential == identity.CredentialAPIKey {
		actor.Key = "key:" + ac.CredentialID
		if ac.RateLimit != "" {
			p, err := ParsePolicy(TierActor, ac.RateLimit)
			if err != nil {
				return nil, err
			}
			actor.Own = &p
		}
	}
	if ac.TenantID == "" {
		return []TierCheck{actor}, nil
	}
	return []TierCheck{actor, {Name: TierTenant, TenantID: ac.TenantID, Key: ac.TenantID}}, nil
}

// ApplyTiers checks each tier in order, stopping at the first that refuses
// so that later tiers are not charged for a request that will not run. It
// returns the decisions of the tiers that counted (for the RateLimit
// header fields) and a quota_exceeded error when one refused.
func (l *Limiter) ApplyTiers(ctx context.Context, checks []TierCheck, buf []Decision) ([]Decision, error) {
	ds := buf[:0]
	for _, c := range checks {
		var p Policy
		if c.Own != nil {
			p = *c.Own
		} else {
			var ok bool
			var err error
			if p, ok, err = l.Policy(ctx, c.TenantID, c.Name); err != nil {
				return ds, err
			} else if !ok {
				continue
			}
		}
		d, err := l.Check(ctx, p, c.Key, 1)
		if err != nil {
			return ds, err
		}
		ds = append(ds, d)
		if !d.Result.Allowed {
			break
		}
	}
	return ds, Exceeded(ds)
}
