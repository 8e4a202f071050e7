package policy

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/cedar-policy/cedar-go"

	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/internal/testclock"
)

// memSource is a PartSource over TenantData held in memory, counting what
// is read. gate, when set, is received from before each read, so a test
// can hold an update half-way.
type memSource struct {
	mu         sync.Mutex
	data       map[string]TenantData
	err        error
	gate       chan struct{}
	wholeReads int
	partReads  int
}

func (m *memSource) read(whole bool) (map[string]TenantData, error) {
	if m.gate != nil {
		<-m.gate
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if whole {
		m.wholeReads++
	} else {
		m.partReads++
	}
	return m.data, m.err
}

func (m *memSource) tenant(whole bool, id string) (TenantData, error) {
	data, err := m.read(whole)
	if err != nil {
		return TenantData{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	td, ok := data[id]
	if !ok {
		return TenantData{}, fault.NotFoundf("tenant_not_found", "tenant not found")
	}
	return td, nil
}

func (m *memSource) edit(id string, f func(*TenantData)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	td := m.data[id]
	f(&td)
	m.data[id] = td
}

func (m *memSource) counts() (whole, part int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.wholeReads, m.partReads
}

func (m *memSource) TenantData(_ context.Context, id string) (TenantData, error) {
	return m.tenant(true, id)
}

func (m *memSource) TenantActive(_ context.Context, id string) (bool, error) {
	td, err := m.tenant(false, id)
	return td.Active, err
}

func (m *memSource) Roles(_ context.Context, id string) ([]string, error) {
	td, err := m.tenant(false, id)
	return td.Roles, err
}

func (m *memSource) Actor(_ context.Context, id, actorID string) (ActorData, error) {
	td, err := m.tenant(false, id)
	var d ActorData
	for _, mem := range td.Members {
		if mem.ActorID == actorID {
			d.Member = &mem
		}
	}
	for _, a := range td.Agents {
		if a.ActorID == actorID {
			d.Agent = &a
		}
	}
	return d, err
}

func (m *memSource) Resource(_ context.Context, id string, ref ResourceRef) (Resource, error) {
	td, err := m.tenant(false, id)
	if err != nil {
		return Resource{}, err
	}
	for _, r := range td.Resources {
		if r.Ref() == ref {
			return r, nil
		}
	}
	return Resource{}, fault.NotFoundf(CodeResourceNotFound, "resource not found")
}

func (m *memSource) PolicySet(_ context.Context, id string) (PolicySet, error) {
	td, err := m.tenant(false, id)
	return td.Policies, err
}

// countingMetrics counts snapshot updates by kind.
type countingMetrics struct {
	mu      sync.Mutex
	applied map[string]int
}

func (c *countingMetrics) Decided(string, string, time.Duration) {}
func (c *countingMetrics) SnapshotStaleness(time.Duration)       {}
func (c *countingMetrics) SnapshotApplied(kind string, _ time.Duration, _ int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.applied[kind]++
}

func (c *countingMetrics) count(kind string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.applied[kind]
}

type stateWorld struct {
	src     *memSource
	engine  *Engine
	clock   *testclock.Clock
	metrics *countingMetrics
}

func newStateWorld(t *testing.T, tds ...TenantData) *stateWorld {
	t.Helper()
	c, err := NewCompiler()
	if err != nil {
		t.Fatal(err)
	}
	w := &stateWorld{src: &memSource{data: map[string]TenantData{}}, clock: testclock.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)),
		metrics: &countingMetrics{applied: map[string]int{}}}
	for _, td := range tds {
		w.src.data[td.TenantID] = td
	}
	w.engine = NewEngine(EngineDeps{Source: w.src, Compiler: c, Now: w.clock.Now, Metrics: w.metrics}, EngineOptions{})
	return w
}

func (w *stateWorld) decide(tenant, principal, action string, res ResourceRef) Decision {
	return w.engine.Authorize(context.Background(), tenant, Request{Principal: principal, Action: action, Resource: res})
}

// eventually waits for cond, which an update in the background makes
// true; the deadline only bounds a failing test.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("never: %s", what)
		}
	}
}

func smallTenant(id string) TenantData {
	return TenantData{TenantID: id, Active: true, Roles: []string{"moderator"},
		Members: []Member{
			{ActorID: "user:1", Roles: []string{"owner"}, Active: true},
			{ActorID: "user:2", Roles: []string{"member"}, Active: true},
		},
		Agents:    []AgentInfo{{ActorID: "agent:a1", OwnerID: "user:1", Active: true}},
		Resources: []Resource{{Type: "channel", ID: "general", Attrs: map[string]any{"members": []any{"user:2"}}}},
	}
}

