package httpapi

import (
	"net/http"

	"github.com/tollgate/tollgate/usage"
)

// getQuotas shows a tenant's usage quotas to its admins and platform
// admins.
func (s *Server) getQuotas(w http.ResponseWriter, r *http.Request) error {
	if s.Usage == nil {
		return errNoRoute()
	}
	q, err := s.Usage.Quotas(r.Context(), caller(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, q)
}

type putQuotasRequest struct {
	Quotas []usage.Quota `json:"quotas"`
}

// putQuotas replaces a tenant's usage quotas; platform admins only.
func (s *Server) putQuotas(w http.ResponseWriter, r *http.Request) error {
	if s.Usage == nil {
		return errNoRoute()
	}
	if err := s.Usage.MaySetQuotas(r.Context(), caller(r), r.PathValue("id")); err != nil {
		return err
	}
	var in putQuotasRequest
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	q, err := s.Usage.SetQuotas(r.Context(), caller(r), r.PathValue("id"), in.Quotas)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, q)
}
