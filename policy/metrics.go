package policy

import "time"

// Snapshot update kinds, as EngineMetrics.SnapshotApplied names them.
const (
	// SnapshotFull is a snapshot read whole from the store: the first use
	// of a tenant, a lost change or too many changes at once.
	SnapshotFull = "full"
	// SnapshotIncremental applies changed members, agents, roles or
	// resources to the previous snapshot, sharing the rest.
	SnapshotIncremental = "incremental"
	// SnapshotPolicies recompiles a tenant's policies and keeps its
	// entities.
	SnapshotPolicies = "policies"
)

// EngineMetrics receives the engine's measurements. Methods are called on
// the decision path and must not block.
type EngineMetrics interface {
	// Decided is called once per decision with its outcome (permit or
	// deny), its reason class (ReasonClass) and how long it took.
	Decided(outcome, reasonClass string, took time.Duration)
	// SnapshotApplied is called when a new snapshot of a tenant starts
	// being served: kind is one of the Snapshot* constants, took the time
	// spent building it, entities its size.
	SnapshotApplied(kind string, took time.Duration, entities int)
	// SnapshotStaleness is called with the time from a change's
	// announcement to the first snapshot that includes it being served.
	SnapshotStaleness(d time.Duration)
}