var general = ResourceRef{Type: "channel", ID: "general"}

// sameSnapshot fails unless got holds exactly the entities, resource ids
// and policy version of want.
func sameSnapshot(t *testing.T, step int, got, want *snapshot) {
	t.Helper()
	if got.version != want.version || got.size() != want.size() {
		t.Fatalf("step %d: version %d size %d, want version %d size %d", step, got.version, got.size(), want.version, want.size())
	}
	check := func(uid cedar.EntityUID) {
		g, gok := got.Get(uid)
		w, wok := want.Get(uid)
		if gok != wok || !g.Equal(w) {
			t.Fatalf("step %d: entity %v: got %v %v, want %v %v", step, uid, gok, g, wok, w)
		}
	}
	for uid := range want.fixed {
		check(uid)
	}
	want.actors.all(func(uid cedar.EntityUID, _ *actorRec) { check(uid) })
	want.resources.all(func(uid cedar.EntityUID, _ cedar.Entity) { check(uid) })
	for typ, ids := range want.ids {
		if !slices.Equal(got.ids[typ], ids) {
			t.Fatalf("step %d: %s ids %v, want %v", step, typ, got.ids[typ], ids)
		}
	}
	for typ, ids := range got.ids {
		if len(ids) > 0 && len(want.ids[typ]) == 0 {
			t.Fatalf("step %d: %s ids %v, want none", step, typ, ids)
		}
	}
}

