// Package httpapi translates HTTP to calls on the domain services: it decodes
// and bounds input, resolves the caller, and renders results and errors. It
// holds no business rules.
package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tollgate/tollgate/apikey"
	"github.com/tollgate/tollgate/audit"
	"github.com/tollgate/tollgate/clientip"
	"github.com/tollgate/tollgate/credential"
	"github.com/tollgate/tollgate/gateway"
	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/oauth"
	"github.com/tollgate/tollgate/overview"
	"github.com/tollgate/tollgate/policy"
	"github.com/tollgate/tollgate/privacy"
	"github.com/tollgate/tollgate/ratelimit"
	"github.com/tollgate/tollgate/serviceaccount"
	"github.com/tollgate/tollgate/session"
	"github.com/tollgate/tollgate/usage"
	"github.com/tollgate/tollgate/webhook"
)

// Readiness is what /readyz asks of the store.
type Readiness interface {
	Ping(ctx context.Context) error
	MigrationStatus(ctx context.Context) (applied, latest int64, err error)
}

// Dependency is a backend besides the store that /readyz checks. Ready
// must be cheap (it runs on every probe): answer from cached state, or from
// a round trip with a short timeout.
type Dependency interface {
	Ready(ctx context.Context) error
}

// JWKS publishes the verification keys.
type JWKS interface {
	JWKS() []byte
}

// Deps are the services the API translates to.
type Deps struct {
	Sessions *session.Service
	// SessionAdmin lists and revokes sessions.
	SessionAdmin *session.Manager
	// Privacy exports a person's data.
	Privacy *privacy.Service
	// Overview summarises tenants for their admins.
	Overview    *overview.Service
	Identity    *identity.Service
	Credentials *credential.Resolver
	APIKeys     *apikey.Service
	Services    *serviceaccount.Registry
	OAuth       *oauth.Endpoint
	// Limiter applies the rate-limit tiers; nil applies none.
	Limiter *ratelimit.Limiter
	// RateLimits is the rate-limit API's rules (checks by name, tenant
	// plans).
	RateLimits *ratelimit.Admin
	// Policy is the policy decision point.
	Policy *policy.Service
	// Usage records and reads usage; nil turns its endpoints off (404).
	Usage *usage.Service
	// Gateway is the route table of /v1/gateway/auth; nil turns the
	// endpoint off (404 gateway_not_configured).
	Gateway *gateway.Table
	Keys    JWKS
	// Audit is the audit log's read API; AuditKeys publishes the digest
	// keys.
	Audit     *audit.Service
	AuditKeys JWKS
	// Webhooks manages webhook endpoints and their deliveries.
	Webhooks *webhook.Service
	Store    Readiness
	// RateLimitBackend is the remote rate-limit counters, for /readyz;
	// nil when they live in process, which is always ready.
	RateLimitBackend Dependency
	Metrics          *Metrics
	Log              *slog.Logger
}

// Options bound requests.
type Options struct {
	MaxBodyBytes int64
	// TrustedProxies may set the client address through forwarding headers.
	TrustedProxies clientip.Proxies
	// RotationGrace is how long a rotated-out API key or client secret
	// keeps working when the request does not say.
	RotationGrace time.Duration
	// MetricsToken, when set, is the bearer token /metrics requires.
	MetricsToken string
	// MetricsElsewhere takes /metrics off this handler (404): it is served
	// by MetricsHandler on a listener of its own.
	MetricsElsewhere bool
	// AccessLog says which requests the access log writes.
	AccessLog AccessLog
}

// Server is Tollgate's HTTP API.
type Server struct {
	Deps
	opts    Options
	handler http.Handler
	// draining makes /readyz fail so that load balancers stop sending new
	// requests while in-flight ones finish.
	draining atomic.Bool
	// stopping is closed by Drain: it ends the requests that would not end
	// by themselves (live usage streams), so that http.Server.Shutdown,
	// which waits for every request, does not wait for them.
	stopping chan struct{}
	stopOnce sync.Once
}

// Drain marks the server as shutting down and ends its live streams. Call
// it before http.Server.Shutdown.
func (s *Server) Drain() {
	s.draining.Store(true)
	s.stopOnce.Do(func() { close(s.stopping) })
}

// route is one endpoint. The table in routes() is also what the OpenAPI
// test compares against, so an endpoint cannot exist undocumented.
type route struct {
	method, pattern string
	access          access
	h               handlerFunc
}

