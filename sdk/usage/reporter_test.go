package usage

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	tgusage "github.com/tollgate/tollgate/usage"
)

// llm is an LLM event of tenant with n input tokens, now.
func llm(tenant string, n int64) Event {
	return Event{Type: TypeLLM, Tenant: tenant, Subject: "agent:1", Data: LLM{Model: "m", InputTokens: n}}
}

func wantStats(t *testing.T, r *Reporter, want Stats) {
	t.Helper()
	if got := r.Stats(); got != want {
		t.Fatalf("stats %+v, want %+v", got, want)
	}
}

func TestReportBatchesAndCloseDelivers(t *testing.T) {
	tg := newTollgate(t)
	tenant := tg.tenant("acme")
	id, secret := tg.service("usage:write")
	r := tg.reporter(Config{ClientID: id, ClientSecret: secret, BatchSize: 100, FlushInterval: time.Hour})
	sum := int64(0)
	for i := range 250 {
		if err := r.Report(t.Context(), llm(tenant, int64(i))); err != nil {
			t.Fatal(err)
		}
		sum += int64(i)
	}
	if err := r.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	wantStats(t, r, Stats{Reported: 250, Accepted: 250})
	if got := tg.total(tenant, "llm_input_tokens", tgusage.Sum); got != float64(sum) {
		t.Fatalf("Tollgate counted %v, want %d", got, sum)
	}
	// Two full batches and the rest at Close: three requests.
	if n := tg.posts.Load(); n != 3 {
		t.Fatalf("%d requests, want 3", n)
	}
	if err := r.Report(t.Context(), llm(tenant, 1)); !errors.Is(err, ErrClosed) {
		t.Fatalf("Report after Close = %v", err)
	}
	if err := r.Close(t.Context()); err != nil {
		t.Fatalf("a second Close = %v", err)
	}
}

