package httpapi

import (
	"net/http"
	"time"

	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/session"
)

type loginRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
	Tenant   string `json:"tenant,omitempty"`
}

type tokenActor struct {
	ID       string   `json:"id"`
	Type     string   `json:"type"`
	TenantID string   `json:"tenant_id,omitempty"`
	Roles    []string `json:"roles"`
}

type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
	SessionID    string `json:"session_id"`
	// AMR is how the session was signed in, as its access tokens say.
	AMR   []string   `json:"amr"`
	Actor tokenActor `json:"actor"`
}

func tokenJSON(t session.Tokens) tokenResponse {
	return tokenResponse{
		AccessToken: t.AccessToken, TokenType: "Bearer", ExpiresIn: int64(t.ExpiresIn / time.Second),
		RefreshToken: t.RefreshToken, SessionID: t.SessionID, AMR: t.AMR,
		Actor: tokenActor{ID: t.ActorID, Type: identity.ActorHuman, TenantID: t.TenantID, Roles: t.Roles},
	}
}

// client describes the peer: its address as the trusted proxies tell it.
func (s *Server) client(r *http.Request) session.Client {
	return session.Client{IP: s.opts.TrustedProxies.ClientIP(r), UserAgent: r.UserAgent()}
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) error {
	var in loginRequest
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	t, err := s.Sessions.Login(r.Context(), session.LoginRequest{
		Email: in.Email, Password: in.Password, Tenant: in.Tenant, Client: s.client(r),
	})
	if c, ok := challengeOf(err); ok {
		return writeJSON(w, http.StatusOK, c)
	}
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, tokenJSON(t))
}

type refreshRequest struct {
	RefreshToken string `json:"refresh_token"`
}

func (s *Server) refresh(w http.ResponseWriter, r *http.Request) error {
	var in refreshRequest
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	t, err := s.Sessions.Refresh(r.Context(), in.RefreshToken, s.client(r))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, tokenJSON(t))
}

type logoutRequest struct {
	All bool `json:"all"`
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) error {
	var in logoutRequest
	if r.ContentLength != 0 {
		if err := decodeJSON(r, &in); err != nil {
			return err
		}
	}
	if err := requireSession(r); err != nil {
		return err
	}
	if err := s.Sessions.Logout(r.Context(), *actor(r), in.All); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) me(w http.ResponseWriter, r *http.Request) error {
	return writeJSON(w, http.StatusOK, actor(r))
}

type switchTenantRequest struct {
	TenantID string `json:"tenant_id"`
}

func (s *Server) switchTenant(w http.ResponseWriter, r *http.Request) error {
	var in switchTenantRequest
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if err := requireSession(r); err != nil {
		return err
	}
	t, err := s.Sessions.SwitchTenant(r.Context(), *actor(r), in.TenantID, s.client(r))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, tokenJSON(t))
}
