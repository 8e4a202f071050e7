package httpapi

import (
	"net/http"

	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/ratelimit"
)

// routeClass says which rate-limit tiers a route's requests pass.
type routeClass uint8

const (
	classDefault routeClass = iota
	// classExempt routes (probes, metrics) are never limited: a limited
	// health check would take a healthy replica out of its pool.
	classExempt
	classLogin
	classToken
)

func classOf(pattern string) routeClass {
	switch pattern {
	case "/healthz", "/readyz", "/metrics":
		return classExempt
	case "/v1/auth/login":
		return classLogin
	case "/oauth/token":
		return classToken
	}
	return classDefault
}

// tierCheck is one tier to apply: the policy called name, for tenantID,
// to key. own, when set, replaces the policy (an API key's own limit).
type tierCheck struct {
	name, tenantID, key string
	own                 *ratelimit.Policy
}

// maxTiers is the most tiers one request passes.
const maxTiers = 3

// limitAnonymous applies the per-IP tiers to a request that has no valid
// credential: the IP tier, and the sign-in or token tier on those routes.
func (s *Server) limitAnonymous(w http.ResponseWriter, r *http.Request, class routeClass) error {
	if s.Limiter == nil || class == classExempt {
		return nil
	}
	ip := s.opts.TrustedProxies.ClientIP(r)
	checks := [2]tierCheck{{name: ratelimit.TierIP, key: ip}}
	n := 1
	switch class {
	case classLogin:
		checks[1], n = tierCheck{name: ratelimit.TierLogin, key: ip}, 2
	case classToken:
		checks[1], n = tierCheck{name: ratelimit.TierToken, key: ip}, 2
	}
	return s.applyTiers(w, r, checks[:n])
}

// limitActor applies the per-actor and tenant tiers to an authenticated
// request, the actor's first so that one noisy key or actor, once refused,
// stops spending its tenant's quota. Services are limited by the service
// tier alone: they serve every tenant.
func (s *Server) limitActor(w http.ResponseWriter, r *http.Request, ac *identity.ActorContext) error {
	if s.Limiter == nil {
		return nil
	}
	if ac.ActorType == identity.ActorService {
		return s.applyTiers(w, r, []tierCheck{{name: ratelimit.TierService, key: ac.ActorID}})
	}
	actor := tierCheck{name: ratelimit.TierActor, tenantID: ac.TenantID, key: ac.ActorID}
	if ac.Credential == identity.CredentialAPIKey {
		actor.key = "key:" + ac.CredentialID
		if ac.RateLimit != "" {
			p, err := ratelimit.ParsePolicy(ratelimit.TierActor, ac.RateLimit)
			if err != nil {
				return err
			}
			actor.own = &p
		}
	}
	checks := [2]tierCheck{actor, {name: ratelimit.TierTenant, tenantID: ac.TenantID, key: ac.TenantID}}
	n := 2
	if ac.TenantID == "" {
		n = 1
	}
	return s.applyTiers(w, r, checks[:n])
}

// applyTiers checks each tier in order, stopping at the first that refuses
// so that later tiers are not charged for a request that will not run. It
// writes the RateLimit-Policy and RateLimit fields for the tiers that
// counted, and returns a quota_exceeded error when one refused.
func (s *Server) applyTiers(w http.ResponseWriter, r *http.Request, checks []tierCheck) error {
	var buf [maxTiers]ratelimit.Decision
	ds := buf[:0]
	for _, c := range checks {
		var p ratelimit.Policy
		if c.own != nil {
			p = *c.own
		} else {
			var ok bool
			var err error
			if p, ok, err = s.Limiter.Policy(r.Context(), c.tenantID, c.name); err != nil {
				return err
			} else if !ok {
				continue
			}
		}
		d, err := s.Limiter.Check(r.Context(), p, c.key, 1)
		if err != nil {
			return err
		}
		ds = append(ds, d)
		if !d.Result.Allowed {
			break
		}
	}
	if policy, state := ratelimit.HeaderFields(ds); policy != "" {
		h := w.Header()
		h.Set(ratelimit.PolicyHeader, policy)
		h.Set(ratelimit.StateHeader, state)
	}
	return ratelimit.Exceeded(ds)
}
