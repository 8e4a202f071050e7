package policy

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cedar-policy/cedar-go"
)

// scaleSource is a PartSource over one large tenant held in maps, so
// that benchmarks measure the engine, not the source.
type scaleSource struct {
	mu        sync.RWMutex
	td        TenantData
	members   map[string]Member
	resources map[ResourceRef]Resource
}

func newScaleSource(members, channels int) *scaleSource {
	s := &scaleSource{td: TenantData{TenantID: "big", Active: true}, members: map[string]Member{}, resources: map[ResourceRef]Resource{}}
	for u := range members {
		roles := []string{"member"}
		if u%100 == 0 {
			roles = []string{"admin"}
		}
		m := Member{ActorID: fmt.Sprintf("user:%d", u), Roles: roles, Active: true}
		s.members[m.ActorID] = m
	}
	for c := range channels {
		ms := make([]any, 10)
		for i := range ms {
			ms[i] = fmt.Sprintf("user:%d", (c*10+i)%members)
		}
		r := Resource{Type: "channel", ID: fmt.Sprintf("ch-%d", c), Attrs: map[string]any{"members": ms}}
		s.resources[r.Ref()] = r
	}
	return s
}

func (s *scaleSource) TenantData(context.Context, string) (TenantData, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	td := s.td
	for _, m := range s.members {
		td.Members = append(td.Members, m)
	}
	for _, r := range s.resources {
		td.Resources = append(td.Resources, r)
	}
	return td, nil
}

func (s *scaleSource) TenantActive(context.Context, string) (bool, error) { return true, nil }
func (s *scaleSource) Roles(context.Context, string) ([]string, error)    { return nil, nil }
func (s *scaleSource) PolicySet(context.Context, string) (PolicySet, error) {
	return PolicySet{}, nil
}

func (s *scaleSource) Actor(_ context.Context, _, id string) (ActorData, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if m, ok := s.members[id]; ok {
		return ActorData{Member: &m}, nil
	}
	return ActorData{}, nil
}

func (s *scaleSource) Resource(_ context.Context, _ string, ref ResourceRef) (Resource, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.resources[ref], nil
}

func (s *scaleSource) setRoles(id string, roles []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.members[id]
	m.Roles = roles
	s.members[id] = m
}

func scaleEngine(b *testing.B, src *scaleSource) *Engine {
	c, err := NewCompiler()
	if err != nil {
		b.Fatal(err)
	}
	return NewEngine(EngineDeps{Source: src, Compiler: c}, EngineOptions{SnapshotTTL: time.Hour})
}

func heapBytes() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// BenchmarkTenantBuild100k: the cold build of a tenant of 100,000
// members and 1,000 channels from loaded data, and the memory its
// snapshot holds per member — before any decision, and once every
// member has been decided for (each member's Cedar entity made).
func BenchmarkTenantBuild100k(b *testing.B) {
	const members = 100_000
	src := newScaleSource(members, 1000)
	td, _ := src.TenantData(context.Background(), "big")
	c, err := NewCompiler()
	if err != nil {
		b.Fatal(err)
	}
	before := heapBytes()
	snap, err := c.build(td, time.Time{})
	if err != nil {
		b.Fatal(err)
	}
	built := heapBytes()
	snap.actors.all(func(uid cedar.EntityUID, r *actorRec) { r.entity(uid) })
	hot := heapBytes()
	runtime.KeepAlive(snap)
	b.ResetTimer()
	for range b.N {
		if _, err := c.build(td, time.Time{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(built-before)/members, "B/member")
	b.ReportMetric(float64(hot-before)/members, "B/member-hot")
}

// BenchmarkTenantUnderChange100k decides for random members of a tenant
// of 100,000 while, in the changing case, one member's roles change every
// second. It reports the decision p99 and how long each change took to
// be served; compare ns/op of the two cases for the throughput kept.
func BenchmarkTenantUnderChange100k(b *testing.B) {
	for _, changing := range []bool{false, true} {
		b.Run(fmt.Sprintf("changing=%v", changing), func(b *testing.B) {
			const members = 100_000
			src := newScaleSource(members, 1000)
			e := scaleEngine(b, src)
			ctx := context.Background()
			if d := e.Authorize(ctx, "big", Request{Principal: "user:0", Action: "MANAGE", Resource: ResourceRef{Type: "channel", ID: "ch-0"}}); !d.Permitted() {
				b.Fatal(d)
			}
			stop := make(chan struct{})
			var visible []time.Duration
			var wg sync.WaitGroup
			if changing {
				wg.Go(func() {
					tick := time.NewTicker(time.Second)
					defer tick.Stop()
					for i := 1; ; i++ {
						select {
						case <-stop:
							return
						case <-tick.C:
						}
						id := fmt.Sprintf("user:%d", i*7919%members)
						roles := []string{"admin"}
						if i%2 == 0 {
							roles = []string{"member"}
						}
						src.setRoles(id, roles)
						start := time.Now()
						e.Announce(Change{TenantID: "big", Part: PartActor, Key: id})
						for {
							snap, _ := e.snapshot(ctx, "big")
							uid, _ := actorUID(id)
							if r, ok := snap.actors.get(uid); ok && r.roles.names.(cedar.Set).Contains(cedar.String("admin")) == (roles[0] == "admin") {
								break
							}
							time.Sleep(50 * time.Microsecond)
						}
						visible = append(visible, time.Since(start))
					}
				})
			}
			var n atomic.Int64
			lat := make([][]time.Duration, 0)
			var latMu sync.Mutex
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				var mine []time.Duration
				i := n.Add(1) * 1_000_003
				for pb.Next() {
					i++
					req := Request{Principal: fmt.Sprintf("user:%d", i%members), Action: "READ", Resource: ResourceRef{Type: "channel", ID: fmt.Sprintf("ch-%d", i%1000)}}
					start := time.Now()
					e.Authorize(ctx, "big", req)
					mine = append(mine, time.Since(start))
				}
				latMu.Lock()
				lat = append(lat, mine)
				latMu.Unlock()
			})
			b.StopTimer()
			close(stop)
			wg.Wait()
			all := slices.Concat(lat...)
			sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
			if len(all) > 0 {
				b.ReportMetric(float64(all[len(all)*99/100].Microseconds()), "p99-µs")
			}
			if len(visible) > 0 {
				slices.Sort(visible)
				b.ReportMetric(float64(visible[len(visible)-1].Microseconds())/1000, "visible-max-ms")
				b.ReportMetric(float64(len(visible)), "changes")
			}
		})
	}
}
