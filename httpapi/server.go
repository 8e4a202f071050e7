// Package httpapi translates HTTP to calls on the domain services: it decodes
// and bounds input, resolves the caller, and renders results and errors. It
// holds no business rules.
package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/tollgate/tollgate/apikey"
	"github.com/tollgate/tollgate/clientip"
	"github.com/tollgate/tollgate/credential"
	"github.com/tollgate/tollgate/gateway"
	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/oauth"
	"github.com/tollgate/tollgate/policy"
	"github.com/tollgate/tollgate/ratelimit"
	"github.com/tollgate/tollgate/serviceaccount"
	"github.com/tollgate/tollgate/session"
)

// Readiness is what /readyz asks of the store.
type Readiness interface {
	Ping(ctx context.Context) error
	MigrationStatus(ctx context.Context) (applied, latest int64, err error)
}

// JWKS publishes the verification keys.
type JWKS interface {
	JWKS() []byte
}

// Deps are the services the API translates to.
type Deps struct {
	Sessions    *session.Service
	Identity    *identity.Service
	Credentials *credential.Resolver
	APIKeys     *apikey.Service
	Services    *serviceaccount.Registry
	OAuth       *oauth.Endpoint
	// Limiter applies the rate-limit tiers; nil applies none.
	Limiter *ratelimit.Limiter
	// Policy is the policy decision point.
	Policy *policy.Service
	// Gateway is the route table of /v1/gateway/auth; nil turns the
	// endpoint off (404 gateway_not_configured).
	Gateway *gateway.Table
	Keys    JWKS
	Store   Readiness
	Metrics *Metrics
	Log     *slog.Logger
}

// Options bound requests.
type Options struct {
	MaxBodyBytes int64
	// TrustedProxies may set the client address through forwarding headers.
	TrustedProxies clientip.Proxies
	// RotationGrace is how long a rotated-out API key or client secret
	// keeps working when the request does not say.
	RotationGrace time.Duration
}

// Server is Tollgate's HTTP API.
type Server struct {
	Deps
	opts    Options
	handler http.Handler
	// draining makes /readyz fail so that load balancers stop sending new
	// requests while in-flight ones finish.
	draining atomic.Bool
}

// Drain marks the server as shutting down.
func (s *Server) Drain() { s.draining.Store(true) }

// route is one endpoint. The table in routes() is also what the OpenAPI
// test compares against, so an endpoint cannot exist undocumented.
type route struct {
	method, pattern string
	// public endpoints need no credential.
	public bool
	h      handlerFunc
}

