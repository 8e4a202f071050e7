package httpapi

import (
	"net/http"
	"time"

	"github.com/tollgate/tollgate/identity"
)

type userJSON struct {
	ID            string    `json:"id"`
	ActorID       string    `json:"actor_id"`
	Email         string    `json:"email"`
	DisplayName   string    `json:"display_name"`
	Status        string    `json:"status"`
	PlatformAdmin bool      `json:"platform_admin"`
	CreatedAt     time.Time `json:"created_at"`
	UpdatedAt     time.Time `json:"updated_at"`
}

type patchUserRequest struct {
	Status identity.UserStatus `json:"status"`
}

// patchUser lets a platform admin disable or re-enable a user.
func (s *Server) patchUser(w http.ResponseWriter, r *http.Request) error {
	var in patchUserRequest
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	u, err := s.Identity.SetUserStatus(r.Context(), caller(r), r.PathValue("id"), in.Status)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, userOut(u))
}

func userOut(u identity.User) userJSON {
	return userJSON{
		ID: u.ID, ActorID: u.ActorID(), Email: u.Email, DisplayName: u.DisplayName, Status: string(u.Status),
		PlatformAdmin: u.PlatformAdmin, CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt,
	}
}
