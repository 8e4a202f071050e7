package httpapi

import (
	"net/http"
	"time"

	"github.com/tollgate/tollgate/identity"
)

type agentJSON struct {
	ID          string    `json:"id"`
	ActorID     string    `json:"actor_id"`
	TenantID    string    `json:"tenant_id"`
	OwnerID     string    `json:"owner_id"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	Status      string    `json:"status"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

func agentOut(a identity.Agent) agentJSON {
	return agentJSON{
		ID: a.ID, ActorID: a.ActorID(), TenantID: a.TenantID, OwnerID: a.OwnerID, Name: a.Name,
		Description: a.Description, Status: string(a.Status), CreatedAt: a.CreatedAt, UpdatedAt: a.UpdatedAt,
	}
}

type createAgentRequest struct {
	Name        string `json:"name"`
	Description string `json:"description"`
}

func (s *Server) createAgent(w http.ResponseWriter, r *http.Request) error {
	var in createAgentRequest
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	a, err := s.Identity.CreateAgent(r.Context(), caller(r), r.PathValue("id"), identity.NewAgent{Name: in.Name, Description: in.Description})
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/v1/tenants/"+a.TenantID+"/agents/"+a.ID)
	return writeJSON(w, http.StatusCreated, agentOut(a))
}

func (s *Server) listAgents(w http.ResponseWriter, r *http.Request) error {
	p, limit, err := listPage(r)
	if err != nil {
		return err
	}
	list, err := s.Identity.ListAgents(r.Context(), caller(r), r.PathValue("id"), p)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, page(list, limit, agentOut, func(a identity.Agent) string { return a.ID }))
}

func (s *Server) getAgent(w http.ResponseWriter, r *http.Request) error {
	a, err := s.Identity.GetAgent(r.Context(), caller(r), r.PathValue("id"), r.PathValue("agent_id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, agentOut(a))
}

type patchAgentRequest struct {
	Name        *string               `json:"name"`
	Description *string               `json:"description"`
	Status      *identity.AgentStatus `json:"status"`
}

func (s *Server) patchAgent(w http.ResponseWriter, r *http.Request) error {
	var in patchAgentRequest
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	a, err := s.Identity.UpdateAgent(r.Context(), caller(r), r.PathValue("id"), r.PathValue("agent_id"),
		identity.AgentPatch{Name: in.Name, Description: in.Description, Status: in.Status})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, agentOut(a))
}

func (s *Server) deleteAgent(w http.ResponseWriter, r *http.Request) error {
	if err := s.Identity.DeleteAgent(r.Context(), caller(r), r.PathValue("id"), r.PathValue("agent_id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
