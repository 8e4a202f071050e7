package authn

import (
	"context"
	"net/http"
	"slices"

	"github.com/tollgate/tollgate/identity"
)

// Middleware authenticates every request before next: on success next
// runs with the ActorContext in the request's context (see FromContext);
// otherwise the client gets a problem+json 401 (with WWW-Authenticate) or
// 503, and next does not run.
func (a *Authenticator) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ac, err := a.AuthenticateRequest(r)
		if err != nil {
			// The causes of 503s are logged where they arise, throttled.
			WriteError(w, r, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(NewContext(r.Context(), ac)))
	})
}

// actorKey is the context key of the ActorContext; unexported so that only
// this package sets it.
type actorKey struct{}

// NewContext returns ctx carrying ac, as Middleware does; handlers' tests
// use it to stand in for an authenticated request.
func NewContext(ctx context.Context, ac identity.ActorContext) context.Context {
	return context.WithValue(ctx, actorKey{}, &ac)
}

// FromContext returns the ActorContext of an authenticated request.
func FromContext(ctx context.Context) (identity.ActorContext, bool) {
	ac, ok := ctx.Value(actorKey{}).(*identity.ActorContext)
	if !ok {
		return identity.ActorContext{}, false
	}
	return *ac, true
}

// Require returns the request's ActorContext if it holds every one of
// permissions: ErrUnauthenticated (code missing_credential) if ctx has
// none, a 403 *Error (code permission_denied) if a permission is missing.
// Render its errors with WriteError.
func Require(ctx context.Context, permissions ...string) (identity.ActorContext, error) {
	ac, ok := FromContext(ctx)
	if !ok {
		return identity.ActorContext{}, errMissing()
	}
	for _, p := range permissions {
		if !slices.Contains(ac.Permissions, p) {
			return identity.ActorContext{}, &Error{
				Status: http.StatusForbidden, Code: CodePermissionDenied,
				Detail: "this request needs the permission " + p,
			}
		}
	}
	return ac, nil
}
