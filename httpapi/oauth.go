package httpapi

import (
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/oauth"
)

// maxFormBytes bounds a token request; its largest parameters are two
// tokens of at most 8 KiB each.
const maxFormBytes = 64 << 10

// writeOAuthError renders an RFC 6749 §5.2 error.
func writeOAuthError(w http.ResponseWriter, e *oauth.Error) {
	if e.Basic {
		w.Header().Set("WWW-Authenticate", `Basic realm="tollgate", charset="UTF-8"`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(e.Status)
	_ = json.NewEncoder(w).Encode(e)
}

// readForm parses an application/x-www-form-urlencoded body, bounded, as
// RFC 6749 §3.2 requires of token requests.
func readForm(w http.ResponseWriter, r *http.Request) (url.Values, error) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return nil, fault.New(fault.UnsupportedMediaType, CodeUnsupportedMediaType, "send the request as application/x-www-form-urlencoded")
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, fault.New(fault.TooLarge, CodeBodyTooLarge, "the request body is too large")
		}
		return nil, &oauth.Error{Code: "invalid_request", Description: "the form is malformed", Status: 400}
	}
	return r.PostForm, nil
}

func (s *Server) oauthToken(w http.ResponseWriter, r *http.Request) error {
	form, err := readForm(w, r)
	if err == nil {
		user, pass, ok := r.BasicAuth()
		var req oauth.Request
		if req, err = oauth.ParseRequest(form, user, pass, ok); err == nil {
			var resp oauth.Response
			if resp, err = s.OAuth.Token(r.Context(), req); err == nil {
				s.Metrics.tokenGrant(req.GrantType, "issued")
				w.Header().Set("Cache-Control", "no-store")
				return writeJSON(w, http.StatusOK, resp)
			}
		}
	}
	var oe *oauth.Error
	if errors.As(err, &oe) {
		s.Metrics.tokenGrant(form.Get("grant_type"), oe.Code)
		writeOAuthError(w, oe)
		return nil
	}
	return err
}

type introspectRequest struct {
	Token string `json:"token"`
}

// introspectResponse is RFC 7662 §2.2 plus the ActorContext. An inactive
// answer carries nothing else, so it reveals nothing about the token.
type introspectResponse struct {
	Active    bool                   `json:"active"`
	TokenType string                 `json:"token_type,omitempty"`
	Sub       string                 `json:"sub,omitempty"`
	Scope     string                 `json:"scope,omitempty"`
	Exp       int64                  `json:"exp,omitempty"`
	TenantID  string                 `json:"tid,omitempty"`
	Actor     *identity.ActorContext `json:"actor,omitempty"`
}

// introspect answers whether a credential is active and whose it is
// (credential.Resolver.Introspect).
func (s *Server) introspect(w http.ResponseWriter, r *http.Request) error {
	if err := s.Credentials.MayIntrospect(r.Context(), *actor(r)); err != nil {
		return err
	}
	var in introspectRequest
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt == "application/x-www-form-urlencoded" {
		form, err := readForm(w, r)
		if err != nil {
			var oe *oauth.Error
			if errors.As(err, &oe) {
				return fault.Invalidf("token", CodeInvalidForm, "the form is malformed")
			}
			return err
		}
		in.Token = form.Get("token")
	} else if err := decodeJSON(r, &in); err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	ac, active, err := s.Credentials.Introspect(r.Context(), *actor(r), strings.TrimSpace(in.Token))
	if err != nil {
		return err
	}
	if !active {
		return writeJSON(w, http.StatusOK, introspectResponse{Active: false})
	}
	out := introspectResponse{
		Active: true, TokenType: "access_token", Sub: ac.ActorID, TenantID: ac.TenantID,
		Scope: strings.Join(ac.Permissions, " "), Actor: &ac,
	}
	if ac.Credential == identity.CredentialAPIKey {
		out.TokenType = "api_key"
	}
	if ac.OnBehalfOf != "" {
		out.Sub = ac.OnBehalfOf
	}
	if !ac.ExpiresAt.IsZero() {
		out.Exp = ac.ExpiresAt.Unix()
	}
	return writeJSON(w, http.StatusOK, out)
}
