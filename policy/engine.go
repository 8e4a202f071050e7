package policy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/cedar-policy/cedar-go"
	"golang.org/x/sync/singleflight"

	"github.com/tollgate/tollgate/audit"
	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/ids"
)

// DecisionRecord is what the decision log receives.
type DecisionRecord struct {
	TenantID string
	Request  Request
	Decision Decision
	At       time.Time
	// RequestID, TraceID and ActorID name the API request that asked and
	// its caller (audit.OriginOf the decision's context); empty for a
	// decision asked in process.
	RequestID string
	TraceID   string
	ActorID   string
}

// DecisionLog records decisions for the audit trail. Record must not block:
// the engine calls it on the decision path.
type DecisionLog interface {
	Record(ctx context.Context, r DecisionRecord)
}

// EngineDeps are what an Engine needs.
type EngineDeps struct {
	Source   Source
	Compiler *Compiler
	// Decisions receives every deny and a sample of permits; may be nil.
	Decisions DecisionLog
	// EvaluationError is told of each policy that failed to evaluate; may
	// be nil.
	EvaluationError func(policyID string)
	// Metrics is told of every decision and snapshot; may be nil.
	Metrics EngineMetrics
	// Quotas gives decisions the tenant's consumption against its quotas
	// (context.quota); nil leaves it out.
	Quotas QuotaSource
	Log    *slog.Logger
	Now    func() time.Time
}

// EngineOptions tune an Engine.
type EngineOptions struct {
	// SnapshotTTL is how long a snapshot is served before the tenant is
	// read whole again in the background (default 5 minutes): the safety
	// net for a lost event.
	SnapshotTTL time.Duration
	// MaxStaleness is how long a snapshot is served while a change
	// announced for it cannot be applied (the store is down, say) before
	// the tenant's decisions fail closed (default 2 s).
	MaxStaleness time.Duration
	// MaxSnapshots bounds the tenants held in memory (default 10,000).
	MaxSnapshots int
	// PermitSampleRate is the share of permits sent to the decision log
	// (0 to 1); every deny is sent.
	PermitSampleRate float64
}

// Engine decides requests against per-tenant snapshots. A tenant's first
// decision builds its snapshot; after that, announced changes are applied
// in the background (state.go) while decisions go on against the
// snapshot before them.
type Engine struct {
	d     EngineDeps
	opts  EngineOptions
	first singleflight.Group

	mu      sync.RWMutex
	tenants map[string]*tenantState
}

// NewEngine returns an Engine.
func NewEngine(d EngineDeps, opts EngineOptions) *Engine {
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if opts.SnapshotTTL <= 0 {
		opts.SnapshotTTL = 5 * time.Minute
	}
	if opts.MaxStaleness <= 0 {
		opts.MaxStaleness = 2 * time.Second
	}
	if opts.MaxSnapshots <= 0 {
		opts.MaxSnapshots = 10_000
	}
	return &Engine{d: d, opts: opts, tenants: map[string]*tenantState{}}
}

// Compiler returns the engine's compiler.
func (e *Engine) Compiler() *Compiler { return e.d.Compiler }

// Known reports NotFound when tenantID does not exist, from its snapshot
// (building it if needed). Other errors are returned too; decisions then
// fail closed on their own.
func (e *Engine) Known(ctx context.Context, tenantID string) error {
	_, err := e.snapshot(ctx, tenantID)
	return err
}

// Authorize decides one request in tenantID. It never returns a permit it
// is not sure of: a missing tenant, a store failure or an evaluation error
// is a deny with the reason and the error.
func (e *Engine) Authorize(ctx context.Context, tenantID string, req Request) Decision {
	start := time.Now()
	st, snap, err := e.current(ctx, tenantID)
	if err != nil {
		return e.record(ctx, tenantID, req, e.unavailable(ctx, tenantID, err), start)
	}
	return e.record(ctx, tenantID, req, e.decide(ctx, st, snap, req), start)
}

// MaxBatch is the most requests one batch may hold.
const MaxBatch = 1000

// AuthorizeBatch decides requests in order against one snapshot, so that
// they see one consistent state.
func (e *Engine) AuthorizeBatch(ctx context.Context, tenantID string, reqs []Request) []Decision {
	out := make([]Decision, len(reqs))
	// Each decision's time runs from the end of the previous one, so that
	// the first carries the wait for the snapshot.
	start := time.Now()
	st, snap, err := e.current(ctx, tenantID)
	for i, r := range reqs {
		if err != nil {
			out[i] = e.record(ctx, tenantID, r, e.unavailable(ctx, tenantID, err), start)
		} else {
			out[i] = e.record(ctx, tenantID, r, e.decide(ctx, st, snap, r), start)
		}
		start = time.Now()
	}
	return out
}

