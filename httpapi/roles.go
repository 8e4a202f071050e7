package httpapi

import (
	"net/http"
	"time"

	"github.com/tollgate/tollgate/identity"
)

type roleJSON struct {
	Name        string     `json:"name"`
	Description string     `json:"description"`
	Permissions []string   `json:"permissions"`
	Builtin     bool       `json:"builtin"`
	CreatedAt   *time.Time `json:"created_at,omitempty"`
	UpdatedAt   *time.Time `json:"updated_at,omitempty"`
}

func roleOut(r identity.Role) roleJSON {
	j := roleJSON{Name: r.Name, Description: r.Description, Permissions: r.Permissions, Builtin: identity.IsBuiltinRole(r.Name)}
	if j.Permissions == nil {
		j.Permissions = []string{}
	}
	if !r.CreatedAt.IsZero() {
		j.CreatedAt, j.UpdatedAt = &r.CreatedAt, &r.UpdatedAt
	}
	return j
}

func (s *Server) listRoles(w http.ResponseWriter, r *http.Request) error {
	list, err := s.Identity.ListRoles(r.Context(), caller(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	out := listResponse[roleJSON]{Items: make([]roleJSON, 0, len(list))}
	for _, role := range list {
		out.Items = append(out.Items, roleOut(role))
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) getRole(w http.ResponseWriter, r *http.Request) error {
	role, err := s.Identity.GetRole(r.Context(), caller(r), r.PathValue("id"), r.PathValue("name"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, roleOut(role))
}

type putRoleRequest struct {
	Description string   `json:"description"`
	Permissions []string `json:"permissions"`
}

func (s *Server) putRole(w http.ResponseWriter, r *http.Request) error {
	var in putRoleRequest
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	role, err := s.Identity.PutRole(r.Context(), caller(r), r.PathValue("id"), r.PathValue("name"),
		identity.RoleInput{Description: in.Description, Permissions: in.Permissions})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, roleOut(role))
}

func (s *Server) deleteRole(w http.ResponseWriter, r *http.Request) error {
	if err := s.Identity.DeleteRole(r.Context(), caller(r), r.PathValue("id"), r.PathValue("name")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
