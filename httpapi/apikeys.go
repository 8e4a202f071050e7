package httpapi

import (
	"net/http"
	"time"

	"github.com/tollgate/tollgate/apikey"
	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/secret"
)

type apiKeyJSON struct {
	ID                string     `json:"id"`
	TenantID          string     `json:"tenant_id"`
	ActorID           string     `json:"actor_id"`
	CreatedBy         string     `json:"created_by"`
	Name              string     `json:"name"`
	Scopes            []string   `json:"scopes"`
	RateLimit         string     `json:"rate_limit,omitempty"`
	ExpiresAt         *time.Time `json:"expires_at,omitempty"`
	CreatedAt         time.Time  `json:"created_at"`
	RotatedAt         *time.Time `json:"rotated_at,omitempty"`
	PreviousExpiresAt *time.Time `json:"previous_secret_expires_at,omitempty"`
	LastUsedAt        *time.Time `json:"last_used_at,omitempty"`
	RevokedAt         *time.Time `json:"revoked_at,omitempty"`
	// Key is the secret, present only in the answer that creates it.
	Key string `json:"key,omitempty"`
}

func apiKeyOut(k apikey.Key) apiKeyJSON {
	scopes := k.Scopes
	if scopes == nil {
		scopes = []string{}
	}
	return apiKeyJSON{
		ID: k.ID, TenantID: k.TenantID, ActorID: k.ActorID, CreatedBy: k.CreatedBy, Name: k.Name,
		Scopes: scopes, RateLimit: k.RateLimit, ExpiresAt: k.ExpiresAt, CreatedAt: k.CreatedAt, RotatedAt: k.RotatedAt,
		PreviousExpiresAt: k.PreviousExpiresAt, LastUsedAt: k.LastUsedAt, RevokedAt: k.RevokedAt,
	}
}

type createAPIKeyRequest struct {
	Name      string     `json:"name"`
	TenantID  string     `json:"tenant_id"`
	ActorID   string     `json:"actor_id"`
	Scopes    []string   `json:"scopes"`
	ExpiresAt *time.Time `json:"expires_at"`
	RateLimit string     `json:"rate_limit"`
}

func (s *Server) createAPIKey(w http.ResponseWriter, r *http.Request) error {
	var in createAPIKeyRequest
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if in.TenantID == "" {
		in.TenantID = actor(r).TenantID
	}
	k, raw, err := s.APIKeys.Create(r.Context(), *actor(r), apikey.NewKey{
		Name: in.Name, TenantID: in.TenantID, ActorID: in.ActorID, Scopes: in.Scopes, ExpiresAt: in.ExpiresAt,
		RateLimit: in.RateLimit,
	})
	if err != nil {
		return err
	}
	out := apiKeyOut(k)
	out.Key = raw
	w.Header().Set("Location", "/v1/api-keys/"+k.ID)
	w.Header().Set("Cache-Control", "no-store")
	return writeJSON(w, http.StatusCreated, out)
}

func (s *Server) listAPIKeys(w http.ResponseWriter, r *http.Request) error {
	p, limit, err := listPage(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	tenantID := q.Get("tenant_id")
	if tenantID == "" {
		tenantID = actor(r).TenantID
	}
	includeRevoked := false
	switch q.Get("include_revoked") {
	case "", "false":
	case "true":
		includeRevoked = true
	default:
		return fault.Invalidf("include_revoked", CodeInvalidIncludeRevoked, "include_revoked must be true or false")
	}
	list, err := s.APIKeys.List(r.Context(), *actor(r), tenantID, q.Get("actor_id"), includeRevoked, p)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, page(list, limit, apiKeyOut, func(k apikey.Key) string { return k.ID }))
}

func (s *Server) getAPIKey(w http.ResponseWriter, r *http.Request) error {
	k, err := s.APIKeys.Get(r.Context(), *actor(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, apiKeyOut(k))
}

func (s *Server) revokeAPIKey(w http.ResponseWriter, r *http.Request) error {
	if err := s.APIKeys.Revoke(r.Context(), *actor(r), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type patchAPIKeyRequest struct {
	// RateLimit is the key's own rate-limit spec; "" removes it.
	RateLimit *string `json:"rate_limit"`
}

func (s *Server) patchAPIKey(w http.ResponseWriter, r *http.Request) error {
	var in patchAPIKeyRequest
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if in.RateLimit == nil {
		return fault.Invalidf("rate_limit", CodeNothingToChange, `send rate_limit: a rate-limit spec, or "" to remove the key's own limit`)
	}
	k, err := s.APIKeys.SetRateLimit(r.Context(), *actor(r), r.PathValue("id"), *in.RateLimit)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, apiKeyOut(k))
}

// rotateRequest is the body of both rotate endpoints; it may be empty.
type rotateRequest struct {
	GracePeriodSeconds *int64 `json:"grace_period_seconds"`
}

// gracePeriod reads an optional rotate body; def applies when it is absent.
func gracePeriod(r *http.Request, def time.Duration) (time.Duration, error) {
	var in rotateRequest
	if r.ContentLength != 0 {
		if err := decodeJSON(r, &in); err != nil {
			return 0, err
		}
	}
	if in.GracePeriodSeconds == nil {
		return def, nil
	}
	const maxSeconds = 365 * 24 * 3600 // the services bound it further
	if *in.GracePeriodSeconds < 0 || *in.GracePeriodSeconds > maxSeconds {
		return 0, fault.Invalidf("grace_period_seconds", secret.CodeInvalidGracePeriod, "grace_period_seconds must be between 0 and %d", maxSeconds)
	}
	return time.Duration(*in.GracePeriodSeconds) * time.Second, nil
}

func (s *Server) rotateAPIKey(w http.ResponseWriter, r *http.Request) error {
	grace, err := gracePeriod(r, s.opts.RotationGrace)
	if err != nil {
		return err
	}
	k, raw, err := s.APIKeys.Rotate(r.Context(), *actor(r), r.PathValue("id"), grace)
	if err != nil {
		return err
	}
	out := apiKeyOut(k)
	out.Key = raw
	w.Header().Set("Cache-Control", "no-store")
	return writeJSON(w, http.StatusOK, out)
}
