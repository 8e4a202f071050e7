package httpapi

import (
	"net/http"
	"time"

	"github.com/tollgate/tollgate/identity"
)

type memberJSON struct {
	TenantID  string    `json:"tenant_id"`
	ActorID   string    `json:"actor_id"`
	Roles     []string  `json:"roles"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

func memberOut(m identity.Membership) memberJSON {
	return memberJSON{TenantID: m.TenantID, ActorID: m.ActorID, Roles: m.Roles, CreatedAt: m.CreatedAt, UpdatedAt: m.UpdatedAt}
}

func (s *Server) listMembers(w http.ResponseWriter, r *http.Request) error {
	p, limit, err := listPage(r)
	if err != nil {
		return err
	}
	list, err := s.Identity.ListMembers(r.Context(), caller(r), r.PathValue("id"), p)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, page(list, limit, memberOut, func(m identity.Membership) string { return m.ActorID }))
}

type addMemberRequest struct {
	ActorID string   `json:"actor_id"`
	Email   string   `json:"email"`
	Roles   []string `json:"roles"`
}

func (s *Server) addMember(w http.ResponseWriter, r *http.Request) error {
	var in addMemberRequest
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	ad, err := s.Identity.AddOrInvite(r.Context(), caller(r), r.PathValue("id"),
		identity.MemberRequest{ActorID: in.ActorID, Email: in.Email, Roles: in.Roles})
	if err != nil {
		return err
	}
	if ad.Invitation != nil {
		return writeInvitation(w, *ad.Invitation)
	}
	m := *ad.Member
	w.Header().Set("Location", "/v1/tenants/"+m.TenantID+"/members/"+m.ActorID)
	return writeJSON(w, http.StatusCreated, memberOut(m))
}

func (s *Server) getMember(w http.ResponseWriter, r *http.Request) error {
	m, err := s.Identity.GetMember(r.Context(), caller(r), r.PathValue("id"), r.PathValue("actor_id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, memberOut(m))
}

type patchMemberRequest struct {
	Roles []string `json:"roles"`
}

func (s *Server) patchMember(w http.ResponseWriter, r *http.Request) error {
	var in patchMemberRequest
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	m, err := s.Identity.UpdateMemberRoles(r.Context(), caller(r), r.PathValue("id"), r.PathValue("actor_id"), in.Roles)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, memberOut(m))
}

func (s *Server) deleteMember(w http.ResponseWriter, r *http.Request) error {
	if err := s.Identity.RemoveMember(r.Context(), caller(r), r.PathValue("id"), r.PathValue("actor_id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
