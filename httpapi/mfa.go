package httpapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/tollgate/tollgate/session"
)

// challengeResponse is the login's answer to a right password when a
// second factor is needed: no tokens yet.
type challengeResponse struct {
	MFARequired bool     `json:"mfa_required"`
	MFAToken    string   `json:"mfa_token"`
	ExpiresIn   int64    `json:"expires_in"`
	Factors     []string `json:"factors"`
}

// challengeOf finds a second-factor challenge in a login's error; an
// enrolment challenge is not one: it is refused as a problem carrying the
// token (writeError).
func challengeOf(err error) (challengeResponse, bool) {
	var ce *session.ChallengeError
	if !errors.As(err, &ce) || ce.Enrol {
		return challengeResponse{}, false
	}
	return challengeResponse{MFARequired: true, MFAToken: ce.Token, ExpiresIn: int64(ce.ExpiresIn / time.Second), Factors: ce.Factors}, true
}

type mfaRequest struct {
	MFAToken     string `json:"mfa_token"`
	Code         string `json:"code"`
	RecoveryCode string `json:"recovery_code"`
	// WebAuthn is a passkey's answer to the challenge's ceremony
	// (POST /v1/auth/mfa/webauthn).
	WebAuthn json.RawMessage `json:"webauthn"`
}

// completeMFA finishes a challenged sign-in with a code, a recovery code
// or a passkey.
func (s *Server) completeMFA(w http.ResponseWriter, r *http.Request) error {
	var in mfaRequest
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	t, err := s.Sessions.CompleteMFA(r.Context(), session.MFARequest{
		Token: in.MFAToken, Code: in.Code, RecoveryCode: in.RecoveryCode, Passkey: in.WebAuthn, Client: s.client(r),
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, tokenJSON(t))
}

type totpEnrolmentResponse struct {
	Secret     string `json:"secret"`
	OTPAuthURI string `json:"otpauth_uri"`
}

type mfaTokenRequest struct {
	MFAToken string `json:"mfa_token"`
}

// startTOTPEnrolment begins an enrolment with a sign-in's enrolment
// challenge (mfa_enrollment_required).
func (s *Server) startTOTPEnrolment(w http.ResponseWriter, r *http.Request) error {
	var in mfaTokenRequest
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	e, err := s.Sessions.StartTOTPEnrolment(r.Context(), in.MFAToken)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, totpEnrolmentResponse{Secret: e.Secret, OTPAuthURI: e.URI})
}

type enrolledResponse struct {
	tokenResponse
	RecoveryCodes []string `json:"recovery_codes"`
}

// confirmTOTPEnrolment confirms it with a code and signs in.
func (s *Server) confirmTOTPEnrolment(w http.ResponseWriter, r *http.Request) error {
	var in mfaRequest
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	t, codes, err := s.Sessions.ConfirmTOTPEnrolment(r.Context(), in.MFAToken, in.Code, s.client(r))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, enrolledResponse{tokenResponse: tokenJSON(t), RecoveryCodes: codes})
}

// startTOTP begins enrolling an authenticator app for the signed-in user.
func (s *Server) startTOTP(w http.ResponseWriter, r *http.Request) error {
	e, err := s.Sessions.StartTOTP(r.Context(), *actor(r))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, totpEnrolmentResponse{Secret: e.Secret, OTPAuthURI: e.URI})
}

type codeRequest struct {
	Code     string `json:"code"`
	Password string `json:"password"`
}

type recoveryCodesResponse struct {
	RecoveryCodes []string `json:"recovery_codes"`
}

func (s *Server) confirmTOTP(w http.ResponseWriter, r *http.Request) error {
	var in codeRequest
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	codes, err := s.Sessions.ConfirmTOTP(r.Context(), *actor(r), in.Code)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, recoveryCodesResponse{RecoveryCodes: codes})
}

func (s *Server) disableTOTP(w http.ResponseWriter, r *http.Request) error {
	var in codeRequest
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if err := s.Sessions.DisableTOTP(r.Context(), *actor(r), in.Code, in.Password, s.client(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// regenerateRecoveryCodes replaces the signed-in user's recovery codes,
// after a current code or the password.
func (s *Server) regenerateRecoveryCodes(w http.ResponseWriter, r *http.Request) error {
	var in codeRequest
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	codes, err := s.Sessions.RegenerateRecoveryCodes(r.Context(), *actor(r), in.Code, in.Password, s.client(r))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, recoveryCodesResponse{RecoveryCodes: codes})
}
