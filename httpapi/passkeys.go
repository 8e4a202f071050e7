package httpapi

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"time"

	"github.com/tollgate/tollgate/session"
)

// Passkeys (WebAuthn). Ceremony options are go-webauthn's JSON as
// navigator.credentials.create / get take them once their base64url
// members are decoded; answers are the PublicKeyCredential's JSON
// (toJSON()), passed to the session package as they came.

type passkeyJSON struct {
	ID             string     `json:"id"`
	Name           string     `json:"name"`
	CredentialID   string     `json:"credential_id"`
	AAGUID         string     `json:"aaguid,omitempty"`
	Transports     []string   `json:"transports"`
	BackupEligible bool       `json:"backup_eligible"`
	BackupState    bool       `json:"backup_state"`
	UserVerified   bool       `json:"user_verified"`
	CreatedAt      time.Time  `json:"created_at"`
	LastUsedAt     *time.Time `json:"last_used_at,omitempty"`
}

func passkeyOut(p session.Passkey) passkeyJSON {
	out := passkeyJSON{
		ID: p.ID, Name: p.Name, CredentialID: base64.RawURLEncoding.EncodeToString(p.CredentialID),
		Transports: p.Transports, BackupEligible: p.BackupEligible, BackupState: p.BackupState,
		UserVerified: p.UserVerified, CreatedAt: p.CreatedAt, LastUsedAt: p.LastUsedAt,
	}
	if out.Transports == nil {
		out.Transports = []string{}
	}
	if len(p.AAGUID) == 16 {
		out.AAGUID = formatUUID(p.AAGUID)
	}
	return out
}

// formatUUID writes 16 bytes as a UUID, as authenticator catalogues name
// AAGUIDs.
func formatUUID(b []byte) string {
	const hex = "0123456789abcdef"
	out := make([]byte, 0, 36)
	for i, c := range b {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			out = append(out, '-')
		}
		out = append(out, hex[c>>4], hex[c&0xf])
	}
	return string(out)
}

func (s *Server) beginPasskeyRegistration(w http.ResponseWriter, r *http.Request) error {
	opts, err := s.Sessions.BeginPasskeyRegistration(r.Context(), *actor(r))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, opts)
}

type passkeyRegistration struct {
	Name       string          `json:"name"`
	Credential json.RawMessage `json:"credential"`
}

func (s *Server) finishPasskeyRegistration(w http.ResponseWriter, r *http.Request) error {
	var in passkeyRegistration
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	p, err := s.Sessions.FinishPasskeyRegistration(r.Context(), *actor(r), in.Name, in.Credential)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, passkeyOut(p))
}

func (s *Server) listPasskeys(w http.ResponseWriter, r *http.Request) error {
	list, err := s.Sessions.ListPasskeys(r.Context(), *actor(r))
	if err != nil {
		return err
	}
	// At most session.MaxPasskeysPerUser: one page, no cursor.
	return writeJSON(w, http.StatusOK, page(list, len(list), passkeyOut, func(p session.Passkey) string { return p.ID }))
}

type passkeyRename struct {
	Name string `json:"name"`
}

func (s *Server) renamePasskey(w http.ResponseWriter, r *http.Request) error {
	var in passkeyRename
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	p, err := s.Sessions.RenamePasskey(r.Context(), *actor(r), r.PathValue("id"), in.Name)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, passkeyOut(p))
}

func (s *Server) beginPasskeyReauth(w http.ResponseWriter, r *http.Request) error {
	opts, err := s.Sessions.BeginPasskeyReauth(r.Context(), *actor(r))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, opts)
}

type passkeyDelete struct {
	Password string          `json:"password"`
	Code     string          `json:"code"`
	WebAuthn json.RawMessage `json:"webauthn"`
}

func (s *Server) deletePasskey(w http.ResponseWriter, r *http.Request) error {
	var in passkeyDelete
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	proof := session.Reauth{Password: in.Password, Code: in.Code, Passkey: in.WebAuthn}
	if err := s.Sessions.DeletePasskey(r.Context(), *actor(r), r.PathValue("id"), proof, s.client(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// beginPasskeyMFA starts the passkey ceremony of a sign-in's challenge;
// the answer goes to POST /v1/auth/mfa as webauthn.
func (s *Server) beginPasskeyMFA(w http.ResponseWriter, r *http.Request) error {
	var in mfaTokenRequest
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	opts, err := s.Sessions.BeginPasskeyMFA(r.Context(), in.MFAToken)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, opts)
}

func (s *Server) beginPasskeyLogin(w http.ResponseWriter, r *http.Request) error {
	opts, err := s.Sessions.BeginPasskeyLogin(r.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, opts)
}

type passkeyLogin struct {
	Credential json.RawMessage `json:"credential"`
	Tenant     string          `json:"tenant"`
}

func (s *Server) finishPasskeyLogin(w http.ResponseWriter, r *http.Request) error {
	var in passkeyLogin
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	t, err := s.Sessions.FinishPasskeyLogin(r.Context(), session.PasskeyLoginRequest{Credential: in.Credential, Tenant: in.Tenant, Client: s.client(r)})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, tokenJSON(t))
}

// beginPasskeyEnrolment starts registering a passkey with a sign-in's
// enrolment challenge (mfa_enrollment_required).
func (s *Server) beginPasskeyEnrolment(w http.ResponseWriter, r *http.Request) error {
	var in mfaTokenRequest
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	opts, err := s.Sessions.BeginPasskeyEnrolment(r.Context(), in.MFAToken)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, opts)
}

type passkeyEnrolment struct {
	MFAToken   string          `json:"mfa_token"`
	Name       string          `json:"name"`
	Credential json.RawMessage `json:"credential"`
}

// confirmPasskeyEnrolment stores the passkey and signs in with it.
func (s *Server) confirmPasskeyEnrolment(w http.ResponseWriter, r *http.Request) error {
	var in passkeyEnrolment
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	t, err := s.Sessions.ConfirmPasskeyEnrolment(r.Context(), in.MFAToken, in.Name, in.Credential, s.client(r))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, tokenJSON(t))
}
