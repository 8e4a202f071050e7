package httpapi

import (
	"net/http"
	"time"

	"github.com/tollgate/tollgate/serviceaccount"
)

type serviceJSON struct {
	ID          string   `json:"id"`
	ClientID    string   `json:"client_id"`
	ActorID     string   `json:"actor_id"`
	Name        string   `json:"name"`
	Description string   `json:"description"`
	Scopes      []string `json:"scopes"`
	// Tenants and ResourceTypes are the service's reach ("*": all).
	Tenants       []string  `json:"tenants"`
	ResourceTypes []string  `json:"resource_types"`
	Status        string    `json:"status"`
	CreatedAt     time.Time `json:"created_at"`
	UpdatedAt     time.Time `json:"updated_at"`
	// ClientSecret is present only when it was just created or rotated.
	ClientSecret string `json:"client_secret,omitempty"`
}

func serviceOut(s serviceaccount.Service) serviceJSON {
	scopes := s.Scopes
	if scopes == nil {
		scopes = []string{}
	}
	return serviceJSON{
		ID: s.ID, ClientID: s.ID, ActorID: s.ActorID(), Name: s.Name, Description: s.Description,
		Scopes: scopes, Tenants: s.Tenants, ResourceTypes: s.ResourceTypes, Status: string(s.Status), CreatedAt: s.CreatedAt, UpdatedAt: s.UpdatedAt,
	}
}

type createServiceRequest struct {
	Name          string   `json:"name"`
	Description   string   `json:"description"`
	Scopes        []string `json:"scopes"`
	Tenants       []string `json:"tenants"`
	ResourceTypes []string `json:"resource_types"`
}

func (s *Server) createService(w http.ResponseWriter, r *http.Request) error {
	var in createServiceRequest
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	svc, secret, err := s.Services.Register(r.Context(), *actor(r), serviceaccount.NewService{
		Name: in.Name, Description: in.Description, Scopes: in.Scopes, Tenants: in.Tenants, ResourceTypes: in.ResourceTypes,
	})
	if err != nil {
		return err
	}
	out := serviceOut(svc)
	out.ClientSecret = secret
	w.Header().Set("Location", "/v1/services/"+svc.ID)
	w.Header().Set("Cache-Control", "no-store")
	return writeJSON(w, http.StatusCreated, out)
}

func (s *Server) listServices(w http.ResponseWriter, r *http.Request) error {
	p, limit, err := listPage(r)
	if err != nil {
		return err
	}
	list, err := s.Services.List(r.Context(), *actor(r), p)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, page(list, limit, serviceOut, func(s serviceaccount.Service) string { return s.ID }))
}

func (s *Server) getService(w http.ResponseWriter, r *http.Request) error {
	svc, err := s.Services.Get(r.Context(), *actor(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, serviceOut(svc))
}

type patchServiceRequest struct {
	Description   *string                `json:"description"`
	Scopes        *[]string              `json:"scopes"`
	Tenants       *[]string              `json:"tenants"`
	ResourceTypes *[]string              `json:"resource_types"`
	Status        *serviceaccount.Status `json:"status"`
}

func (s *Server) patchService(w http.ResponseWriter, r *http.Request) error {
	var in patchServiceRequest
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	svc, err := s.Services.Update(r.Context(), *actor(r), r.PathValue("id"), serviceaccount.Patch{
		Description: in.Description, Scopes: in.Scopes, Tenants: in.Tenants, ResourceTypes: in.ResourceTypes, Status: in.Status,
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, serviceOut(svc))
}

func (s *Server) deleteService(w http.ResponseWriter, r *http.Request) error {
	if err := s.Services.Delete(r.Context(), *actor(r), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) rotateServiceSecret(w http.ResponseWriter, r *http.Request) error {
	grace, err := gracePeriod(r, s.opts.RotationGrace)
	if err != nil {
		return err
	}
	svc, secret, err := s.Services.RotateSecret(r.Context(), *actor(r), r.PathValue("id"), grace)
	if err != nil {
		return err
	}
	out := serviceOut(svc)
	out.ClientSecret = secret
	w.Header().Set("Cache-Control", "no-store")
	return writeJSON(w, http.StatusOK, out)
}
