package httpapi

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tollgate/tollgate/policy"
)

// pdpMetrics are the policy engine's collectors: Metrics implements
// policy.EngineMetrics through it, so that the server's Metrics is what
// app passes to the engine.
type pdpMetrics struct {
	decisions *prometheus.CounterVec
	// counted holds the counter of every outcome and reason class the
	// engine reports, so that a decision finds its counter without the
	// vector hashing its labels under a lock.
	counted   map[[2]string]prometheus.Counter
	took      prometheus.Histogram
	applied   *prometheus.CounterVec
	build     *prometheus.HistogramVec
	entities  prometheus.Histogram
	staleness prometheus.Histogram
}

var _ policy.EngineMetrics = (*Metrics)(nil)

func newPDPMetrics() pdpMetrics {
	e := pdpMetrics{
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tollgate_decisions_total",
			Help: "PDP decisions by outcome (permit, deny) and reason class (policy, default_deny, credential_scope, invalid_request, evaluation_error, unavailable).",
		}, []string{"outcome", "reason_class"}),
		took: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "tollgate_decision_duration_seconds",
			Help: "Time the engine took per decision, a wait for the tenant's snapshot included.",
			// 10 µs (a warm decision takes a few) to 100 ms (a snapshot
			// built on the way).
			Buckets: []float64{.00001, .000025, .00005, .0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1},
		}),
		applied: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tollgate_policy_snapshots_applied_total",
			Help: "Tenant snapshots that started being served, by kind (full, incremental, policies).",
		}, []string{"kind"}),
		build: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "tollgate_policy_snapshot_build_duration_seconds",
			Help:    "Time spent building a tenant snapshot, by kind (full, incremental, policies).",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"kind"}),
		entities: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "tollgate_policy_snapshot_entities",
			Help:    "Entities (members, agents, roles, resources) in each tenant snapshot applied.",
			Buckets: prometheus.ExponentialBuckets(10, 10, 6), // 10 to 1,000,000
		}),
		staleness: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "tollgate_policy_snapshot_staleness_seconds",
			Help:    "Time from a change's announcement to the first snapshot that includes it being served.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}),
	}
	e.counted = map[[2]string]prometheus.Counter{}
	for _, outcome := range []string{policy.Permit, policy.Deny} {
		for _, class := range []string{
			policy.ReasonClassPolicy, policy.ReasonDefaultDeny, policy.ReasonCredentialScope,
			policy.ReasonInvalidRequest, policy.ReasonEvaluationError, policy.ReasonUnavailable,
		} {
			e.counted[[2]string{outcome, class}] = e.decisions.WithLabelValues(outcome, class)
		}
	}
	return e
}

func (e pdpMetrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{e.decisions, e.took, e.applied, e.build, e.entities, e.staleness}
}

// Decided implements policy.EngineMetrics.
func (m *Metrics) Decided(outcome, reasonClass string, took time.Duration) {
	if c, ok := m.pdp.counted[[2]string{outcome, reasonClass}]; ok {
		c.Inc()
	} else {
		m.pdp.decisions.WithLabelValues(outcome, reasonClass).Inc()
	}
	m.pdp.took.Observe(took.Seconds())
}

// SnapshotApplied implements policy.EngineMetrics.
func (m *Metrics) SnapshotApplied(kind string, took time.Duration, entities int) {
	m.pdp.applied.WithLabelValues(kind).Inc()
	m.pdp.build.WithLabelValues(kind).Observe(took.Seconds())
	m.pdp.entities.Observe(float64(entities))
}

// SnapshotStaleness implements policy.EngineMetrics.
func (m *Metrics) SnapshotStaleness(d time.Duration) { m.pdp.staleness.Observe(d.Seconds()) }
