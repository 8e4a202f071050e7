package httpapi

import (
	"net/http"
	"time"

	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/session"
)

type invitationJSON struct {
	ID        string    `json:"id"`
	TenantID  string    `json:"tenant_id"`
	Email     string    `json:"email"`
	Roles     []string  `json:"roles"`
	InvitedBy string    `json:"invited_by"`
	Status    string    `json:"status"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
}

func invitationOut(inv identity.Invitation) invitationJSON {
	return invitationJSON{ID: inv.ID, TenantID: inv.TenantID, Email: inv.Email, Roles: inv.Roles, InvitedBy: inv.InvitedBy,
		Status: string(inv.Status), CreatedAt: inv.CreatedAt, ExpiresAt: inv.ExpiresAt}
}

type inviteRequest struct {
	Email string   `json:"email"`
	Roles []string `json:"roles"`
}

func (s *Server) createInvitation(w http.ResponseWriter, r *http.Request) error {
	var in inviteRequest
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	inv, err := s.Identity.Invite(r.Context(), caller(r), r.PathValue("id"), identity.NewInvitation{Email: in.Email, Roles: in.Roles})
	if err != nil {
		return err
	}
	return writeInvitation(w, inv)
}

// writeInvitation answers 202 alike whether or not the address has an
// account: the email, not the answer, carries what happens next.
func writeInvitation(w http.ResponseWriter, inv identity.Invitation) error {
	w.Header().Set("Location", "/v1/tenants/"+inv.TenantID+"/invitations/"+inv.ID)
	return writeJSON(w, http.StatusAccepted, invitationOut(inv))
}

func (s *Server) listInvitations(w http.ResponseWriter, r *http.Request) error {
	p, limit, err := listPage(r)
	if err != nil {
		return err
	}
	list, err := s.Identity.ListInvitations(r.Context(), caller(r), r.PathValue("id"), p)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, page(list, limit, invitationOut, func(i identity.Invitation) string { return i.ID }))
}

func (s *Server) revokeInvitation(w http.ResponseWriter, r *http.Request) error {
	if err := s.Identity.RevokeInvitation(r.Context(), caller(r), r.PathValue("id"), r.PathValue("inv")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) resendInvitation(w http.ResponseWriter, r *http.Request) error {
	inv, err := s.Identity.ResendInvitation(r.Context(), caller(r), r.PathValue("id"), r.PathValue("inv"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusAccepted, invitationOut(inv))
}

type acceptRequest struct {
	Token       string `json:"token"`
	Password    string `json:"password"`
	DisplayName string `json:"display_name"`
}

type acceptResponse struct {
	Member memberJSON     `json:"member"`
	Tokens *tokenResponse `json:"tokens,omitempty"`
}

// acceptInvitation needs no credential (a new address has none), but
// resolves one when sent: an existing account joins as its signed-in
// session.
func (s *Server) acceptInvitation(w http.ResponseWriter, r *http.Request) error {
	var in acceptRequest
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	req := session.AcceptRequest{Token: in.Token, Password: in.Password, DisplayName: in.DisplayName, Client: s.client(r)}
	if raw, err := credentialOf(r); err == nil {
		ac, err := s.Credentials.Resolve(r.Context(), raw)
		if err != nil {
			return err
		}
		infoFrom(r.Context()).actor = &ac
		req.Signed = &ac
	} else if r.Header.Get("Authorization") != "" || r.Header.Get("X-API-Key") != "" {
		return err
	}
	out, err := s.Sessions.AcceptInvitation(r.Context(), req)
	if err != nil {
		return err
	}
	resp := acceptResponse{Member: memberOut(out.Membership)}
	if out.Tokens != nil {
		t := tokenJSON(*out.Tokens)
		resp.Tokens = &t
	}
	return writeJSON(w, http.StatusOK, resp)
}
