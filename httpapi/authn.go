package httpapi

import (
	"net/http"
	"strings"

	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/ratelimit"
)

// maxCredentialLen bounds the Authorization header before any parsing.
const maxCredentialLen = 8 << 10

func errNoCredential() error {
	return fault.Unauthenticatedf(CodeMissingCredential, "send an access token or API key as Authorization: Bearer <credential>, or an API key as X-API-Key")
}

func errNoRoute() error {
	return fault.NotFoundf(CodeRouteNotFound, "no endpoint matches this path")
}

// authenticate resolves the credential to an ActorContext or answers 401,
// and applies the rate-limit tiers: the caller's tenant and own tiers, or
// the per-IP tiers when the credential is missing or refused, so that
// guessing credentials is limited like any anonymous traffic.
func (s *Server) authenticate(class ratelimit.Class, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, err := credentialOf(r)
		var ac identity.ActorContext
		if err == nil {
			ac, err = s.Credentials.Resolve(r.Context(), raw)
		}
		if err != nil {
			if lerr := s.limitAnonymous(w, r, class); lerr != nil {
				err = lerr
			}
			writeError(w, r, s.Log, err)
			return
		}
		info := infoFrom(r.Context())
		info.actor, info.tenantID = &ac, ac.TenantID
		if err := s.limitActor(w, r, &ac); err != nil {
			writeError(w, r, s.Log, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// limitPublic applies the per-IP tiers to an endpoint that needs no
// credential.
func (s *Server) limitPublic(class ratelimit.Class, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := s.limitAnonymous(w, r, class); err != nil {
			writeError(w, r, s.Log, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// credentialOf reads Authorization: Bearer or X-API-Key; sending both is
// refused rather than guessing which one counts.
func credentialOf(r *http.Request) (string, error) {
	tok, hasBearer := bearer(r)
	key := strings.TrimSpace(r.Header.Get("X-API-Key"))
	switch {
	case len(key) > maxCredentialLen:
		return "", errNoCredential()
	case hasBearer && key != "":
		return "", fault.Unauthenticatedf(CodeAmbiguousCredential, "send either Authorization or X-API-Key, not both")
	case key != "":
		return key, nil
	case hasBearer:
		return tok, nil
	}
	return "", errNoCredential()
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

func caller(r *http.Request) identity.Caller { return actor(r).Caller() }

// requireSession refuses credentials other than a human's own session for
// acts that only the person may do: signing out, switching tenant,
// creating tenants.
func requireSession(r *http.Request) error { return actor(r).RequireSession() }
