package httpapi

import (
	"net/http"
	"time"

	"github.com/tollgate/tollgate/webhook"
)

type webhookJSON struct {
	ID                      string     `json:"id"`
	TenantID                string     `json:"tenant_id"`
	URL                     string     `json:"url"`
	Description             string     `json:"description"`
	EventTypes              []string   `json:"event_types"`
	Status                  string     `json:"status"`
	DisabledReason          string     `json:"disabled_reason,omitempty"`
	FailingSince            *time.Time `json:"failing_since,omitempty"`
	PreviousSecretExpiresAt *time.Time `json:"previous_secret_expires_at,omitempty"`
	CreatedBy               string     `json:"created_by"`
	CreatedAt               time.Time  `json:"created_at"`
	UpdatedAt               time.Time  `json:"updated_at"`
	// Secret is set only in the answers to create and rotate.
	Secret string `json:"secret,omitempty"`
}

func webhookOut(e webhook.Endpoint) webhookJSON {
	out := webhookJSON{
		ID: e.ID, TenantID: e.TenantID, URL: e.URL, Description: e.Description, EventTypes: e.EventTypes,
		Status: string(e.Status), DisabledReason: e.DisabledReason, FailingSince: e.FailingSince,
		CreatedBy: e.CreatedBy, CreatedAt: e.CreatedAt, UpdatedAt: e.UpdatedAt,
	}
	if e.PreviousSecret != nil {
		out.PreviousSecretExpiresAt = e.PreviousExpiresAt
	}
	if out.EventTypes == nil {
		out.EventTypes = []string{}
	}
	return out
}

type deliveryJSON struct {
	ID            string     `json:"id"`
	WebhookID     string     `json:"webhook_id"`
	MessageID     string     `json:"message_id"`
	EventType     string     `json:"event_type"`
	Status        string     `json:"status"`
	Attempts      int        `json:"attempts"`
	NextAttemptAt *time.Time `json:"next_attempt_at,omitempty"`
	CreatedAt     time.Time  `json:"created_at"`
	LastAttemptAt *time.Time `json:"last_attempt_at,omitempty"`
	// The last attempt's answer: HTTP status (0 for none), latency, the
	// start of the body, and why it failed.
	ResponseStatus int    `json:"response_status"`
	LatencyMS      int64  `json:"latency_ms"`
	Response       string `json:"response"`
	Error          string `json:"error,omitempty"`
}

func deliveryOut(d webhook.Delivery) deliveryJSON {
	out := deliveryJSON{
		ID: d.ID, WebhookID: d.EndpointID, MessageID: d.MessageID, EventType: d.EventType, Status: string(d.Status),
		Attempts: d.Attempts, CreatedAt: d.CreatedAt, LastAttemptAt: d.LastAttemptAt, ResponseStatus: d.LastStatus,
		LatencyMS: d.LastLatency.Milliseconds(), Response: d.LastResponse, Error: d.LastError,
	}
	if d.Status == webhook.Pending {
		out.NextAttemptAt = &d.NextAttemptAt
	}
	return out
}

type createWebhookRequest struct {
	URL         string   `json:"url"`
	Description string   `json:"description"`
	EventTypes  []string `json:"event_types"`
}

func (s *Server) createWebhook(w http.ResponseWriter, r *http.Request) error {
	var in createWebhookRequest
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	e, secret, err := s.Webhooks.Create(r.Context(), *actor(r), r.PathValue("id"),
		webhook.NewEndpoint{URL: in.URL, Description: in.Description, EventTypes: in.EventTypes})
	if err != nil {
		return err
	}
	out := webhookOut(e)
	out.Secret = secret
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Location", "/v1/tenants/"+e.TenantID+"/webhooks/"+e.ID)
	return writeJSON(w, http.StatusCreated, out)
}

func (s *Server) listWebhooks(w http.ResponseWriter, r *http.Request) error {
	p, limit, err := listPage(r)
	if err != nil {
		return err
	}
	list, err := s.Webhooks.List(r.Context(), *actor(r), r.PathValue("id"), p)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, page(list, limit, webhookOut, func(e webhook.Endpoint) string { return e.ID }))
}

func (s *Server) getWebhook(w http.ResponseWriter, r *http.Request) error {
	e, err := s.Webhooks.Get(r.Context(), *actor(r), r.PathValue("id"), r.PathValue("webhook_id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, webhookOut(e))
}

type patchWebhookRequest struct {
	URL         *string         `json:"url"`
	Description *string         `json:"description"`
	EventTypes  *[]string       `json:"event_types"`
	Status      *webhook.Status `json:"status"`
}

func (s *Server) patchWebhook(w http.ResponseWriter, r *http.Request) error {
	var in patchWebhookRequest
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	e, err := s.Webhooks.Update(r.Context(), *actor(r), r.PathValue("id"), r.PathValue("webhook_id"),
		webhook.EndpointPatch{URL: in.URL, Description: in.Description, EventTypes: in.EventTypes, Status: in.Status})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, webhookOut(e))
}

func (s *Server) deleteWebhook(w http.ResponseWriter, r *http.Request) error {
	if err := s.Webhooks.Delete(r.Context(), *actor(r), r.PathValue("id"), r.PathValue("webhook_id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type rotateWebhookRequest struct {
	OverlapSeconds *int64 `json:"overlap_seconds"`
}

func (s *Server) rotateWebhookSecret(w http.ResponseWriter, r *http.Request) error {
	var in rotateWebhookRequest
	if r.ContentLength != 0 {
		if err := decodeJSON(r, &in); err != nil {
			return err
		}
	}
	e, secret, err := s.Webhooks.Rotate(r.Context(), *actor(r), r.PathValue("id"), r.PathValue("webhook_id"), in.OverlapSeconds)
	if err != nil {
		return err
	}
	out := webhookOut(e)
	out.Secret = secret
	w.Header().Set("Cache-Control", "no-store")
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) testWebhook(w http.ResponseWriter, r *http.Request) error {
	d, err := s.Webhooks.Test(r.Context(), *actor(r), r.PathValue("id"), r.PathValue("webhook_id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusAccepted, deliveryOut(d))
}

func (s *Server) listWebhookDeliveries(w http.ResponseWriter, r *http.Request) error {
	p, limit, err := listPage(r)
	if err != nil {
		return err
	}
	list, err := s.Webhooks.Deliveries(r.Context(), *actor(r), r.PathValue("id"), r.PathValue("webhook_id"), p)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, page(list, limit, deliveryOut, func(d webhook.Delivery) string { return d.ID }))
}

func (s *Server) redeliverWebhook(w http.ResponseWriter, r *http.Request) error {
	d, err := s.Webhooks.Redeliver(r.Context(), *actor(r), r.PathValue("id"), r.PathValue("webhook_id"), r.PathValue("delivery_id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusAccepted, deliveryOut(d))
}
