package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"log/slog"

	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/policy"
	"github.com/tollgate/tollgate/ratelimit"
)

func TestPanicBecomesProblem(t *testing.T) {
	s := &Server{Deps: Deps{Metrics: NewMetrics(), Log: discardLog()}, opts: Options{MaxBodyBytes: 1 << 20}}
	h := s.instrument(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("secret internal detail") }))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/boom", nil))
	if rec.Code != http.StatusInternalServerError || rec.Header().Get("Content-Type") != "application/problem+json" {
		t.Fatalf("got %d %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	if strings.Contains(rec.Body.String(), "secret") || strings.Contains(rec.Body.String(), "goroutine") {
		t.Fatalf("internals leaked: %s", rec.Body)
	}
}

func TestInternalErrorsDoNotLeak(t *testing.T) {
	rec := httptest.NewRecorder()
	writeError(rec, httptest.NewRequest("GET", "/x", nil), discardLog(), errors.New("pq: password authentication failed for 10.0.0.5"))
	if rec.Code != 500 || strings.Contains(rec.Body.String(), "10.0.0.5") {
		t.Fatalf("got %d %s", rec.Code, rec.Body)
	}
}

// FuzzDecodeJSON feeds arbitrary bodies to the request decoder: it must
// never panic and must classify every failure as a client error.
func FuzzDecodeJSON(f *testing.F) {
	for _, seed := range []string{
		`{"email":"a@b.c","password":"x"}`, `{}`, `[]`, `null`, `{"email":1}`, `{"a":1}`,
		`{"email":"a@b.c"} {}`, `{"email":"\ud800"}`, `{"tenant":"` + strings.Repeat("x", 100) + `"}`, "\x00", `{"email":`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r := httptest.NewRequest("POST", "/v1/auth/login", bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		r.Body = http.MaxBytesReader(httptest.NewRecorder(), r.Body, 4<<10)
		var in loginRequest
		err := decodeJSON(r, &in)
		if err == nil {
			return
		}
		if k := fault.KindOf(err); k != fault.Invalid && k != fault.TooLarge && k != fault.UnsupportedMediaType {
			t.Fatalf("decode error of kind %v for %q: %v", k, body, err)
		}
	})
}

func discardLog() *slog.Logger { return slog.New(slog.DiscardHandler) }

// TestReadyzFailsWhileDraining: ready without remote rate limits (nothing to
// check) until draining.
func TestReadyzFailsWhileDraining(t *testing.T) {
	s := New(Deps{Store: readyStore{}}, Options{})
	for _, c := range []struct {
		drain bool
		want  int
	}{{false, 200}, {true, 503}} {
		if c.drain {
			s.Drain()
		}
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
		if rec.Code != c.want {
			t.Fatalf("draining=%v: status %d, want %d", c.drain, rec.Code, c.want)
		}
	}
}

// readyStore is a healthy, migrated store for the readiness probe.
type readyStore struct{}

func (readyStore) Ping(context.Context) error { return nil }
func (readyStore) MigrationStatus(context.Context) (int64, int64, error) {
	return 1, 1, nil
}

// flakyBackend is a rate-limit backend that is down while down is set.
type flakyBackend struct{ down atomic.Bool }

func (b *flakyBackend) err() error {
	if b.down.Load() {
		return fault.Wrap(fault.Unavailable, ratelimit.CodeRatelimitUnavailable, errors.New("connection refused"))
	}
	return nil
}

func (b *flakyBackend) Allow(context.Context, ratelimit.Limit, string, int64, time.Time) (ratelimit.Result, error) {
	return ratelimit.Result{Allowed: true, Quota: 1, Remaining: 1}, b.err()
}

func (b *flakyBackend) Peek(context.Context, ratelimit.Limit, string, time.Time) (ratelimit.Result, error) {
	return ratelimit.Result{Allowed: true, Quota: 1, Remaining: 1}, b.err()
}

func (b *flakyBackend) Reset(context.Context, ratelimit.Limit, string) error { return b.err() }

