package httpapi

import (
	"net/http"
	"time"

	"github.com/tollgate/tollgate/session"
)

type sessionJSON struct {
	ID       string `json:"id"`
	ActorID  string `json:"actor_id"`
	TenantID string `json:"tenant_id,omitempty"`
	// Device is the user agent of the sign-in, as the session keeps it
	// (its first 256 bytes).
	Device     string    `json:"device"`
	IP         string    `json:"ip"`
	CreatedAt  time.Time `json:"created_at"`
	LastUsedAt time.Time `json:"last_used_at"`
	ExpiresAt  time.Time `json:"expires_at"`
	EndsAt     time.Time `json:"ends_at"`
	Current    bool      `json:"current"`
}

// sessionsOut renders sessions for the caller, marking the one its token
// belongs to.
func sessionsOut(r *http.Request) func(session.Session) sessionJSON {
	current := actor(r).SessionID
	return func(s session.Session) sessionJSON {
		return sessionJSON{
			ID: s.ID, ActorID: s.ActorID, TenantID: s.TenantID, Device: s.UserAgent, IP: s.IP,
			CreatedAt: s.CreatedAt, LastUsedAt: s.RefreshedAt, ExpiresAt: s.ExpiresAt, EndsAt: s.EndsAt,
			Current: current != "" && s.ID == current,
		}
	}
}

func sessionKey(s session.Session) string { return s.ID }

func (s *Server) listOwnSessions(w http.ResponseWriter, r *http.Request) error {
	p, limit, err := listPage(r)
	if err != nil {
		return err
	}
	list, err := s.SessionAdmin.ListOwn(r.Context(), *actor(r), p)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, page(list, limit, sessionsOut(r), sessionKey))
}

func (s *Server) revokeOwnSession(w http.ResponseWriter, r *http.Request) error {
	if err := s.SessionAdmin.RevokeOwn(r.Context(), *actor(r), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) listTenantSessions(w http.ResponseWriter, r *http.Request) error {
	p, limit, err := listPage(r)
	if err != nil {
		return err
	}
	list, err := s.SessionAdmin.ListTenant(r.Context(), *actor(r), r.PathValue("id"), r.URL.Query().Get("actor"), p)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, page(list, limit, sessionsOut(r), sessionKey))
}

func (s *Server) revokeTenantSession(w http.ResponseWriter, r *http.Request) error {
	if err := s.SessionAdmin.RevokeInTenant(r.Context(), *actor(r), r.PathValue("id"), r.PathValue("sid")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
