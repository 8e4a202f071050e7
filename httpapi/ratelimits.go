package httpapi

import (
	"net/http"
	"slices"
	"time"

	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/ratelimit"
	"github.com/tollgate/tollgate/serviceaccount"
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
	if ac := actor(r); ac.ActorType != identity.ActorService || !slices.Contains(ac.Scopes, serviceaccount.ScopeRateLimitCheck) {
		return fault.Forbiddenf("scope_required", "only services holding the %s scope may check rate limits", serviceaccount.ScopeRateLimitCheck)
	}
	if s.Limiter == nil {
		return fault.New(fault.Unavailable, "ratelimit_unavailable", "rate limiting is not configured")
	}
	var in rateLimitCheckRequest
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if in.Name == "" {
		return fault.Invalidf("name", "name_required", "name is required")
	}
	if len(in.Name) > ratelimit.MaxNameLen {
		return fault.Invalidf("name", "invalid_limit", "name is at most %d bytes", ratelimit.MaxNameLen)
	}
	cost := int64(1)
	if in.Cost != nil {
		cost = *in.Cost
	}
	if in.TenantID != "" {
		if err := s.Identity.TenantExists(r.Context(), in.TenantID); err != nil {
			return err
		}
	}
	d, err := s.Limiter.CheckNamed(r.Context(), in.TenantID, in.Name, in.Key, cost)
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

func (s *Server) tenantRateLimitsOut(tl ratelimit.TenantLimits) tenantRateLimitsJSON {
	out := tenantRateLimitsJSON{TenantID: tl.TenantID, Limits: tl.Limits, Effective: map[string]string{}}
	if out.Limits == nil {
		out.Limits = map[string]string{}
	}
	if !tl.UpdatedAt.IsZero() {
		out.UpdatedAt = &tl.UpdatedAt
	}
	for name, p := range s.Limiter.Policies() {
		if ratelimit.TenantOverridable(name) {
			out.Effective[name] = p.String()
		}
	}
	for name, spec := range out.Limits {
		out.Effective[name] = spec
	}
	return out
}

// getTenantRateLimits shows a tenant's plan to its members and to
// platform admins.
func (s *Server) getTenantRateLimits(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if _, err := s.Identity.GetTenant(r.Context(), caller(r), id); err != nil {
		return err
	}
	if s.Limiter == nil {
		return fault.New(fault.Unavailable, "ratelimit_unavailable", "rate limiting is not configured")
	}
	tl, err := s.Limiter.TenantLimits(r.Context(), id)
	if err != nil {
		return err
	}
	tl.TenantID = id
	return writeJSON(w, http.StatusOK, s.tenantRateLimitsOut(tl))
}

type putTenantRateLimitsRequest struct {
	Limits map[string]string `json:"limits"`
}

// putTenantRateLimits replaces a tenant's plan; platform admins only, since
// a tenant raising its own limits would defeat them.
func (s *Server) putTenantRateLimits(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if _, err := s.Identity.GetTenant(r.Context(), caller(r), id); err != nil {
		return err
	}
	if !s.isPlatformAdmin(r) {
		return fault.Forbiddenf("platform_admin_required", "only a platform admin may change a tenant's rate limits")
	}
	if s.Limiter == nil {
		return fault.New(fault.Unavailable, "ratelimit_unavailable", "rate limiting is not configured")
	}
	var in putTenantRateLimitsRequest
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if in.Limits == nil {
		return fault.Invalidf("limits", "limits_required", `limits is required: an object of limit name to spec, {} to remove every override`)
	}
	tl, err := s.Limiter.SetTenantLimits(r.Context(), id, in.Limits)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, s.tenantRateLimitsOut(tl))
}