func TestReadyzFollowsTheRateLimitBackend(t *testing.T) {
	backend := &flakyBackend{}
	var now atomic.Int64
	now.Store(time.Unix(1_800_000_000, 0).UnixNano())
	clock := func() time.Time { return time.Unix(0, now.Load()) }
	breaker := ratelimit.NewBreaker(backend, 2*time.Second, clock)
	s := New(Deps{Store: readyStore{}, RateLimitBackend: breaker}, Options{})
	probe := func(want int, wantDependency string) {
		t.Helper()
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
		if rec.Code != want {
			t.Fatalf("/readyz: %d %s, want %d", rec.Code, rec.Body, want)
		}
		if want == 200 {
			return
		}
		var p Problem
		if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
			t.Fatal(err)
		}
		if p.Code != string(ratelimit.CodeRatelimitUnavailable) || p.Dependency != wantDependency {
			t.Fatalf("problem %+v, want code ratelimit_unavailable, dependency %q", p, wantDependency)
		}
	}
	check := func() error {
		_, err := breaker.Allow(context.Background(), ratelimit.Limit{Name: "x", Strategy: ratelimit.GCRA, Rate: 1, Period: time.Second}, "k", 1, clock())
		return err
	}

	probe(200, "")
	// Redis goes away; the next check opens the breaker. How the breaker
	// holds and probes through its cooldowns is ratelimit.TestBreakerReady.
	backend.down.Store(true)
	if err := check(); fault.KindOf(err) != fault.Unavailable {
		t.Fatalf("check while down: %v", err)
	}
	probe(503, "ratelimit")
	// Redis returns; with no traffic at all, the probe after the cooldown
	// notices.
	backend.down.Store(false)
	now.Add(int64(3 * time.Second))
	probe(200, "")
	if err := check(); err != nil {
		t.Fatalf("check after recovery: %v", err)
	}
}

func TestMetricsToken(t *testing.T) {
	const token = "scrape-0123456789abcdef"
	for _, c := range []struct {
		name      string
		elsewhere bool
	}{{"main listener", false}, {"own listener", true}} {
		t.Run(c.name, func(t *testing.T) {
			s := New(Deps{Store: readyStore{}}, Options{MetricsToken: token, MetricsElsewhere: c.elsewhere})
			h := http.Handler(s)
			if c.elsewhere {
				h = s.MetricsHandler()
				// Not on the API's listener any more.
				rec := httptest.NewRecorder()
				r := httptest.NewRequest("GET", "/metrics", nil)
				r.Header.Set("Authorization", "Bearer "+token)
				s.ServeHTTP(rec, r)
				if rec.Code != http.StatusNotFound {
					t.Fatalf("/metrics on the API listener: %d, want 404", rec.Code)
				}
			}
			for _, tc := range []struct {
				auth string
				want int
			}{
				{"", 401},
				{"Bearer wrong-0123456789abcdef", 401},
				{"Bearer " + token[:len(token)-1], 401},
				{"Basic " + token, 401},
				{"Bearer " + token, 200},
				{"bearer " + token, 200},
			} {
				rec := httptest.NewRecorder()
				r := httptest.NewRequest("GET", "/metrics", nil)
				if tc.auth != "" {
					r.Header.Set("Authorization", tc.auth)
				}
				h.ServeHTTP(rec, r)
				if rec.Code != tc.want {
					t.Fatalf("Authorization %q: %d, want %d", tc.auth, rec.Code, tc.want)
				}
				if tc.want == 401 {
					var p Problem
					if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || p.Code != string(CodeInvalidMetricsToken) {
						t.Fatalf("Authorization %q: body %s", tc.auth, rec.Body)
					}
					if rec.Header().Get("WWW-Authenticate") == "" {
						t.Fatalf("Authorization %q: no WWW-Authenticate", tc.auth)
					}
				} else if !strings.Contains(rec.Body.String(), "tollgate_") && !strings.Contains(rec.Body.String(), "go_") {
					t.Fatalf("metrics body: %.200s", rec.Body)
				}
			}
			if c.elsewhere {
				rec := httptest.NewRecorder()
				s.MetricsHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
				if rec.Code != http.StatusNotFound {
					t.Fatalf("/readyz on the metrics listener: %d, want 404", rec.Code)
				}
			}
		})
	}
}

func TestMetricsOpenWithoutToken(t *testing.T) {
	s := New(Deps{Store: readyStore{}}, Options{})
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 {
		t.Fatalf("/metrics: %d", rec.Code)
	}
}

func TestLoneSurrogate(t *testing.T) {
	for _, c := range []struct {
		body string
		want bool
	}{
		{`{"a":"plain"}`, false},
		{`{"a":"\u00e9\u20ac"}`, false},
		{`{"a":"\ud83d\ude00"}`, false}, // a pair: one emoji
		{`{"a":"\uD83D\uDE00"}`, false},
		{`{"a":"\\ud800"}`, false}, // an escaped backslash, then text
		{`{"a":"\ud800"}`, true},
		{`{"a":"\ud800x"}`, true},
		{`{"a":"\ud800\u0041"}`, true},
		{`{"a":"\ude00"}`, true},
		{`{"a":"\ud83d\ude00\udc00"}`, true},
		{`{"a":"\\\ud800"}`, true},
		{`{"a":"\ud8"}`, false}, // malformed: the decoder refuses it
	} {
		if got := loneSurrogate([]byte(c.body)); got != c.want {
			t.Errorf("loneSurrogate(%s) = %v, want %v", c.body, got, c.want)
		}
	}
}