// unavailable is the deny given when no snapshot can be had.
func (e *Engine) unavailable(ctx context.Context, tenantID string, err error) Decision {
	d := Decision{Decision: Deny, Reasons: []string{ReasonUnavailable}, DecisionID: ids.New()}
	var inv *InvalidError
	switch {
	case errors.Is(err, fault.ErrNotFound):
		d.Errors = []string{"tenant not found"}
	case errors.Is(err, errStale):
		// The updater logs each failed attempt; one line per decision would
		// flood the log.
		d.Errors = []string{"a change of the tenant's data could not be applied in time"}
	case errors.As(err, &inv):
		d.Errors = []string{"the tenant's stored policies or resources no longer validate"}
		e.d.Log.ErrorContext(ctx, "tenant snapshot does not validate; its decisions are denied", "tenant_id", tenantID, "err", err)
	default:
		d.Errors = []string{"the tenant's policies and data could not be loaded"}
		e.d.Log.ErrorContext(ctx, "building a tenant snapshot failed", "tenant_id", tenantID, "err", err)
	}
	return d
}

// record counts d, begun at start, in the metrics and sends every deny
// and a sample of permits to the decision log, named by the request that
// asked.
func (e *Engine) record(ctx context.Context, tenantID string, req Request, d Decision, start time.Time) Decision {
	if e.d.Metrics != nil {
		e.d.Metrics.Decided(d.Decision, ReasonClass(d), time.Since(start))
	}
	if e.d.Decisions != nil && (!d.Permitted() || (e.opts.PermitSampleRate > 0 && rand.Float64() < e.opts.PermitSampleRate)) {
		o := audit.OriginOf(ctx)
		e.d.Decisions.Record(ctx, DecisionRecord{TenantID: tenantID, Request: req, Decision: d, At: e.d.Now(),
			RequestID: o.RequestID, TraceID: o.TraceID, ActorID: o.ActorID})
	}
	return d
}

// decide evaluates req against snap, st's snapshot. It allocates only
// what the request adds to the snapshot.
func (e *Engine) decide(ctx context.Context, st *tenantState, snap *snapshot, req Request) Decision {
	creq, getter, policies, err := e.translate(ctx, st, snap, req)
	return e.decideTranslated(ctx, snap, req, creq, getter, policies, err)
}

// decideTranslated is decide given what translating req gave, so that a
// caller which translated req already (Lookup, to refuse a bad request with
// a typed error) does not pay for it twice.
func (e *Engine) decideTranslated(ctx context.Context, snap *snapshot, req Request, creq cedar.Request, getter *overlay, policies both, err error) Decision {
	d := Decision{DecisionID: ids.New(), PolicyVersion: snap.version}
	if errors.Is(err, errQuotaUnavailable) {
		d.Decision, d.Reasons, d.Errors = Deny, []string{ReasonUnavailable}, []string{"the tenant's consumption against its quotas could not be read"}
		e.d.Log.ErrorContext(ctx, "reading quota consumption failed; the decision is a deny", "tenant_id", snap.tenantID, "err", err)
		return d
	}
	if err != nil {
		d.Decision, d.Reasons, d.Errors = Deny, []string{ReasonInvalidRequest}, []string{faultDetail(err)}
		return d
	}
	dec, diag := cedar.Authorize(policies, getter, creq)
	if len(diag.Errors) > 0 {
		// Cedar skips a policy that errors, so an erroring forbid would
		// not deny: any error denies.
		d.Decision, d.Reasons = Deny, []string{ReasonEvaluationError}
		for _, pe := range diag.Errors {
			d.Errors = append(d.Errors, fmt.Sprintf("policy %s: %s", pe.PolicyID, pe.Message))
			if e.d.EvaluationError != nil {
				e.d.EvaluationError(string(pe.PolicyID))
			}
			e.d.Log.WarnContext(ctx, "policy evaluation error; the decision is a deny", "tenant_id", snap.tenantID, "policy", string(pe.PolicyID), "err", pe.Message)
		}
		return d
	}
	d.Reasons = make([]string, 0, len(diag.Reasons))
	for _, r := range diag.Reasons {
		d.Reasons = append(d.Reasons, string(r.PolicyID))
	}
	d.Errors = []string{}
	if dec == cedar.Allow {
		// Only a permit is narrowed: a deny keeps the policies' reasons.
		if why := outOfScope(req); why != "" {
			d.Decision, d.Reasons, d.Errors = Deny, []string{ReasonCredentialScope}, []string{why}
			return d
		}
		d.Decision = Permit
		return d
	}
	d.Decision = Deny
	if len(d.Reasons) == 0 {
		d.Reasons = append(d.Reasons, ReasonDefaultDeny)
	}
	return d
}

func faultDetail(err error) string {
	var fe *fault.Error
	if errors.As(err, &fe) && fe.Detail != "" {
		return fe.Detail
	}
	return err.Error()
}