// TestIncrementalUpdatesMatchAWholeRead applies random changes one by one
// and checks, after each, that the served snapshot is the one a whole read
// of the same data would build — without the engine reading the tenant
// whole again.
func TestIncrementalUpdatesMatchAWholeRead(t *testing.T) {
	w := newStateWorld(t, smallTenant("t1"))
	ctx := context.Background()
	if d := w.decide("t1", "user:2", "READ", general); !d.Permitted() {
		t.Fatal(d)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	roles := [][]string{{"member"}, {"admin"}, {"owner"}, {"member", "moderator"}, {"auditor"}, nil}
	for step := range 400 {
		var ch Change
		w.src.edit("t1", func(td *TenantData) {
			switch op := rng.IntN(9); op {
			case 0, 1: // a member added, changed or removed
				id := fmt.Sprintf("user:%d", rng.IntN(20))
				i := slices.IndexFunc(td.Members, func(m Member) bool { return m.ActorID == id })
				r := roles[rng.IntN(len(roles))]
				switch {
				case r == nil && i >= 0:
					td.Members = slices.Delete(slices.Clone(td.Members), i, i+1)
				case r == nil:
				case i >= 0:
					td.Members = slices.Clone(td.Members)
					td.Members[i].Roles, td.Members[i].Active = r, rng.IntN(4) > 0
				default:
					td.Members = append(slices.Clone(td.Members), Member{ActorID: id, Roles: r, Active: true})
				}
				ch = Change{TenantID: "t1", Part: PartActor, Key: id}
			case 2: // an agent created, disabled or deleted; some are members too
				id := fmt.Sprintf("agent:a%d", rng.IntN(5))
				i := slices.IndexFunc(td.Agents, func(a AgentInfo) bool { return a.ActorID == id })
				td.Agents = slices.Clone(td.Agents)
				switch {
				case i >= 0 && rng.IntN(2) == 0:
					td.Agents = slices.Delete(td.Agents, i, i+1)
				case i >= 0:
					td.Agents[i].Active = !td.Agents[i].Active
				default:
					td.Agents = append(td.Agents, AgentInfo{ActorID: id, OwnerID: "user:1", Active: true})
				}
				if rng.IntN(3) == 0 && !slices.ContainsFunc(td.Members, func(m Member) bool { return m.ActorID == id }) {
					td.Members = append(slices.Clone(td.Members), Member{ActorID: id, Roles: []string{"member"}, Active: true})
				}
				ch = Change{TenantID: "t1", Part: PartActor, Key: id}
			case 3, 4: // a resource registered, changed or deleted
				ref := ResourceRef{Type: []string{"channel", "tool"}[rng.IntN(2)], ID: fmt.Sprintf("r%d", rng.IntN(15))}
				i := slices.IndexFunc(td.Resources, func(r Resource) bool { return r.Ref() == ref })
				td.Resources = slices.Clone(td.Resources)
				if i >= 0 && rng.IntN(2) == 0 {
					td.Resources = slices.Delete(td.Resources, i, i+1)
				} else {
					r := Resource{Type: ref.Type, ID: ref.ID, Attrs: map[string]any{"roles": []any{"member"}}}
					if ref.Type == "channel" {
						r.Attrs = map[string]any{"members": []any{fmt.Sprintf("user:%d", rng.IntN(20))}}
					}
					if i >= 0 {
						td.Resources[i] = r
					} else {
						td.Resources = append(td.Resources, r)
					}
				}
				ch = Change{TenantID: "t1", Part: PartResource, Key: resourceKey(ref)}
			case 5: // custom roles
				td.Roles = [][]string{{"moderator"}, {"moderator", "auditor"}, nil}[rng.IntN(3)]
				ch = Change{TenantID: "t1", Part: PartRoles}
			case 6: // suspension
				td.Active = !td.Active
				ch = Change{TenantID: "t1", Part: PartTenant}
			case 7: // policies
				td.Policies = PolicySet{TenantID: "t1", Version: td.Policies.Version + 1,
					Text: fmt.Sprintf(`@id("p%d") forbid (principal == User::"%d", action, resource);`, step, rng.IntN(20))}
				ch = Change{TenantID: "t1", Part: PartPolicies}
			case 8: // a user disabled everywhere: the change names no tenant
				id := fmt.Sprintf("user:%d", rng.IntN(20))
				for i := range td.Members {
					if td.Members[i].ActorID == id {
						td.Members = slices.Clone(td.Members)
						td.Members[i].Active = !td.Members[i].Active
					}
				}
				ch = Change{Part: PartActor, Key: id}
			}
		})
		w.engine.Apply(ctx, ch)
		got, err := w.engine.snapshot(ctx, "t1")
		if err != nil {
			t.Fatal(err)
		}
		want, err := w.engine.d.Compiler.build(w.src.data["t1"], time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		sameSnapshot(t, step, got, want)
	}
	if whole, part := w.src.counts(); whole != 1 || part == 0 {
		t.Fatalf("read whole %d times, in parts %d times; want once and the rest in parts", whole, part)
	}
}

// TestDecisionsDoNotWaitForAnUpdate holds an update half-way: decisions go
// on against the previous snapshot, and see the change once it is served.
func TestDecisionsDoNotWaitForAnUpdate(t *testing.T) {
	w := newStateWorld(t, smallTenant("t1"))
	if d := w.decide("t1", "user:3", "READ", general); d.Permitted() {
		t.Fatal(d)
	}
	w.src.gate = make(chan struct{})
	w.src.edit("t1", func(td *TenantData) {
		td.Members = append(td.Members, Member{ActorID: "user:3", Roles: []string{"admin"}, Active: true})
		td.Resources = []Resource{{Type: "channel", ID: "general", Attrs: map[string]any{"members": []any{"user:3"}}}}
	})
	w.engine.Announce(Change{TenantID: "t1", Part: PartActor, Key: "user:3"}, Change{TenantID: "t1", Part: PartResource, Key: "channel:general"})
	for range 100 {
		if d := w.decide("t1", "user:3", "READ", general); d.Permitted() {
			t.Fatalf("served before the update finished: %+v", d)
		}
	}
	close(w.src.gate)
	eventually(t, "the change is served", func() bool { return w.decide("t1", "user:3", "READ", general).Permitted() })
	if n := w.metrics.count(SnapshotIncremental); n != 1 {
		t.Fatalf("%d incremental updates, want the two changes in one", n)
	}
}

// TestBurstsOfChangesCoalesce: changes that arrive while an update runs
// are applied together in the next.
func TestBurstsOfChangesCoalesce(t *testing.T) {
	w := newStateWorld(t, smallTenant("t1"))
	w.decide("t1", "user:1", "READ", general)
	w.src.gate = make(chan struct{})
	w.engine.Announce(Change{TenantID: "t1", Part: PartActor, Key: "user:1"})
	// The update of user:1 now waits at the gate with its change taken,
	// or is about to take the first changes of the burst with it.
	for i := range 200 {
		w.src.edit("t1", func(td *TenantData) {
			td.Members = append(td.Members, Member{ActorID: fmt.Sprintf("user:%d", 100+i), Roles: []string{"member"}, Active: true})
		})
		w.engine.Announce(Change{TenantID: "t1", Part: PartActor, Key: fmt.Sprintf("user:%d", 100+i)})
	}
	close(w.src.gate)
	eventually(t, "the burst is served", func() bool {
		return w.decide("t1", "user:299", "VIEW_TENANT", ResourceRef{Type: "tenant", ID: "t1"}).Reasons[0] != ReasonUnavailable
	})
	w.engine.Apply(context.Background(), Change{TenantID: "t1", Part: PartActor, Key: "user:299"})
	if n := w.metrics.count(SnapshotIncremental); n > 3 {
		t.Fatalf("%d updates for a burst of 201 changes, want at most 3", n)
	}
	snap, _ := w.engine.snapshot(context.Background(), "t1")
	if !snap.holds("user:299") || !snap.holds("user:100") {
		t.Fatal("the burst's members are missing")
	}
}

// TestFailsClosedWhenAChangeCannotBeApplied: a snapshot with a change
// pending is served for MaxStaleness, then the tenant's decisions deny
// until the change is applied.
func TestFailsClosedWhenAChangeCannotBeApplied(t *testing.T) {
	w := newStateWorld(t, smallTenant("t1"))
	w.decide("t1", "user:2", "READ", general)
	w.src.mu.Lock()
	w.src.err = errors.New("store down")
	w.src.mu.Unlock()
	w.engine.Apply(context.Background(), Change{TenantID: "t1", Part: PartActor, Key: "user:2"})
	if d := w.decide("t1", "user:2", "READ", general); !d.Permitted() {
		t.Fatalf("within the bound: %+v", d)
	}
	w.clock.Advance(3 * time.Second)
	if d := w.decide("t1", "user:2", "READ", general); d.Permitted() || d.Reasons[0] != ReasonUnavailable {
		t.Fatalf("past the bound: %+v", d)
	}
	w.src.mu.Lock()
	w.src.err = nil
	w.src.mu.Unlock()
	eventually(t, "decisions resume", func() bool { return w.decide("t1", "user:2", "READ", general).Permitted() })
}

// TestTenantLessActorChangesReachEveryHolder: a user disabled everywhere
// updates the tenants holding them and reads nothing of the others.
func TestTenantLessActorChangesReachEveryHolder(t *testing.T) {
	other := smallTenant("t3")
	other.Members = []Member{{ActorID: "user:9", Roles: []string{"member"}, Active: true}}
	w := newStateWorld(t, smallTenant("t1"), smallTenant("t2"), other)
	for _, id := range []string{"t1", "t2", "t3"} {
		w.decide(id, "user:2", "READ", general)
	}
	for _, id := range []string{"t1", "t2"} {
		w.src.edit(id, func(td *TenantData) { td.Members[1].Active = false })
	}
	_, before := w.src.counts()
	w.engine.Apply(context.Background(), Change{Part: PartActor, Key: "user:2"})
	for _, id := range []string{"t1", "t2"} {
		if d := w.decide(id, "user:2", "READ", general); d.Permitted() {
			t.Fatalf("%s: a disabled user is permitted: %+v", id, d)
		}
	}
	if _, after := w.src.counts(); after-before != 2 {
		t.Fatalf("%d part reads, want one per holding tenant (2)", after-before)
	}
}

// TestSnapshotTTLRereadsInTheBackground: an old snapshot is still served
// while the tenant is read whole again.
func TestSnapshotTTLRereadsInTheBackground(t *testing.T) {
	w := newStateWorld(t, smallTenant("t1"))
	w.decide("t1", "user:2", "READ", general)
	w.src.edit("t1", func(td *TenantData) { td.Resources = nil })
	w.src.gate = make(chan struct{})
	w.clock.Advance(6 * time.Minute)
	if d := w.decide("t1", "user:2", "READ", general); !d.Permitted() {
		t.Fatalf("the old snapshot is served meanwhile: %+v", d)
	}
	close(w.src.gate)
	eventually(t, "the re-read is served", func() bool { return !w.decide("t1", "user:2", "READ", general).Permitted() })
	if whole, _ := w.src.counts(); whole != 2 {
		t.Fatalf("read whole %d times, want 2", whole)
	}
}

// TestADeletedTenantIsForgotten: an update that finds the tenant gone
// drops its snapshot; its decisions then deny as for any unknown tenant.
func TestADeletedTenantIsForgotten(t *testing.T) {
	w := newStateWorld(t, smallTenant("t1"))
	w.decide("t1", "user:2", "READ", general)
	w.src.mu.Lock()
	delete(w.src.data, "t1")
	w.src.mu.Unlock()
	w.engine.Apply(context.Background(), Change{TenantID: "t1", Part: PartTenant})
	d := w.decide("t1", "user:2", "READ", general)
	if d.Permitted() || !slices.Equal(d.Errors, []string{"tenant not found"}) {
		t.Fatalf("%+v", d)
	}
}
