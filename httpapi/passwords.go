package httpapi

import (
	"net/http"

	"github.com/tollgate/tollgate/session"
)

type forgotRequest struct {
	Email string `json:"email"`
}

// forgotPassword answers 202 for every well-formed address: whether a link
// was sent is told to the mailbox only.
func (s *Server) forgotPassword(w http.ResponseWriter, r *http.Request) error {
	var in forgotRequest
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if err := s.Sessions.ForgotPassword(r.Context(), in.Email); err != nil {
		return err
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}

type resetRequest struct {
	Token       string `json:"token"`
	NewPassword string `json:"new_password"`
}

func (s *Server) resetPassword(w http.ResponseWriter, r *http.Request) error {
	var in resetRequest
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if err := s.Sessions.ResetPassword(r.Context(), in.Token, in.NewPassword); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type changeRequest struct {
	CurrentPassword string `json:"current_password"`
	NewPassword     string `json:"new_password"`
}

func (s *Server) changePassword(w http.ResponseWriter, r *http.Request) error {
	var in changeRequest
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if err := s.Sessions.ChangePassword(r.Context(), *actor(r), in.CurrentPassword, in.NewPassword, s.client(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type signupRequest struct {
	Email       string `json:"email"`
	Password    string `json:"password"`
	DisplayName string `json:"display_name"`
}

// signup answers 202 alike whether the address is new or has an account:
// the email tells the mailbox which.
func (s *Server) signup(w http.ResponseWriter, r *http.Request) error {
	var in signupRequest
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if err := s.Sessions.Signup(r.Context(), session.SignupRequest{Email: in.Email, Password: in.Password, DisplayName: in.DisplayName}); err != nil {
		return err
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}

type verifyRequest struct {
	Token string `json:"token"`
}

func (s *Server) verifySignup(w http.ResponseWriter, r *http.Request) error {
	var in verifyRequest
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	t, err := s.Sessions.Verify(r.Context(), in.Token, s.client(r))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, tokenJSON(t))
}