// TestAccessLogSampling: refused, failed and slow requests are always
// written; of the others, those the sampler picks.
func TestAccessLogSampling(t *testing.T) {
	for _, c := range []struct {
		name    string
		status  int
		slow    time.Duration
		picked  bool
		percent int
		// sampler false: draw with percent.
		sampler bool
		written bool
	}{
		{"fast success, picked", http.StatusOK, time.Hour, true, 0, true, true},
		{"fast success, not picked", http.StatusOK, time.Hour, false, 0, true, false},
		{"no content, not picked", http.StatusNoContent, time.Hour, false, 0, true, false},
		{"refused", http.StatusForbidden, time.Hour, false, 0, true, true},
		{"not found", http.StatusNotFound, time.Hour, false, 0, true, true},
		{"rate limited", http.StatusTooManyRequests, time.Hour, false, 0, true, true},
		{"failed", http.StatusInternalServerError, time.Hour, false, 0, true, true},
		{"slow success", http.StatusOK, time.Nanosecond, false, 0, true, true},
		{"percent 0 writes none", http.StatusOK, time.Hour, false, 0, false, false},
		{"percent 100 writes all", http.StatusOK, time.Hour, false, 100, false, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			var buf bytes.Buffer
			al := AccessLog{Percent: c.percent, Slow: c.slow}
			if c.sampler {
				al.Sample = func() bool { return c.picked }
			}
			s := New(Deps{Log: slog.New(slog.NewJSONHandler(&buf, nil))}, Options{AccessLog: al})
			h := s.instrument(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(c.status) }))
			h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/x", nil))
			if written := strings.Contains(buf.String(), `"msg":"request"`); written != c.written {
				t.Fatalf("written %v, want %v: %s", written, c.written, buf.String())
			}
		})
	}
}

// TestLogHandlerNamesTheRequest: a line logged with a request's context
// carries its request id, trace id, actor and tenant, unless it names an
// actor or tenant of its own; a line outside a request carries none.
func TestLogHandlerNamesTheRequest(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(LogHandler{slog.NewJSONHandler(&buf, nil)})
	info := &requestInfo{id: "req-1", traceID: "4bf92f3577b34da6a3ce929d0e0e4736"}
	ctx := context.WithValue(context.Background(), ctxKey{}, info)
	line := func(log func()) map[string]any {
		t.Helper()
		buf.Reset()
		log()
		var m map[string]any
		if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	for _, c := range []struct {
		name  string
		setup func()
		log   func()
		want  map[string]any
	}{
		{"before authentication", func() {}, func() { log.InfoContext(ctx, "x") },
			map[string]any{"request_id": "req-1", "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736", "actor_id": nil, "tenant_id": nil}},
		{"authenticated", func() { info.actor, info.tenantID = &identity.ActorContext{ActorID: "user:1", TenantID: "t1"}, "t1" },
			func() { log.WarnContext(ctx, "x") },
			map[string]any{"request_id": "req-1", "actor_id": "user:1", "tenant_id": "t1"}},
		{"a line naming its own tenant keeps it", func() {}, func() { log.ErrorContext(ctx, "x", "tenant_id", "t2") },
			map[string]any{"request_id": "req-1", "actor_id": "user:1", "tenant_id": "t2"}},
		{"a service, before its tenant is known", func() { info.actor, info.tenantID = &identity.ActorContext{ActorID: "service:m"}, "" },
			func() { log.InfoContext(ctx, "x") },
			map[string]any{"actor_id": "service:m", "tenant_id": nil}},
		{"outside a request", func() {}, func() { log.InfoContext(context.Background(), "x") },
			map[string]any{"request_id": nil, "trace_id": nil, "actor_id": nil, "tenant_id": nil}},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.setup()
			m := line(c.log)
			for k, v := range c.want {
				if m[k] != v {
					t.Fatalf("%s = %v, want %v (line %v)", k, m[k], v, m)
				}
			}
		})
	}
}