// TestFlakyTollgateLosesAndDoublesNothing: 503s before Tollgate records a
// batch, and lost answers after it did, then success: every event counts
// once, since a batch is sent again with the same ids.
func TestFlakyTollgateLosesAndDoublesNothing(t *testing.T) {
	tg := newTollgate(t)
	tenant := tg.tenant("acme")
	id, secret := tg.service("usage:write")
	tg.inject(failBefore, failBefore, failAfter, pass, failAfter, failAfter, failBefore)
	r := tg.reporter(Config{ClientID: id, ClientSecret: secret, BatchSize: 40, FlushInterval: time.Millisecond})
	const n = 200
	for i := range n {
		e := Event{Type: TypeAPI, Tenant: tenant, Subject: "service:x", Data: API{Route: "GET /x", Status: 200}}
		if i%2 == 0 {
			e = llm(tenant, 3)
		}
		if err := r.Report(t.Context(), e); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	st := r.Stats()
	// The events behind lost answers were counted by Tollgate at the
	// first attempt, and answered as duplicates at a later one. (How many
	// depends on how the flush interval cut the batches.)
	lost := tg.lost.Load()
	if lost == 0 || st.Reported != n || st.Accepted+st.Duplicates != n || st.Duplicates != lost || st.Rejected != 0 || st.Dropped != 0 || st.Queued != 0 {
		t.Fatalf("stats %+v: want %d answered, %d of them (> 0) as duplicates", st, n, lost)
	}
	if calls, inputs := tg.total(tenant, "api_calls", tgusage.Count), tg.total(tenant, "llm_input_tokens", tgusage.Sum); calls != n/2 || inputs != 3*n/2 {
		t.Fatalf("Tollgate counted %v API calls and %v input tokens, want %d and %d", calls, inputs, n/2, 3*n/2)
	}
}

// TestRetryAfterIsHonoured: a 429's Retry-After is waited out, even when
// longer than the back-off.
func TestRetryAfterIsHonoured(t *testing.T) {
	tg := newTollgate(t)
	tenant := tg.tenant("acme")
	id, secret := tg.service("usage:write")
	tg.inject(throttle, failBefore)
	r := tg.reporter(Config{ClientID: id, ClientSecret: secret})
	var mu sync.Mutex
	var waits []time.Duration
	r.sleep = func(_ context.Context, d time.Duration) error {
		mu.Lock()
		waits = append(waits, d)
		mu.Unlock()
		return nil
	}
	if err := r.Report(t.Context(), llm(tenant, 5)); err != nil {
		t.Fatal(err)
	}
	if err := r.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(waits) != 2 || waits[0] != 7*time.Second || waits[1] >= 7*time.Second {
		t.Fatalf("waits %v: want Retry-After's 7s, then a back-off", waits)
	}
	wantStats(t, r, Stats{Reported: 1, Accepted: 1})
}

// TestFullBufferDropsNewEvents: while Tollgate does not answer, the queue
// fills to MaxBuffer; new events are then dropped and counted, and the
// queued ones are delivered once Tollgate answers.
func TestFullBufferDropsNewEvents(t *testing.T) {
	tg := newTollgate(t)
	tenant := tg.tenant("acme")
	id, secret := tg.service("usage:write")
	tg.inject(hold)
	raw, err := encode(llm(tenant, 1), "//test", true, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	// Room for five events (their sizes vary by a few bytes).
	r := tg.reporter(Config{ClientID: id, ClientSecret: secret, MaxBuffer: 5*len(raw) + 10, FlushInterval: time.Millisecond, Timeout: 200 * time.Millisecond})
	reported, dropped := 0, 0
	for range 8 {
		switch err := r.Report(t.Context(), llm(tenant, 1)); {
		case err == nil:
			reported++
		case errors.Is(err, ErrDropped):
			dropped++
		default:
			t.Fatal(err)
		}
	}
	if reported != 5 || dropped != 3 {
		t.Fatalf("%d queued, %d dropped; want 5 and 3", reported, dropped)
	}
	if err := r.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	wantStats(t, r, Stats{Reported: 5, Accepted: 5, Dropped: 3})
	if got := tg.total(tenant, "llm_input_tokens", tgusage.Sum); got != 5 {
		t.Fatalf("Tollgate counted %v, want 5", got)
	}
}

// TestRejections: events Tollgate rejects one by one, and batches it
// refuses as a whole, are counted and not sent again.
func TestRejections(t *testing.T) {
	tg := newTollgate(t)
	tenant := tg.tenant("acme")
	id, secret := tg.service("usage:write")
	r := tg.reporter(Config{ClientID: id, ClientSecret: secret})
	bad := Event{Type: TypeLLM, Tenant: tenant, Subject: "agent:1", Data: map[string]any{"input_tokens": 1}} // no model
	other := llm(tg.tenant("beta"), 1)
	for _, e := range []Event{llm(tenant, 2), bad, other} {
		if err := r.Report(t.Context(), e); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	wantStats(t, r, Stats{Reported: 3, Accepted: 2, Rejected: 1})

	// A service without usage:write: refused as a whole, once.
	id, secret = tg.service("authz:check")
	r = tg.reporter(Config{ClientID: id, ClientSecret: secret})
	before := tg.posts.Load()
	for range 3 {
		if err := r.Report(t.Context(), llm(tenant, 1)); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	wantStats(t, r, Stats{Reported: 3, Rejected: 3})
	if n := tg.posts.Load() - before; n != 1 {
		t.Fatalf("a refused batch was sent %d times", n)
	}
}

// TestAPIKeyReportsForItsTenant: with an API key, events without a tenant
// are the key's tenant's.
func TestAPIKeyReportsForItsTenant(t *testing.T) {
	tg := newTollgate(t)
	tenant := tg.tenant("acme")
	r := tg.reporter(Config{APIKey: tg.apiKey(tenant)})
	if err := r.Report(t.Context(), llm("", 42)); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := tg.total(tenant, "llm_input_tokens", tgusage.Sum); got != 42 {
		t.Fatalf("Tollgate counted %v, want 42", got)
	}
}

// TestCloseGivesUp: when Tollgate does not answer before Close's context
// ends, what is left is dropped, counted, and reported by Close.
func TestCloseGivesUp(t *testing.T) {
	tg := newTollgate(t)
	tenant := tg.tenant("acme")
	id, secret := tg.service("usage:write")
	tg.inject(hold, hold, hold, hold, hold, hold, hold, hold)
	r := tg.reporter(Config{ClientID: id, ClientSecret: secret, BatchSize: 2, FlushInterval: time.Millisecond})
	for range 5 {
		if err := r.Report(t.Context(), llm(tenant, 1)); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(t.Context())
	flushed := make(chan error, 1)
	go func() { flushed <- r.Flush(ctx) }()
	cancel()
	if err := <-flushed; !errors.Is(err, context.Canceled) {
		t.Fatalf("Flush = %v", err)
	}
	err := r.Close(ctx)
	if !errors.Is(err, context.Canceled) || err.Error() != fmt.Sprintf("usage: 5 events not delivered: %v", context.Canceled) {
		t.Fatalf("Close = %v", err)
	}
	wantStats(t, r, Stats{Reported: 5, Dropped: 5})
	// Flush returns at once now: nothing is left to wait for.
	if err := r.Flush(t.Context()); err != nil {
		t.Fatalf("Flush after Close = %v", err)
	}
}

func TestReportRefusesInvalidEvents(t *testing.T) {
	tg := newTollgate(t)
	id, secret := tg.service("usage:write")
	r := tg.reporter(Config{ClientID: id, ClientSecret: secret})
	for name, e := range map[string]Event{
		"no type":             {Tenant: "t", Subject: "agent:1", Data: LLM{}},
		"a type not usage.*":  {Type: "llm", Tenant: "t", Subject: "agent:1", Data: LLM{}},
		"no subject":          {Type: TypeLLM, Tenant: "t", Data: LLM{}},
		"no tenant":           {Type: TypeLLM, Subject: "agent:1", Data: LLM{}},
		"data not an object":  {Type: TypeLLM, Tenant: "t", Subject: "agent:1", Data: []int{1}},
		"data not JSON":       {Type: TypeLLM, Tenant: "t", Subject: "agent:1", Data: func() {}},
		"nil data":            {Type: TypeLLM, Tenant: "t", Subject: "agent:1"},
		"larger than 16 KiB ": {Type: TypeLLM, Tenant: "t", Subject: "agent:1", Data: map[string]string{"x": string(make([]byte, MaxEventBytes))}},
	} {
		if err := r.Report(t.Context(), e); !errors.Is(err, ErrInvalidEvent) {
			t.Errorf("%s: Report = %v, want ErrInvalidEvent", name, err)
		}
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := r.Report(ctx, llm("t", 1)); !errors.Is(err, context.Canceled) {
		t.Errorf("Report with a cancelled context = %v", err)
	}
	wantStats(t, r, Stats{})
}

func TestNewRefusesBadConfigs(t *testing.T) {
	for name, cfg := range map[string]Config{
		"no credential":          {},
		"both credentials":       {ClientID: "a", ClientSecret: "b", APIKey: "k"},
		"an id without a secret": {ClientID: "a"},
		"a bad URL":              {APIKey: "k", URL: "ftp://x"},
		"too big a batch":        {APIKey: "k", BatchSize: MaxBatchSize + 1},
		"a negative interval":    {APIKey: "k", FlushInterval: -time.Second},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("%s: New accepted %+v", name, cfg)
		}
	}
}

func TestBackoff(t *testing.T) {
	base, ceiling := 100*time.Millisecond, 30*time.Second
	for _, c := range []struct {
		attempt  int
		rnd      float64
		want     time.Duration
		scenario string
	}{
		{0, 0, 50 * time.Millisecond, "the first retry waits half the base at least"},
		{0, 1, 100 * time.Millisecond, "and the base at most"},
		{3, 0.5, 600 * time.Millisecond, "doubling: 800ms ceiling, three quarters of it"},
		{10, 0, 15 * time.Second, "capped at the ceiling"},
		{10, 1, 30 * time.Second, "capped at the ceiling, all of it"},
		{200, 0.5, 22500 * time.Millisecond, "no overflow for long outages"},
	} {
		if got := backoff(c.attempt, base, ceiling, c.rnd); got != c.want {
			t.Errorf("%s: backoff(%d, %v) = %v, want %v", c.scenario, c.attempt, c.rnd, got, c.want)
		}
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 3, 14, 15, 0, 0, 0, time.UTC)
	for v, want := range map[string]time.Duration{
		"":                              0,
		"7":                             7 * time.Second,
		"0":                             0,
		"-3":                            0,
		"soon":                          0,
		"99999999":                      24 * time.Hour,
		"Sat, 14 Mar 2026 15:00:30 GMT": 30 * time.Second,
		"Sat, 14 Mar 2026 14:00:00 GMT": 0,
	} {
		if got := retryAfter(http.Header{"Retry-After": {v}}, now); got != want {
			t.Errorf("Retry-After %q = %v, want %v", v, got, want)
		}
	}
}

// TestFlushIntervalSendsAPartialBatch: an event waits at most the flush
// interval for its batch to fill.
func TestFlushIntervalSendsAPartialBatch(t *testing.T) {
	tg := newTollgate(t)
	tenant := tg.tenant("acme")
	id, secret := tg.service("usage:write")
	r := tg.reporter(Config{ClientID: id, ClientSecret: secret, FlushInterval: 10 * time.Millisecond})
	for _, n := range []int64{3, 4} {
		if err := r.Report(t.Context(), llm(tenant, n)); err != nil {
			t.Fatal(err)
		}
		// Neither Flush nor Close: the interval alone sends it.
		waitDelivered(t, r)
	}
	wantStats(t, r, Stats{Reported: 2, Accepted: 2})
	if got := tg.total(tenant, "llm_input_tokens", tgusage.Sum); got != 7 {
		t.Fatalf("Tollgate counted %v, want 7", got)
	}
}

// waitDelivered waits until every event reported is answered, failing
// after a minute: a guard against a hang, not a timing assertion.
func waitDelivered(t *testing.T, r *Reporter) {
	t.Helper()
	guard := time.After(time.Minute)
	r.mu.Lock()
	defer r.mu.Unlock()
	for r.done < r.next {
		progress := r.progress
		r.mu.Unlock()
		select {
		case <-progress:
		case <-guard:
			r.mu.Lock()
			t.Fatal("the events were not sent within a minute")
		}
		r.mu.Lock()
	}
}
