package storetest

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/tollgate/tollgate/audit"
	"github.com/tollgate/tollgate/cursor"
	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/store"
	"github.com/tollgate/tollgate/token"
	"github.com/tollgate/tollgate/webhook"
)

// webhookBench is a tenant with an owner, the webhook service and worker
// over s, and a receiver on 127.0.0.1 answering 204.
type webhookBench struct {
	s      store.Store
	tenant string
	owner  identity.ActorContext
	hooks  *webhook.Service
	worker *webhook.Worker
	url    string
}

func newWebhookBench(b *testing.B, s store.Store) *webhookBench {
	b.Helper()
	ctx := b.Context()
	idents := identity.NewService(identity.Deps{Store: s}, identity.Options{})
	u, err := idents.CreateUser(ctx, identity.NewUser{Email: "owner@bench.example"})
	if err != nil {
		b.Fatal(err)
	}
	tn, err := idents.CreateTenant(ctx, u.ActorID(), identity.NewTenant{Slug: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	mk := make([]byte, token.MasterKeySize)
	_, _ = rand.Read(mk)
	sealer, err := token.NewSealer(mk)
	if err != nil {
		b.Fatal(err)
	}
	guard := webhook.NewGuard([]netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	b.Cleanup(srv.Close)
	return &webhookBench{
		s: s, tenant: tn.ID, url: srv.URL,
		owner: identity.ActorContext{ActorID: u.ActorID(), TenantID: tn.ID, Credential: identity.CredentialSession},
		hooks: webhook.NewService(webhook.Deps{Store: s, Rights: idents, Sealer: sealer}, webhook.Options{Guard: guard}),
		worker: webhook.NewWorker(webhook.WorkerDeps{Store: s, Sealer: sealer, Client: webhook.NewClient(guard, 10*time.Second)},
			webhook.WorkerOptions{}),
	}
}

// appendActs appends n member.add events to the tenant's stream, as the
// acts of the API would.
func (w *webhookBench) appendActs(b *testing.B, n int) {
	b.Helper()
	for n > 0 {
		k := min(n, audit.MaxBatch)
		evs := make([]audit.Event, k)
		for i := range evs {
			evs[i] = audit.Event{TenantID: w.tenant, ActorID: "user:bench", Action: audit.ActionMemberAdd, TargetType: "member",
				TargetID: fmt.Sprintf("user:%d", i), Outcome: audit.Success, Detail: map[string]string{"roles": "member"}}
		}
		if _, err := w.s.AppendAudit(b.Context(), evs); err != nil {
			b.Fatal(err)
		}
		n -= k
	}
}

// BenchWebhookThroughput measures the whole path of a webhook: each round
// appends batch audit events, and the worker turns them into deliveries
// and delivers them, signed, to a receiver on loopback, until none is
// left. It reports deliveries/s of the delivering alone.
func BenchWebhookThroughput(b *testing.B, s store.Store, batch int) {
	w := newWebhookBench(b, s)
	if _, _, err := w.hooks.Create(b.Context(), w.owner, w.tenant, webhook.NewEndpoint{URL: w.url}); err != nil {
		b.Fatal(err)
	}
	total := 0
	for b.Loop() {
		b.StopTimer()
		w.appendActs(b, batch)
		b.StartTimer()
		// Two lanes, as Worker.Run has.
		var wg sync.WaitGroup
		for range 2 {
			wg.Go(func() {
				for {
					busy, err := w.worker.RunOnce(b.Context())
					if err != nil {
						b.Error(err)
						return
					}
					if !busy {
						return
					}
				}
			})
		}
		wg.Wait()
		total += batch
	}
	b.StopTimer()
	n, err := pendingCount(b.Context(), w)
	if err != nil || n != 0 {
		b.Fatalf("%d deliveries left pending, %v", n, err)
	}
	b.ReportMetric(float64(total)/b.Elapsed().Seconds(), "deliveries/s")
}

// pendingCount counts the endpoint's deliveries that are not succeeded.
func pendingCount(ctx context.Context, w *webhookBench) (int, error) {
	eps, err := w.hooks.List(ctx, w.owner, w.tenant, cursor.Page{Limit: 10})
	if err != nil || len(eps) == 0 {
		return 0, err
	}
	n := 0
	p := cursor.Page{Limit: 1000}
	for {
		ds, err := w.s.ListDeliveries(ctx, w.tenant, eps[0].ID, p)
		if err != nil {
			return 0, err
		}
		for _, d := range ds {
			if d.Status != webhook.Succeeded {
				n++
			}
		}
		if len(ds) < p.Limit {
			return n, nil
		}
		p.After = ds[len(ds)-1].ID
	}
}

// BenchWebhookBacklog measures the webhook API's store calls while the
// outbox holds backlog pending deliveries of another endpoint (due in an
// hour, as during an outage of its receiver): reading and listing
// endpoints, a page of an endpoint's deliveries, enqueuing a test message,
// and a worker's claim that finds nothing due.
func BenchWebhookBacklog(b *testing.B, s store.Store, backlog int) {
	w := newWebhookBench(b, s)
	ctx := b.Context()
	down, _, err := w.hooks.Create(ctx, w.owner, w.tenant, webhook.NewEndpoint{URL: w.url + "/down"})
	if err != nil {
		b.Fatal(err)
	}
	w.appendActs(b, backlog)
	later := time.Now().Add(time.Hour)
	route := func(tenantID string, events []audit.Event, eps []webhook.Endpoint) []webhook.Delivery {
		ds := webhook.Router(func() time.Time { return later })(tenantID, events, eps)
		for i := range ds {
			ds[i].NextAttemptAt = later
		}
		return ds
	}
	for {
		n, err := s.DispatchWebhooks(ctx, 16, 1000, route, time.Now())
		if err != nil {
			b.Fatal(err)
		}
		if n == 0 {
			break
		}
	}
	live, _, err := w.hooks.Create(ctx, w.owner, w.tenant, webhook.NewEndpoint{URL: w.url + "/live"})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := w.hooks.Test(ctx, w.owner, w.tenant, live.ID); err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name string
		op   func() error
	}{
		{"get_webhook", func() error { _, err := w.hooks.Get(ctx, w.owner, w.tenant, down.ID); return err }},
		{"list_webhooks", func() error { _, err := w.hooks.List(ctx, w.owner, w.tenant, cursor.Page{Limit: 51}); return err }},
		{"list_deliveries_of_backlogged", func() error {
			_, err := w.hooks.Deliveries(ctx, w.owner, w.tenant, down.ID, cursor.Page{Limit: 51})
			return err
		}},
		{"list_deliveries_of_other", func() error {
			_, err := w.hooks.Deliveries(ctx, w.owner, w.tenant, live.ID, cursor.Page{Limit: 51})
			return err
		}},
		{"claim_nothing_due", func() error {
			ds, _, err := s.ClaimDeliveries(ctx, time.Now().Add(-time.Minute), time.Now(), 512)
			if err == nil && len(ds) != 0 {
				err = fmt.Errorf("claimed %d", len(ds))
			}
			return err
		}},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if err := c.op(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchWebhookBacklogEnv sizes BenchWebhookBacklog's outbox; the default
// keeps the run to a few minutes, and BENCHMARKS.md gives the figures.
const BenchWebhookBacklogEnv = "TOLLGATE_BENCH_WEBHOOK_BACKLOG"

// WebhookBacklog is $TOLLGATE_BENCH_WEBHOOK_BACKLOG, or 100,000.
func WebhookBacklog() int {
	if v, err := strconv.Atoi(os.Getenv(BenchWebhookBacklogEnv)); err == nil && v > 0 {
		return v
	}
	return 100_000
}