// New builds the API.
func New(d Deps, opts Options) *Server {
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = 1 << 20
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Metrics == nil {
		d.Metrics = NewMetrics()
	}
	s := &Server{Deps: d, opts: opts}
	mux := http.NewServeMux()
	for _, rt := range s.routes() {
		h := s.handle(rt.h)
		if class := classOf(rt.pattern); !rt.public {
			h = s.authenticate(class, h)
		} else if class != classExempt {
			h = s.limitPublic(class, h)
		}
		mux.Handle(rt.method+" "+rt.pattern, h)
	}
	mux.Handle("/", s.handle(func(w http.ResponseWriter, r *http.Request) error { return errNoRoute() }))
	s.handler = s.instrument(mux)
	return s
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

func (s *Server) routes() []route {
	return append([]route{
		{"GET", "/healthz", true, s.healthz},
		{"GET", "/readyz", true, s.readyz},
		{"GET", "/metrics", true, s.metricsHandler},
		{"GET", "/openapi.json", true, s.openapi},
		{"GET", "/.well-known/jwks.json", true, s.jwks},

		{"POST", "/v1/auth/login", true, s.login},
		{"POST", "/v1/auth/refresh", true, s.refresh},
		{"POST", "/v1/auth/logout", false, s.logout},
		{"GET", "/v1/auth/me", false, s.me},
		{"POST", "/v1/auth/switch-tenant", false, s.switchTenant},
		{"POST", "/v1/auth/introspect", false, s.introspect},
		{"POST", "/oauth/token", true, s.oauthToken},

		{"POST", "/v1/api-keys", false, s.createAPIKey},
		{"GET", "/v1/api-keys", false, s.listAPIKeys},
		{"GET", "/v1/api-keys/{id}", false, s.getAPIKey},
		{"PATCH", "/v1/api-keys/{id}", false, s.patchAPIKey},
		{"DELETE", "/v1/api-keys/{id}", false, s.revokeAPIKey},
		{"POST", "/v1/api-keys/{id}/rotate", false, s.rotateAPIKey},

		{"PATCH", "/v1/users/{id}", false, s.patchUser},

		{"POST", "/v1/ratelimit/check", false, s.rateLimitCheck},
		{"GET", "/v1/tenants/{id}/rate-limits", false, s.getTenantRateLimits},
		{"PUT", "/v1/tenants/{id}/rate-limits", false, s.putTenantRateLimits},

		{"POST", "/v1/services", false, s.createService},
		{"GET", "/v1/services", false, s.listServices},
		{"GET", "/v1/services/{id}", false, s.getService},
		{"PATCH", "/v1/services/{id}", false, s.patchService},
		{"DELETE", "/v1/services/{id}", false, s.deleteService},
		{"POST", "/v1/services/{id}/rotate-secret", false, s.rotateServiceSecret},

		{"POST", "/v1/tenants", false, s.createTenant},
		{"GET", "/v1/tenants", false, s.listTenants},
		{"GET", "/v1/tenants/{id}", false, s.getTenant},
		{"PATCH", "/v1/tenants/{id}", false, s.patchTenant},

		{"GET", "/v1/tenants/{id}/members", false, s.listMembers},
		{"POST", "/v1/tenants/{id}/members", false, s.addMember},
		{"GET", "/v1/tenants/{id}/members/{actor_id}", false, s.getMember},
		{"PATCH", "/v1/tenants/{id}/members/{actor_id}", false, s.patchMember},
		{"DELETE", "/v1/tenants/{id}/members/{actor_id}", false, s.deleteMember},

		{"GET", "/v1/tenants/{id}/roles", false, s.listRoles},
		{"GET", "/v1/tenants/{id}/roles/{name}", false, s.getRole},
		{"PUT", "/v1/tenants/{id}/roles/{name}", false, s.putRole},
		{"DELETE", "/v1/tenants/{id}/roles/{name}", false, s.deleteRole},

		{"POST", "/v1/tenants/{id}/agents", false, s.createAgent},
		{"GET", "/v1/tenants/{id}/agents", false, s.listAgents},
		{"GET", "/v1/tenants/{id}/agents/{agent_id}", false, s.getAgent},
		{"PATCH", "/v1/tenants/{id}/agents/{agent_id}", false, s.patchAgent},
		{"DELETE", "/v1/tenants/{id}/agents/{agent_id}", false, s.deleteAgent},

		{"POST", "/v1/authorize", false, s.authorize},
		{"POST", "/v1/authorize/batch", false, s.authorizeBatch},
		{"POST", "/v1/authorize/lookup", false, s.lookupResources},
		{"PUT", "/v1/tenants/{id}/resources/{type}/{rid}", false, s.putResource},
		{"GET", "/v1/tenants/{id}/resources/{type}/{rid}", false, s.getResource},
		{"DELETE", "/v1/tenants/{id}/resources/{type}/{rid}", false, s.deleteResource},
		{"POST", "/v1/tenants/{id}/resources:batch", false, s.putResourceBatch},
		{"GET", "/v1/tenants/{id}/policies", false, s.getPolicies},
		{"PUT", "/v1/tenants/{id}/policies", false, s.putPolicies},
		{"GET", "/v1/tenants/{id}/policies/versions", false, s.listPolicyVersions},
		{"GET", "/v1/tenants/{id}/policies/versions/{n}", false, s.getPolicyVersion},
		{"POST", "/v1/tenants/{id}/policies/versions/{n}/rollback", false, s.rollbackPolicies},
		{"POST", "/v1/policies/validate", false, s.validatePolicies},
	}, s.gatewayRoutes()...)
}
