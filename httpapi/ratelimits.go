package httpapi

import (
	"net/http"
	"time"

	"github.com/tollgate/tollgate/ratelimit"
)

type rateLimitCheckRequest struct {
	Name     string `json:"name"`
	Key      string `json:"key"`
	Cost     *int64 `json:"cost"`
	TenantID string `json:"tenant_id"`
}

// rateLimitCheckResponse carries durations in seconds, with millisecond
// precision, since limits may be shorter than a second.
type rateLimitCheckResponse struct {
	Allowed    bool    `json:"allowed"`
	Limit      int64   `json:"limit"`
	Remaining  int64   `json:"remaining"`
	ResetAfter float64 `json:"reset_after"`
	RetryAfter float64 `json:"retry_after"`
	// Window is how long an idle key takes to regain its whole quota.
	Window float64 `json:"window"`
	// Unchecked: the limit is off, or the backend failed and the limit
	// fails open; the request was allowed without being counted.
	Unchecked bool `json:"unchecked,omitempty"`
}

func seconds(d time.Duration) float64 {
	return float64((d+time.Millisecond-1)/time.Millisecond) / 1000
}

// rateLimitCheck lets a service consume from one of the limits it checks
// by name. Its answer is data: a denial is a 200 with allowed false.
func (s *Server) rateLimitCheck(w http.ResponseWriter, r *http.Request) error {
	if err := s.RateLimits.MayCheck(*actor(r)); err != nil {
		return err
	}
	var in rateLimitCheckRequest
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	cost := int64(1)
	if in.Cost != nil {
		cost = *in.Cost
	}
	d, err := s.RateLimits.Check(r.Context(), *actor(r), in.TenantID, in.Name, in.Key, cost)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, rateLimitCheckResponse{
		Allowed: d.Result.Allowed, Limit: d.Result.Quota, Remaining: d.Result.Remaining,
		ResetAfter: seconds(d.Result.ResetAfter), RetryAfter: seconds(d.Result.RetryAfter), Unchecked: d.Unchecked,
		Window: seconds(d.Policy.Limit.Window()),
	})
}

type tenantRateLimitsJSON struct {
	TenantID string            `json:"tenant_id"`
	Limits   map[string]string `json:"limits"`
	// Effective is every policy that applies to the tenant's requests:
	// the configured ones with the tenant's overrides in place.
	Effective map[string]string `json:"effective"`
	UpdatedAt *time.Time        `json:"updated_at,omitempty"`
}

func tenantRateLimitsOut(p ratelimit.Plan) tenantRateLimitsJSON {
	out := tenantRateLimitsJSON{TenantID: p.TenantID, Limits: p.Limits, Effective: p.Effective}
	if !p.UpdatedAt.IsZero() {
		out.UpdatedAt = &p.UpdatedAt
	}
	return out
}

// getTenantRateLimits shows a tenant's plan.
func (s *Server) getTenantRateLimits(w http.ResponseWriter, r *http.Request) error {
	p, err := s.RateLimits.TenantPlan(r.Context(), caller(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, tenantRateLimitsOut(p))
}

type putTenantRateLimitsRequest struct {
	Limits map[string]string `json:"limits"`
}

// putTenantRateLimits replaces a tenant's plan.
func (s *Server) putTenantRateLimits(w http.ResponseWriter, r *http.Request) error {
	if err := s.RateLimits.MaySetTenantPlan(r.Context(), caller(r), r.PathValue("id")); err != nil {
		return err
	}
	var in putTenantRateLimitsRequest
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	p, err := s.RateLimits.SetTenantPlan(r.Context(), caller(r), r.PathValue("id"), in.Limits)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, tenantRateLimitsOut(p))
}