// access says whether a route needs a credential and which rate-limit
// tiers its requests pass.
type access uint8

const (
	// authed routes need a credential. Refused or missing credentials are
	// limited by client IP, valid ones per actor and tenant.
	authed access = iota
	// open routes need none and are limited by client IP.
	open
	// probe routes (health, metrics) need none and are never limited.
	probe
	// signIn is sign-in: limited by client IP here; the sign-in tiers,
	// which count failures, are applied by the sign-in (session.Login).
	signIn
	// tokenGrant is the OAuth token endpoint: limited by client IP and by
	// the token tier.
	tokenGrant
)

func (a access) public() bool { return a != authed }

func (a access) class() ratelimit.Class {
	switch a {
	case probe:
		return ratelimit.ClassExempt
	case signIn:
		return ratelimit.ClassLogin
	case tokenGrant:
		return ratelimit.ClassToken
	}
	return ratelimit.ClassDefault
}

// New builds the API.
func New(d Deps, opts Options) *Server {
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = 1 << 20
	}
	opts.AccessLog = opts.AccessLog.withDefaults()
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Metrics == nil {
		d.Metrics = NewMetrics()
	}
	s := &Server{Deps: d, opts: opts, stopping: make(chan struct{})}
	mux := http.NewServeMux()
	for _, rt := range s.routes() {
		h := s.handle(rt.h)
		if class := rt.access.class(); !rt.access.public() {
			h = s.authenticate(class, h)
		} else if class != ratelimit.ClassExempt {
			h = s.limitPublic(class, h)
		}
		mux.Handle(rt.method+" "+rt.pattern, h)
	}
	mux.Handle("/", s.handle(func(w http.ResponseWriter, r *http.Request) error { return errNoRoute() }))
	s.handler = s.instrument(s.refuseUnclean(mux))
	return s
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// Every answer is JSON or plain text for machines; no browser may
	// sniff it into something else.
	w.Header().Set("X-Content-Type-Options", "nosniff")
	s.handler.ServeHTTP(w, r)
}

