package httpapi

import (
	"net/http"
	"strings"

	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/identity"
)

// maxCredentialLen bounds the Authorization header before any parsing.
const maxCredentialLen = 8 << 10

func errNoCredential() error {
	return fault.Unauthenticatedf("missing_credential", "send an access token as Authorization: Bearer <token>")
}

func errNoRoute() error {
	return fault.NotFoundf("route_not_found", "no endpoint matches this path")
}

// authenticate resolves the bearer token to an ActorContext or answers 401.
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, ok := bearer(r)
		if !ok {
			writeError(w, r, s.Log, errNoCredential())
			return
		}
		ac, err := s.Sessions.Authenticate(r.Context(), raw)
		if err != nil {
			writeError(w, r, s.Log, err)
			return
		}
		infoFrom(r.Context()).actor = &ac
		next.ServeHTTP(w, r)
	})
}

func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	if h == "" || len(h) > maxCredentialLen {
		return "", false
	}
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}

// actor returns the authenticated caller; only called behind authenticate.
func actor(r *http.Request) *identity.ActorContext {
	return infoFrom(r.Context()).actor
}

func caller(r *http.Request) identity.Caller {
	return identity.Caller{ActorID: actor(r).ActorID}
}
