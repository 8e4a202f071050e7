package httpapi

import (
	"errors"
	"net/http"
	"strings"

	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/policy"
)

// gatewayPath is the forward-auth endpoint; Envoy's ext_authz appends the
// original path to it (path_prefix).
const gatewayPath = "/v1/gateway/auth"

// gatewayMethods are the methods the endpoint answers: proxies send the
// auth request with GET or POST, or (Envoy) with the original method.
var gatewayMethods = []string{"GET", "POST", "PUT", "PATCH", "DELETE"}

// Response headers of the gateway endpoint.
const (
	hdrActor      = "X-Tollgate-Actor"
	hdrActorType  = "X-Tollgate-Actor-Type"
	hdrTenant     = "X-Tollgate-Tenant"
	hdrRoles      = "X-Tollgate-Roles"
	hdrDecisionID = "X-Tollgate-Decision-Id"
	hdrOnBehalfOf = "X-Tollgate-On-Behalf-Of"
	hdrReasons    = "X-Tollgate-Reasons"
)

// gatewayRoutes are the endpoint's routes, in every method it answers.
func (s *Server) gatewayRoutes() []route {
	var out []route
	for _, m := range gatewayMethods {
		out = append(out, route{m, gatewayPath, authed, s.gatewayAuth})
	}
	for _, m := range gatewayMethods {
		out = append(out, route{m, gatewayPath + "/{path...}", authed, s.gatewayAuth})
	}
	return out
}

// originalRequest is the method and request URI the proxy asks about:
// nginx's X-Original-Method / X-Original-URI, Traefik's X-Forwarded-Method
// / X-Forwarded-Uri, else the path after /v1/gateway/auth/ (Envoy's
// path_prefix) with the request's own method, else the request itself.
func originalRequest(r *http.Request) (method, uri string) {
	if u := r.Header.Get("X-Original-URI"); u != "" {
		return headerOr(r, "X-Original-Method"), u
	}
	if u := r.Header.Get("X-Forwarded-Uri"); u != "" {
		return headerOr(r, "X-Forwarded-Method"), u
	}
	if rest, ok := strings.CutPrefix(r.URL.EscapedPath(), gatewayPath+"/"); ok {
		return r.Method, "/" + rest
	}
	return r.Method, r.URL.EscapedPath()
}

func headerOr(r *http.Request, name string) string {
	if v := strings.TrimSpace(r.Header.Get(name)); v != "" {
		return v
	}
	return r.Method
}

// gatewayDenial is the 403 of a deny: a problem with the decision.
type gatewayDenial struct {
	Problem
	Decision   string              `json:"decision"`
	Reasons    []string            `json:"reasons"`
	Errors     []string            `json:"errors"`
	DecisionID string              `json:"decision_id,omitempty"`
	Method     string              `json:"method"`
	URI        string              `json:"uri"`
	Action     string              `json:"action,omitempty"`
	Resource   *policy.ResourceRef `json:"resource,omitempty"`
}

// gatewayPermit is the body of a 200.
type gatewayPermit struct {
	decisionJSON
	Action   string             `json:"action"`
	Resource policy.ResourceRef `json:"resource"`
	Route    string             `json:"route"`
}

// gatewayAuth answers a proxy's forward-auth request: 200 with the
// caller's identity in X-Tollgate-* headers when the route table maps the
// original request to an action the caller is permitted, 403 otherwise.
// The credential was resolved by authenticate (401 without one).
func (s *Server) gatewayAuth(w http.ResponseWriter, r *http.Request) error {
	if s.Gateway == nil {
		return fault.NotFoundf(CodeGatewayNotConfigured, "the gateway endpoint is off: set gateway_routes to a route table file")
	}
	ac := actor(r)
	method, uri := originalRequest(r)
	m, ok := s.Gateway.Match(method, uri)
	if !ok {
		return s.gatewayDeny(w, r, gatewayDenial{
			Problem:  gatewayProblem(r, CodeGatewayRouteNotFound, "no route of the gateway table maps this method and path; unmapped requests are denied"),
			Decision: policy.Deny, Reasons: []string{"gateway_route_not_found"}, Errors: []string{},
			Method: method, URI: uri,
		})
	}
	d, err := s.Policy.Authorize(r.Context(), *ac, "", policy.Request{Action: m.Action, Resource: m.Resource})
	if err != nil {
		// Proxies understand 2xx, 401 and 403: a question the caller may
		// not ask is a refusal, never a pass.
		var fe *fault.Error
		if errors.As(err, &fe) && (fe.Kind == fault.Invalid || fe.Kind == fault.NotFound) {
			return fault.Forbiddenf(fe.Code, "%s", fe.Detail)
		}
		return err
	}
	w.Header().Set(hdrDecisionID, d.DecisionID)
	if !d.Permitted() {
		out := decisionOut(d)
		res := m.Resource
		return s.gatewayDeny(w, r, gatewayDenial{
			Problem:  gatewayProblem(r, CodeAccessDenied, "the policies deny "+m.Action+" on "+m.Resource.Type+" "+m.Resource.ID),
			Decision: out.Decision, Reasons: out.Reasons, Errors: out.Errors, DecisionID: d.DecisionID,
			Method: method, URI: uri, Action: m.Action, Resource: &res,
		})
	}
	h := w.Header()
	h.Set(hdrActor, ac.ActorID)
	h.Set(hdrActorType, ac.ActorType)
	h.Set(hdrTenant, ac.TenantID)
	h.Set(hdrRoles, strings.Join(ac.Roles, ","))
	if ac.OnBehalfOf != "" {
		h.Set(hdrOnBehalfOf, ac.OnBehalfOf)
	}
	return writeJSON(w, http.StatusOK, gatewayPermit{decisionJSON: decisionOut(d), Action: m.Action, Resource: m.Resource, Route: m.Pattern})
}

func gatewayProblem(r *http.Request, code fault.Code, detail string) Problem {
	return Problem{
		Type: problemBase + string(code), Title: http.StatusText(http.StatusForbidden), Status: http.StatusForbidden,
		Detail: detail, Code: string(code), Instance: r.URL.Path, RequestID: requestIDFrom(r.Context()),
	}
}

// gatewayDeny writes a 403 with the reasons also in X-Tollgate-Reasons,
// for proxies that pass headers but not bodies.
func (s *Server) gatewayDeny(w http.ResponseWriter, r *http.Request, d gatewayDenial) error {
	h := w.Header()
	if d.DecisionID != "" {
		h.Set(hdrDecisionID, d.DecisionID)
	}
	h.Set(hdrReasons, strings.Join(d.Reasons, ","))
	s.Log.DebugContext(r.Context(), "gateway denied", "code", d.Code, "method", d.Method, "action", d.Action)
	return writeTyped(w, http.StatusForbidden, "application/problem+json", d)
}
