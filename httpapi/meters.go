package httpapi

import (
	"net/http"

	"github.com/tollgate/tollgate/usage"
)

// metersAnswer is a tenant's own meters and those every tenant has.
type metersAnswer struct {
	usage.TenantMeters
	// Shipped are the shipped and configured meters, read-only here.
	Shipped []usage.Meter `json:"shipped"`
}

func (s *Server) getMeters(w http.ResponseWriter, r *http.Request) error {
	if s.Usage == nil {
		return errNoRoute()
	}
	tm, shipped, err := s.Usage.TenantMeters(r.Context(), *actor(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, metersAnswer{TenantMeters: tm, Shipped: shipped})
}

type putMetersRequest struct {
	Meters []usage.Meter `json:"meters"`
	// Version, when given, is the version the caller read: the change
	// applies only if no other came in between.
	Version *int64 `json:"version"`
}

// putMeters replaces a tenant's own meters.
func (s *Server) putMeters(w http.ResponseWriter, r *http.Request) error {
	if s.Usage == nil {
		return errNoRoute()
	}
	if err := s.Usage.MaySetTenantMeters(r.Context(), *actor(r), r.PathValue("id")); err != nil {
		return err
	}
	var in putMetersRequest
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	version := int64(usage.AnyVersion)
	if in.Version != nil {
		version = *in.Version
	}
	tm, err := s.Usage.SetTenantMeters(r.Context(), *actor(r), r.PathValue("id"), in.Meters, version)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, tm)
}