// TestEngineMetricsCount: Metrics counts decisions by outcome and reason
// class, a value outside the known ones included, and times them.
func TestEngineMetricsCount(t *testing.T) {
	m := NewMetrics()
	m.Decided(policy.Permit, policy.ReasonClassPolicy, 5*time.Microsecond)
	m.Decided(policy.Deny, policy.ReasonDefaultDeny, 7*time.Microsecond)
	m.Decided(policy.Deny, policy.ReasonDefaultDeny, 3*time.Millisecond)
	m.Decided(policy.Deny, "something_new", time.Microsecond)
	m.SnapshotApplied(policy.SnapshotIncremental, 2*time.Millisecond, 1200)
	m.SnapshotStaleness(40 * time.Millisecond)
	for _, c := range []struct {
		outcome, class string
		want           float64
	}{
		{policy.Permit, policy.ReasonClassPolicy, 1},
		{policy.Deny, policy.ReasonDefaultDeny, 2},
		{policy.Deny, "something_new", 1},
		{policy.Deny, policy.ReasonUnavailable, 0},
	} {
		if got := counterValue(t, m, "tollgate_decisions_total", "outcome", c.outcome, "reason_class", c.class); got != c.want {
			t.Errorf("%s/%s counted %v, want %v", c.outcome, c.class, got, c.want)
		}
	}
	if got := counterValue(t, m, "tollgate_policy_snapshots_applied_total", "kind", policy.SnapshotIncremental); got != 1 {
		t.Errorf("snapshots applied %v", got)
	}
	for name, want := range map[string]uint64{
		"tollgate_decision_duration_seconds": 4, "tollgate_policy_snapshot_build_duration_seconds": 1,
		"tollgate_policy_snapshot_entities": 1, "tollgate_policy_snapshot_staleness_seconds": 1,
	} {
		if got := histogramCount(t, m, name); got != want {
			t.Errorf("%s: %d observations, want %d", name, got, want)
		}
	}
}

// counterValue is the value of name's counter with the label pairs given,
// 0 when it has not been counted.
func counterValue(t *testing.T, m *Metrics, name string, labels ...string) float64 {
	t.Helper()
	families, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	series:
		for _, s := range f.GetMetric() {
			have := map[string]string{}
			for _, l := range s.GetLabel() {
				have[l.GetName()] = l.GetValue()
			}
			for i := 0; i+1 < len(labels); i += 2 {
				if have[labels[i]] != labels[i+1] {
					continue series
				}
			}
			return s.GetCounter().GetValue()
		}
	}
	return 0
}

func histogramCount(t *testing.T, m *Metrics, name string) uint64 {
	t.Helper()
	families, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var n uint64
	for _, f := range families {
		if f.GetName() == name {
			for _, s := range f.GetMetric() {
				n += s.GetHistogram().GetSampleCount()
			}
		}
	}
	return n
}

// BenchmarkDecided measures what counting and timing one decision adds to
// the decision path.
func BenchmarkDecided(b *testing.B) {
	m := NewMetrics()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m.Decided(policy.Deny, policy.ReasonDefaultDeny, 4*time.Microsecond)
		}
	})
}

// BenchmarkAccessLine measures one access line alone: the instrument
// layer around a handler that only names an authenticated caller, with
// the line written as JSON to /dev/null (write system call included) or,
// at warn, not at all. The difference between the two is a line's cost.
func BenchmarkAccessLine(b *testing.B) {
	for _, c := range []struct {
		name  string
		level slog.Level
	}{{"log=warn", slog.LevelWarn}, {"log=info", slog.LevelInfo}} {
		b.Run(c.name, func(b *testing.B) {
			null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = null.Close() })
			log := slog.New(LogHandler{slog.NewJSONHandler(null, &slog.HandlerOptions{Level: c.level})})
			s := New(Deps{Log: log}, Options{AccessLog: AccessLog{Percent: 100}})
			ac := &identity.ActorContext{ActorID: "user:01m96k0tr3yh4vjjbkrjb3h8br", TenantID: "01m96k0tr8cexqb0yect9h5xdf"}
			h := s.instrument(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				info := infoFrom(r.Context())
				info.actor, info.tenantID = ac, ac.TenantID
				w.WriteHeader(http.StatusOK)
			}))
			req := httptest.NewRequest("POST", "/v1/authorize", nil)
			req.Header.Set("Traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
			cpu0 := processCPU()
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					h.ServeHTTP(httptest.NewRecorder(), req)
				}
			})
			b.StopTimer()
			b.ReportMetric(float64((processCPU()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/op")
		})
	}
}

// processCPU is the process's user and system CPU time so far: on a
// shared machine, steadier than wall time.
func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
