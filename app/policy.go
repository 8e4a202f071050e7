package app

import (
	"context"
	"fmt"
	"time"

	"github.com/tollgate/tollgate/config"
	"github.com/tollgate/tollgate/event"
	"github.com/tollgate/tollgate/gateway"
	"github.com/tollgate/tollgate/policy"
)

// openPolicy builds the policy decision point over the store.
func (a *App) openPolicy(cfg config.Config) error {
	compiler, err := policy.NewCompiler()
	if err != nil {
		return fmt.Errorf("loading the policy schema and defaults: %w", err)
	}
	a.decisions = policy.NewLogDecisions(a.log, 0)
	engine := policy.NewEngine(policy.EngineDeps{
		Source: policy.StoreSource{Identity: a.store, Policies: a.store}, Compiler: compiler,
		Decisions: a.decisions, EvaluationError: a.metrics.PolicyEvaluationError, Log: a.log,
	}, policy.EngineOptions{
		SnapshotTTL: cfg.PolicySnapshotTTL, PermitSampleRate: float64(cfg.DecisionLogPermitPercent) / 100,
	})
	if cfg.GatewayRoutes != "" {
		if a.gateway, err = gateway.Load(cfg.GatewayRoutes, compiler.Actions()); err != nil {
			return fmt.Errorf("gateway_routes: %w", err)
		}
	}
	a.Policy = policy.NewService(engine, a.store, a.Identity, func(ctx context.Context, tenantID string) {
		a.notify(ctx, event.Event{Kind: event.KindPolicyChanged, ID: tenantID, At: time.Now()})
	}, nil)
	return nil
}