func (s *Server) routes() []route {
	return append([]route{
		{"GET", "/healthz", probe, s.healthz},
		{"GET", "/readyz", probe, s.readyz},
		{"GET", "/metrics", probe, s.metricsHandler},
		{"GET", "/openapi.json", open, s.openapi},
		{"GET", "/.well-known/jwks.json", open, s.jwks},
		{"GET", "/.well-known/audit-keys.json", open, s.auditKeys},

		{"POST", "/v1/auth/login", signIn, s.login},
		{"POST", "/v1/auth/refresh", open, s.refresh},
		{"POST", "/v1/auth/logout", authed, s.logout},
		{"GET", "/v1/auth/me", authed, s.me},
		{"POST", "/v1/auth/switch-tenant", authed, s.switchTenant},
		{"POST", "/v1/auth/introspect", authed, s.introspect},
		{"POST", "/v1/auth/password/forgot", signIn, s.forgotPassword},
		{"POST", "/v1/auth/password/reset", signIn, s.resetPassword},
		{"POST", "/v1/auth/password/change", authed, s.changePassword},
		{"POST", "/v1/auth/signup", signIn, s.signup},
		{"POST", "/v1/auth/verify", signIn, s.verifySignup},
		{"POST", "/v1/auth/mfa", signIn, s.completeMFA},
		{"POST", "/v1/auth/mfa/totp/enrol", signIn, s.startTOTPEnrolment},
		{"POST", "/v1/auth/mfa/totp/confirm", signIn, s.confirmTOTPEnrolment},
		{"POST", "/v1/users/me/mfa/totp", authed, s.startTOTP},
		{"POST", "/v1/users/me/mfa/totp/confirm", authed, s.confirmTOTP},
		{"POST", "/v1/users/me/mfa/totp/disable", authed, s.disableTOTP},
		{"POST", "/v1/auth/mfa/webauthn", signIn, s.beginPasskeyMFA},
		{"POST", "/v1/auth/mfa/webauthn/enrol", signIn, s.beginPasskeyEnrolment},
		{"POST", "/v1/auth/mfa/webauthn/confirm", signIn, s.confirmPasskeyEnrolment},
		{"POST", "/v1/auth/passkey/begin", signIn, s.beginPasskeyLogin},
		{"POST", "/v1/auth/passkey/finish", signIn, s.finishPasskeyLogin},
		{"GET", "/v1/users/me/passkeys", authed, s.listPasskeys},
		{"POST", "/v1/users/me/passkeys/register/begin", authed, s.beginPasskeyRegistration},
		{"POST", "/v1/users/me/passkeys/register/finish", authed, s.finishPasskeyRegistration},
		{"POST", "/v1/users/me/passkeys/reauth/begin", authed, s.beginPasskeyReauth},
		{"PATCH", "/v1/users/me/passkeys/{id}", authed, s.renamePasskey},
		{"POST", "/v1/users/me/passkeys/{id}/delete", authed, s.deletePasskey},
		{"POST", "/v1/users/me/mfa/recovery-codes", authed, s.regenerateRecoveryCodes},
		{"POST", "/oauth/token", tokenGrant, s.oauthToken},

		{"POST", "/v1/api-keys", authed, s.createAPIKey},
		{"GET", "/v1/api-keys", authed, s.listAPIKeys},
		{"GET", "/v1/api-keys/{id}", authed, s.getAPIKey},
		{"PATCH", "/v1/api-keys/{id}", authed, s.patchAPIKey},
		{"DELETE", "/v1/api-keys/{id}", authed, s.revokeAPIKey},
		{"POST", "/v1/api-keys/{id}/rotate", authed, s.rotateAPIKey},

		{"PATCH", "/v1/users/{id}", authed, s.patchUser},
		{"GET", "/v1/users/me/sessions", authed, s.listOwnSessions},
		{"DELETE", "/v1/users/me/sessions/{id}", authed, s.revokeOwnSession},
		{"GET", "/v1/users/me/export", authed, s.exportMe},
		{"GET", "/v1/tenants/{id}/sessions", authed, s.listTenantSessions},
		{"DELETE", "/v1/tenants/{id}/sessions/{sid}", authed, s.revokeTenantSession},

		{"POST", "/v1/ratelimit/check", authed, s.rateLimitCheck},
		{"GET", "/v1/tenants/{id}/rate-limits", authed, s.getTenantRateLimits},
		{"PUT", "/v1/tenants/{id}/rate-limits", authed, s.putTenantRateLimits},

		{"POST", "/v1/services", authed, s.createService},
		{"GET", "/v1/services", authed, s.listServices},
		{"GET", "/v1/services/{id}", authed, s.getService},
		{"PATCH", "/v1/services/{id}", authed, s.patchService},
		{"DELETE", "/v1/services/{id}", authed, s.deleteService},
		{"POST", "/v1/services/{id}/rotate-secret", authed, s.rotateServiceSecret},

		{"POST", "/v1/tenants", authed, s.createTenant},
		{"GET", "/v1/tenants", authed, s.listTenants},
		{"GET", "/v1/tenants/{id}", authed, s.getTenant},
		{"PATCH", "/v1/tenants/{id}", authed, s.patchTenant},
		{"GET", "/v1/tenants/{id}/overview", authed, s.tenantOverview},
		{"POST", "/v1/tenants/{id}/deletion", authed, s.scheduleTenantDeletion},
		{"GET", "/v1/tenants/{id}/deletion", authed, s.getTenantDeletion},
		{"DELETE", "/v1/tenants/{id}/deletion", authed, s.cancelTenantDeletion},

		{"GET", "/v1/tenants/{id}/members", authed, s.listMembers},
		{"POST", "/v1/tenants/{id}/members", authed, s.addMember},
		{"GET", "/v1/tenants/{id}/members/{actor_id}", authed, s.getMember},
		{"PATCH", "/v1/tenants/{id}/members/{actor_id}", authed, s.patchMember},
		{"DELETE", "/v1/tenants/{id}/members/{actor_id}", authed, s.deleteMember},

		{"POST", "/v1/tenants/{id}/invitations", authed, s.createInvitation},
		{"GET", "/v1/tenants/{id}/invitations", authed, s.listInvitations},
		{"DELETE", "/v1/tenants/{id}/invitations/{inv}", authed, s.revokeInvitation},
		{"POST", "/v1/tenants/{id}/invitations/{inv}/resend", authed, s.resendInvitation},
		{"POST", "/v1/invitations/accept", signIn, s.acceptInvitation},

		{"GET", "/v1/tenants/{id}/roles", authed, s.listRoles},
		{"GET", "/v1/tenants/{id}/roles/{name}", authed, s.getRole},
		{"PUT", "/v1/tenants/{id}/roles/{name}", authed, s.putRole},
		{"DELETE", "/v1/tenants/{id}/roles/{name}", authed, s.deleteRole},

		{"POST", "/v1/tenants/{id}/agents", authed, s.createAgent},
		{"GET", "/v1/tenants/{id}/agents", authed, s.listAgents},
		{"GET", "/v1/tenants/{id}/agents/{agent_id}", authed, s.getAgent},
		{"PATCH", "/v1/tenants/{id}/agents/{agent_id}", authed, s.patchAgent},
		{"DELETE", "/v1/tenants/{id}/agents/{agent_id}", authed, s.deleteAgent},

		{"POST", "/v1/authorize", authed, s.authorize},
		{"POST", "/v1/authorize/batch", authed, s.authorizeBatch},
		{"POST", "/v1/authorize/lookup", authed, s.lookupResources},
		{"PUT", "/v1/tenants/{id}/resources/{type}/{rid}", authed, s.putResource},
		{"GET", "/v1/tenants/{id}/resources/{type}/{rid}", authed, s.getResource},
		{"DELETE", "/v1/tenants/{id}/resources/{type}/{rid}", authed, s.deleteResource},
		{"POST", "/v1/tenants/{id}/resources:batch", authed, s.putResourceBatch},
		{"GET", "/v1/tenants/{id}/policies", authed, s.getPolicies},
		{"PUT", "/v1/tenants/{id}/policies", authed, s.putPolicies},
		{"GET", "/v1/tenants/{id}/policies/versions", authed, s.listPolicyVersions},
		{"GET", "/v1/tenants/{id}/policies/versions/{n}", authed, s.getPolicyVersion},
		{"POST", "/v1/tenants/{id}/policies/versions/{n}/rollback", authed, s.rollbackPolicies},
		{"POST", "/v1/policies/validate", authed, s.validatePolicies},
		{"GET", "/v1/tenants/{id}/schema", authed, s.getSchema},
		{"PUT", "/v1/tenants/{id}/schema", authed, s.putSchema},
		{"GET", "/v1/tenants/{id}/schema/versions", authed, s.listSchemaVersions},
		{"GET", "/v1/tenants/{id}/schema/versions/{n}", authed, s.getSchemaVersion},
		{"POST", "/v1/tenants/{id}/schema/versions/{n}/rollback", authed, s.rollbackSchema},

		{"POST", "/v1/usage/events", authed, s.reportUsage},
		{"GET", "/v1/usage", authed, s.queryUsage},
		{"GET", "/v1/usage/summary", authed, s.usageSummary},
		{"GET", "/v1/usage/export", authed, s.exportUsage},
		{"GET", "/v1/usage/stream", authed, s.streamUsage},
		{"GET", "/v1/tenants/{id}/quotas", authed, s.getQuotas},
		{"PUT", "/v1/tenants/{id}/quotas", authed, s.putQuotas},
		{"GET", "/v1/tenants/{id}/meters", authed, s.getMeters},
		{"PUT", "/v1/tenants/{id}/meters", authed, s.putMeters},

		{"POST", "/v1/tenants/{id}/webhooks", authed, s.createWebhook},
		{"GET", "/v1/tenants/{id}/webhooks", authed, s.listWebhooks},
		{"GET", "/v1/tenants/{id}/webhooks/{webhook_id}", authed, s.getWebhook},
		{"PATCH", "/v1/tenants/{id}/webhooks/{webhook_id}", authed, s.patchWebhook},
		{"DELETE", "/v1/tenants/{id}/webhooks/{webhook_id}", authed, s.deleteWebhook},
		{"POST", "/v1/tenants/{id}/webhooks/{webhook_id}/rotate-secret", authed, s.rotateWebhookSecret},
		{"POST", "/v1/tenants/{id}/webhooks/{webhook_id}/test", authed, s.testWebhook},
		{"GET", "/v1/tenants/{id}/webhooks/{webhook_id}/deliveries", authed, s.listWebhookDeliveries},
		{"POST", "/v1/tenants/{id}/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver", authed, s.redeliverWebhook},

		{"GET", "/v1/audit", authed, s.listAudit},
		{"GET", "/v1/audit/export", authed, s.exportAudit},
	}, s.gatewayRoutes()...)
}
