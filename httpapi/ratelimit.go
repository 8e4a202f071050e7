package httpapi

import (
	"net/http"

	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/ratelimit"
)

// limitAnonymous applies the tiers of a request that has no valid
// credential, by client IP.
func (s *Server) limitAnonymous(w http.ResponseWriter, r *http.Request, class ratelimit.Class) error {
	if s.Limiter == nil || class == ratelimit.ClassExempt {
		return nil
	}
	return s.applyTiers(w, r, ratelimit.AnonymousTiers(class, s.opts.TrustedProxies.ClientIP(r)))
}

// limitActor applies the tiers of an authenticated request.
func (s *Server) limitActor(w http.ResponseWriter, r *http.Request, ac *identity.ActorContext) error {
	if s.Limiter == nil {
		return nil
	}
	checks, err := ratelimit.ActorTiers(ac)
	if err != nil {
		return err
	}
	return s.applyTiers(w, r, checks)
}

// applyTiers applies checks and writes the RateLimit-Policy and RateLimit
// fields for the tiers that counted.
func (s *Server) applyTiers(w http.ResponseWriter, r *http.Request, checks []ratelimit.TierCheck) error {
	var buf [ratelimit.MaxTiers]ratelimit.Decision
	ds, err := s.Limiter.ApplyTiers(r.Context(), checks, buf[:0])
	if policy, state := ratelimit.HeaderFields(ds); policy != "" {
		h := w.Header()
		h.Set(ratelimit.PolicyHeader, policy)
		h.Set(ratelimit.StateHeader, state)
	}
	return err
}
