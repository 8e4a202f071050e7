package httpapi

import (
	"net/http"
	"path"
	"strings"

	"github.com/tollgate/tollgate/policy"
)

// refuseUnclean answers paths the router would redirect to their clean
// form (repeated slashes, "." and ".." segments, also when percent-encoded)
// itself: 404 route_not_found as a problem, instead of the router's 307
// with an HTML body that clients follow to another resource. Under the
// gateway's prefix the answer is 403, a denial proxies understand.
func (s *Server) refuseUnclean(next http.Handler) http.Handler {
	notFound := s.handle(func(http.ResponseWriter, *http.Request) error { return errNoRoute() })
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p := r.URL.Path; p != "/" && path.Clean(p) != strings.TrimSuffix(p, "/") {
			if strings.HasPrefix(p, gatewayPath+"/") {
				_ = s.gatewayDeny(w, r, gatewayDenial{
					Problem:  gatewayProblem(r, CodeGatewayRouteNotFound, "the path is not a clean absolute path; it is denied"),
					Decision: policy.Deny, Reasons: []string{string(CodeGatewayRouteNotFound)}, Errors: []string{},
					Method: r.Method, URI: r.URL.RequestURI(),
				})
				return
			}
			notFound.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}
