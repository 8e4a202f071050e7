package httpapi

import (
	"net/http"
	"time"

	"github.com/tollgate/tollgate/identity"
)

// tenantDeletionJSON is a tenant's deletion as the API shows it.
type tenantDeletionJSON struct {
	ID          string     `json:"id"`
	TenantID    string     `json:"tenant_id"`
	Status      string     `json:"status"`
	RequestedBy string     `json:"requested_by"`
	RequestedAt time.Time  `json:"requested_at"`
	DeleteAfter time.Time  `json:"delete_after"`
	CancelledBy string     `json:"cancelled_by,omitempty"`
	Erased      int64      `json:"erased"`
	FinishedAt  *time.Time `json:"finished_at,omitempty"`
}

func tenantDeletionOut(d identity.TenantDeletion) tenantDeletionJSON {
	return tenantDeletionJSON{ID: d.ID, TenantID: d.TenantID, Status: string(d.Status), RequestedBy: d.RequestedBy,
		RequestedAt: d.RequestedAt, DeleteAfter: d.DeleteAfter, CancelledBy: d.CancelledBy, Erased: d.Erased, FinishedAt: d.FinishedAt}
}

type scheduleDeletionRequest struct {
	// Confirm repeats the tenant's slug.
	Confirm string `json:"confirm"`
}

func (s *Server) scheduleTenantDeletion(w http.ResponseWriter, r *http.Request) error {
	var in scheduleDeletionRequest
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	d, err := s.Identity.ScheduleTenantDeletion(r.Context(), caller(r), r.PathValue("id"), in.Confirm)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusAccepted, tenantDeletionOut(d))
}

func (s *Server) getTenantDeletion(w http.ResponseWriter, r *http.Request) error {
	d, err := s.Identity.GetTenantDeletion(r.Context(), caller(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, tenantDeletionOut(d))
}

func (s *Server) cancelTenantDeletion(w http.ResponseWriter, r *http.Request) error {
	d, err := s.Identity.CancelTenantDeletion(r.Context(), caller(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, tenantDeletionOut(d))
}
