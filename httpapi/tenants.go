package httpapi

import (
	"net/http"
	"time"

	"github.com/tollgate/tollgate/identity"
)

type tenantJSON struct {
	ID        string    `json:"id"`
	Slug      string    `json:"slug"`
	Name      string    `json:"name"`
	Status    string    `json:"status"`
	MFA       string    `json:"mfa"`
	Roles     []string  `json:"roles,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

func tenantOut(t identity.Tenant) tenantJSON {
	return tenantJSON{ID: t.ID, Slug: t.Slug, Name: t.Name, Status: string(t.Status), MFA: string(t.MFA), CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt}
}

func tenantWithRoles(tm identity.TenantMembership) tenantJSON {
	j := tenantOut(tm.Tenant)
	j.Roles = tm.Roles
	return j
}

type createTenantRequest struct {
	Slug string `json:"slug"`
	Name string `json:"name"`
}

func (s *Server) createTenant(w http.ResponseWriter, r *http.Request) error {
	var in createTenantRequest
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if err := requireSession(r); err != nil {
		return err
	}
	t, err := s.Identity.CreateTenant(r.Context(), actor(r).ActorID, identity.NewTenant{Slug: in.Slug, Name: in.Name})
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/v1/tenants/"+t.ID)
	return writeJSON(w, http.StatusCreated, tenantWithRoles(identity.TenantMembership{Tenant: t, Roles: []string{identity.RoleOwner}}))
}

// listTenants lists the caller's tenants; ?all=true lists every tenant for a
// platform admin.
func (s *Server) listTenants(w http.ResponseWriter, r *http.Request) error {
	p, limit, err := listPage(r)
	if err != nil {
		return err
	}
	if r.URL.Query().Get("all") == "true" {
		list, err := s.Identity.ListAllTenants(r.Context(), caller(r), p)
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, page(list, limit, tenantOut, func(t identity.Tenant) string { return t.ID }))
	}
	list, err := s.Identity.ListMyTenants(r.Context(), caller(r), p)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, page(list, limit, tenantWithRoles, func(t identity.TenantMembership) string { return t.Tenant.ID }))
}

func (s *Server) getTenant(w http.ResponseWriter, r *http.Request) error {
	tm, err := s.Identity.GetTenant(r.Context(), caller(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, tenantWithRoles(tm))
}

type patchTenantRequest struct {
	Name   *string `json:"name"`
	Status *string `json:"status"`
	MFA    *string `json:"mfa"`
}

func (s *Server) patchTenant(w http.ResponseWriter, r *http.Request) error {
	var in patchTenantRequest
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	p := identity.TenantPatch{Name: in.Name}
	if in.Status != nil {
		st := identity.TenantStatus(*in.Status)
		p.Status = &st
	}
	if in.MFA != nil {
		m := identity.TenantMFA(*in.MFA)
		p.MFA = &m
	}
	t, err := s.Identity.UpdateTenant(r.Context(), caller(r), r.PathValue("id"), p)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, tenantOut(t))
}
