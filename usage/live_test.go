package usage

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/policy"
)

// totalsStore answers ReadUsage with one value per meter.
type totalsStore struct {
	Store
	mu     sync.Mutex
	values map[string]float64
}

func (s *totalsStore) ReadUsage(_ context.Context, q StoreQuery) ([]Partial, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return []Partial{{Window: q.FromMinute, Value: s.values[q.Meter]}}, nil
}

func (s *totalsStore) set(meter string, v float64) {
	s.mu.Lock()
	s.values[meter] = v
	s.mu.Unlock()
}

// TestLiveSharesPollsAndBoundsStreams: streams of one (tenant, meter,
// subject) share one poller; the bounds per tenant and per process refuse
// more; releasing the last stream of a key stops its poller.
func TestLiveSharesPollsAndBoundsStreams(t *testing.T) {
	l := newLive(&totalsStore{values: map[string]float64{}}, StreamOptions{MaxPerTenant: 2, MaxTotal: 3}, time.Now, slog.New(slog.DiscardHandler))
	m := Shipped[0]
	key := func(tenant, subject string) watchKey {
		return watchKey{tenant: tenant, meter: m.Name, subject: subject}
	}
	a, err := l.subscribe(key("t1", ""), m)
	if err != nil {
		t.Fatal(err)
	}
	b, err := l.subscribe(key("t1", ""), m)
	if err != nil || a != b || len(l.watches) != 1 || a.subscribers != 2 {
		t.Fatalf("two streams of one key: %v, %d watches, %d subscribers", err, len(l.watches), a.subscribers)
	}
	refused := func(w *watch, err error) {
		t.Helper()
		var fe *fault.Error
		if !errors.As(err, &fe) || fe.Code != CodeStreamsExhausted || fe.Kind != fault.RateLimited || fe.RetryAfter <= 0 || w != nil {
			t.Fatalf("subscribe = %v, want %s", err, CodeStreamsExhausted)
		}
	}
	refused(l.subscribe(key("t1", "user:1"), m))
	c, err := l.subscribe(key("t2", ""), m)
	if err != nil {
		t.Fatal(err)
	}
	refused(l.subscribe(key("t3", ""), m))
	l.release(a)
	if _, ok := l.watches[key("t1", "")]; !ok || a.subscribers != 1 {
		t.Fatal("releasing one of two streams stopped the key's poller")
	}
	d, err := l.subscribe(key("t3", ""), m)
	if err != nil {
		t.Fatalf("a stream after one was released: %v", err)
	}
	for _, w := range []*watch{b, c, d} {
		l.release(w)
	}
	if len(l.watches) != 0 || len(l.perTenant) != 0 || l.total != 0 {
		t.Fatalf("after every release: %d watches, %v per tenant, %d in all", len(l.watches), l.perTenant, l.total)
	}
}

type permit struct{}

func (permit) Authorize(context.Context, identity.ActorContext, string, policy.Request) (policy.Decision, error) {
	return policy.Decision{Decision: policy.Permit}, nil
}

// sink records a stream's messages and signals each update.
type sink struct {
	updates chan Update
	fail    error
}

func (s *sink) Update(u *Update) error {
	s.updates <- *u
	return s.fail
}

func (s *sink) Heartbeat() error { return s.fail }

// TestStreamFollowsTotalsAndEnds: a stream sends the total, then each
// change, and ends when the server stops, when the client goes, and when
// a write fails.
func TestStreamFollowsTotalsAndEnds(t *testing.T) {
	st := &totalsStore{values: map[string]float64{"tool_runs": 3}}
	svc := NewService(Deps{Store: st, Authorizer: permit{}}, Options{Streams: StreamOptions{Interval: time.Millisecond}})
	ac := identity.ActorContext{ActorID: "user:1", ActorType: identity.ActorHuman, TenantID: "t1"}
	q := StreamQuery{Meter: "tool_runs"}

	stop := make(chan struct{})
	// Buffered: a stream may send again after the test stops reading (a
	// new watch's first total), and must not block on it while its
	// context ends.
	k := &sink{updates: make(chan Update, 64)}
	done := make(chan error, 1)
	go func() { done <- svc.Stream(t.Context(), ac, q, stop, k) }()
	if u := <-k.updates; u.Value != 3 || u.TenantID != "t1" || u.Meter != "tool_runs" || u.Period != PeriodOf(u.AsOf) {
		t.Fatalf("first update %+v", u)
	}
	st.set("tool_runs", 5)
	// The change arrives, after any repeat of the first total.
	for u := <-k.updates; u.Value != 5; u = <-k.updates {
		if u.Value != 3 {
			t.Fatalf("update %+v between 3 and 5", u)
		}
	}
	close(stop)
	if err := <-done; err != nil {
		t.Fatalf("Stream after stop = %v", err)
	}

	ctx, cancel := context.WithCancel(t.Context())
	go func() { done <- svc.Stream(ctx, ac, q, nil, k) }()
	<-k.updates
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Stream after the client went = %v", err)
	}

	broken := errors.New("broken pipe")
	k.fail = broken
	go func() { done <- svc.Stream(t.Context(), ac, q, nil, k) }()
	if err := <-done; !errors.Is(err, broken) {
		t.Fatalf("Stream after a failed write = %v", err)
	}
	if len(svc.live.watches) != 0 || svc.live.total != 0 {
		t.Fatal("ended streams are still counted")
	}
	if err := svc.Stream(t.Context(), ac, StreamQuery{}, nil, k); fault.KindOf(err) != fault.Invalid {
		t.Fatalf("a stream without a meter: %v", err)
	}
}
