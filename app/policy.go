package app

import (
	"fmt"
	"log/slog"

	"github.com/tollgate/tollgate/audit"
	"github.com/tollgate/tollgate/config"
	"github.com/tollgate/tollgate/event"
	"github.com/tollgate/tollgate/gateway"
	"github.com/tollgate/tollgate/httpapi"
	"github.com/tollgate/tollgate/policy"
	"github.com/tollgate/tollgate/store"
)

// pdp is the policy decision point and what it was built with.
type pdp struct {
	service *policy.Service
	// lines writes decisions as log lines when decision_log_lines is set;
	// nil otherwise.
	lines    *policy.LogDecisions
	compiler *policy.Compiler
}

// openPolicy builds the policy decision point over the store. rights tells
// it who may ask; notify tells other replicas of policy changes; rec takes
// the decisions to the audit log; quotas gives them context.quota.
func openPolicy(cfg config.Config, st store.Store, rights policy.Rights, rec *audit.Recorder, metrics *httpapi.Metrics, log *slog.Logger, notify event.Notifier, quotas policy.QuotaSource) (pdp, error) {
	compiler, err := policy.LoadCompiler(cfg.PolicySchemaExtension)
	if err != nil {
		return pdp{}, fmt.Errorf("loading the policy schema and defaults: %w", err)
	}
	decisions := auditDecisions{}
	if cfg.AuditDecisions {
		decisions.rec = rec
	}
	if cfg.DecisionLogLines {
		decisions.lines = policy.NewLogDecisions(log, 0)
	}
	var decisionLog policy.DecisionLog
	if decisions.rec != nil || decisions.lines != nil {
		// Neither: the engine samples nothing and builds no record.
		decisionLog = decisions
	}
	engine := policy.NewEngine(policy.EngineDeps{
		Source: policy.StoreSource{Identity: st, Policies: st}, Compiler: compiler,
		Decisions: decisionLog, EvaluationError: metrics.PolicyEvaluationError, Metrics: metrics, Log: log, Quotas: quotas,
	}, policy.EngineOptions{
		SnapshotTTL: cfg.PolicySnapshotTTL, MaxStaleness: cfg.PolicyMaxStaleness, PermitSampleRate: float64(cfg.DecisionLogPermitPercent) / 100,
	})
	svc := policy.NewService(policy.Deps{
		Engine: engine, Store: st, Rights: rights,
		Changed: notify,
	}, policy.Options{MaxResourcesPerTenant: cfg.MaxResourcesPerTenant})
	return pdp{service: svc, lines: decisions.lines, compiler: compiler}, nil
}

// openGateway loads the gateway's route table, whose actions must be the
// compiler's; nil when gateway_routes is not set.
func openGateway(cfg config.Config, compiler *policy.Compiler) (*gateway.Table, error) {
	if cfg.GatewayRoutes == "" {
		return nil, nil
	}
	t, err := gateway.Load(cfg.GatewayRoutes, compiler.Actions())
	if err != nil {
		return nil, fmt.Errorf("gateway_routes: %w", err)
	}
	return t, nil
}
