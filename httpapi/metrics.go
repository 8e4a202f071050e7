package httpapi

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/tollgate/tollgate/oauth"
	"github.com/tollgate/tollgate/usage"
)

// Metrics are the server's Prometheus collectors, on their own registry so
// that tests and several servers in one process do not collide.
type Metrics struct {
	Registry  *prometheus.Registry
	requests  *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	logins    *prometheus.CounterVec
	grants    *prometheus.CounterVec
	rejected  *prometheus.CounterVec
	events    *prometheus.CounterVec
	limited   *prometheus.CounterVec
	limitErr  *prometheus.CounterVec
	evalErr   *prometheus.CounterVec
	usage     *prometheus.CounterVec
	auditDrop *prometheus.CounterVec
	auditFwd  prometheus.Counter
	hooks     *prometheus.CounterVec
	hookTime  prometheus.Histogram
	pdp       pdpMetrics
}

// NewMetrics registers the HTTP and login collectors plus the Go runtime and
// process collectors.
func NewMetrics() *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tollgate_http_requests_total", Help: "HTTP requests by method, route pattern and status.",
		}, []string{"method", "route", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "tollgate_http_request_duration_seconds", Help: "HTTP request latency by method and route pattern.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"method", "route"}),
		logins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tollgate_login_attempts_total", Help: "Password logins by outcome.",
		}, []string{"outcome"}),
		grants: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tollgate_oauth_token_requests_total", Help: "Token endpoint requests by grant type and outcome (issued or the OAuth error code).",
		}, []string{"grant_type", "outcome"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tollgate_credential_rejections_total", Help: "Refused credentials by kind (access_token, api_key) and error code.",
		}, []string{"kind", "code"}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tollgate_credential_events_total", Help: "Credential events by kind and direction (published, received, publish_failed, invalid).",
		}, []string{"kind", "direction"}),
	}
	m.limited = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "tollgate_ratelimit_denied_total", Help: "Requests refused by a rate-limit policy, by limit: Tollgate's own tiers and the limits services check.",
	}, []string{"limit"})
	m.limitErr = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "tollgate_ratelimit_backend_failures_total",
		Help: "Rate-limit checks the backend could not answer, by limit and whether the request was let through (open) or refused (closed).",
	}, []string{"limit", "mode"})
	m.evalErr = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "tollgate_policy_evaluation_errors_total", Help: "Policies that failed to evaluate (each turned its decision into a deny), by policy id.",
	}, []string{"policy"})
	m.usage = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "tollgate_usage_events_total",
		Help: "Usage events by transport (http, nats) and outcome (accepted, duplicate, rejected; terminated for NATS messages that can never be valid).",
	}, []string{"transport", "outcome"})
	m.auditDrop = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "tollgate_audit_events_dropped_total",
		Help: "Queued audit events (decisions, sign-ins, token grants) dropped, by reason: queue_full, store_error, invalid, closed.",
	}, []string{"reason"})
	m.auditFwd = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "tollgate_audit_events_forwarded_total",
		Help: "Audit events this replica published to NATS and the broker acknowledged (a republished event after a crash counts again).",
	})
	m.hooks = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "tollgate_webhook_attempts_total",
		Help: "Webhook delivery attempts by outcome: delivered, retry (failed, another attempt scheduled), failed (the last attempt, or the endpoint disabled).",
	}, []string{"outcome"})
	m.hookTime = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "tollgate_webhook_attempt_duration_seconds", Help: "Time from sending a webhook delivery to its answer (or failure).",
		Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
	})
	m.pdp = newPDPMetrics()
	m.Registry.MustRegister(m.requests, m.latency, m.logins, m.grants, m.rejected, m.events, m.limited, m.limitErr, m.evalErr, m.usage, m.auditDrop, m.auditFwd,
		m.hooks, m.hookTime,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.Registry.MustRegister(m.pdp.collectors()...)
	return m
}

func (m *Metrics) observe(method, route string, status int, d time.Duration) {
	m.requests.WithLabelValues(method, route, strconv.Itoa(status)).Inc()
	m.latency.WithLabelValues(method, route).Observe(d.Seconds())
}

// LoginOutcome counts one login attempt; pass it to the session service.
func (m *Metrics) LoginOutcome(outcome string) { m.logins.WithLabelValues(outcome).Inc() }

// grantLabel keeps the grant_type label bounded whatever clients send.
func grantLabel(g string) string {
	switch g {
	case oauth.GrantClientCredentials:
		return "client_credentials"
	case oauth.GrantTokenExchange:
		return "token_exchange"
	}
	return "other"
}

func (m *Metrics) tokenGrant(grantType, outcome string) {
	m.grants.WithLabelValues(grantLabel(grantType), outcome).Inc()
}

// CredentialRejected counts a refused credential; codes are the stable
// error codes, a bounded set.
func (m *Metrics) CredentialRejected(kind, code string) { m.rejected.WithLabelValues(kind, code).Inc() }

// CredentialEvent counts credential events crossing the bus.
func (m *Metrics) CredentialEvent(kind, direction string) {
	m.events.WithLabelValues(kind, direction).Inc()
}

// RegisterGauge adds a gauge read at scrape time, e.g. hasher queue length.
func (m *Metrics) RegisterGauge(name, help string, read func() float64) {
	m.Registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, read))
}

// RateLimitDenied counts a request a rate-limit policy refused; pass it
// to the Limiter.
func (m *Metrics) RateLimitDenied(name string) { m.limited.WithLabelValues(name).Inc() }

// RateLimitFailed counts a check the rate-limit backend could not answer;
// pass it to the Limiter. Limit names come from configuration and tenants'
// plans, a bounded set.
func (m *Metrics) RateLimitFailed(name string, letThrough bool) {
	mode := "closed"
	if letThrough {
		mode = "open"
	}
	m.limitErr.WithLabelValues(name, mode).Inc()
}

// UsageEvents counts what became of a batch of usage events.
func (m *Metrics) UsageEvents(transport string, r usage.Result) {
	m.usage.WithLabelValues(transport, "accepted").Add(float64(r.Accepted))
	m.usage.WithLabelValues(transport, "duplicate").Add(float64(r.Duplicates))
	m.usage.WithLabelValues(transport, "rejected").Add(float64(len(r.Rejected)))
}

// UsageTerminated counts NATS messages terminated because they can never
// be valid; pass it to the usage consumer.
func (m *Metrics) UsageTerminated(n int) {
	m.usage.WithLabelValues("nats", "terminated").Add(float64(n))
}

// PolicyEvaluationError counts a policy that failed to evaluate; pass it to
// the policy engine. Policy ids are bounded by the policies stored.
func (m *Metrics) PolicyEvaluationError(policyID string) { m.evalErr.WithLabelValues(policyID).Inc() }

// AuditDropped counts queued audit events dropped; pass it to the
// audit.Recorder. Reasons are the recorder's Drop… constants.
func (m *Metrics) AuditDropped(reason string, n int) {
	m.auditDrop.WithLabelValues(reason).Add(float64(n))
}

// WebhookAttempt counts one delivery attempt and, when it reached the
// network, its latency; pass it to the webhook worker.
func (m *Metrics) WebhookAttempt(outcome string, latency time.Duration) {
	m.hooks.WithLabelValues(outcome).Inc()
	if latency > 0 {
		m.hookTime.Observe(latency.Seconds())
	}
}

// AuditForwarded counts audit events published to NATS; pass it to the
// audit forwarder.
func (m *Metrics) AuditForwarded(n int) { m.auditFwd.Add(float64(n)) }
