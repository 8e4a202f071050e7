package usage

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tollgate/tollgate/apikey"
	"github.com/tollgate/tollgate/app"
	"github.com/tollgate/tollgate/config"
	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/serviceaccount"
	"github.com/tollgate/tollgate/store"
	"github.com/tollgate/tollgate/store/sqlite/sqlitetest"
	tgusage "github.com/tollgate/tollgate/usage"
)

var discard = slog.New(slog.DiscardHandler)

// fault is what the test Tollgate does to one request to the usage
// endpoint instead of answering it.
type fault uint8

const (
	// pass answers as Tollgate does.
	pass fault = iota
	// failBefore answers 503 without recording anything.
	failBefore
	// failAfter records the batch, then loses the answer: 503.
	failAfter
	// throttle answers 429 with Retry-After: 7.
	throttle
	// hold waits until the client gives up or the test ends.
	hold
)

// tollgate is a real Tollgate, assembled by app.New over SQLite and served
// over HTTP on 127.0.0.1, whose usage endpoint can be made to fail.
type tollgate struct {
	t   testing.TB
	app *app.App
	srv *httptest.Server
	st  store.Store

	mu     sync.Mutex
	faults []fault // for the next requests to the usage endpoint, in order
	// posts counts the requests to the usage endpoint.
	posts atomic.Int32
	// lost counts the events Tollgate accepted behind answers failAfter
	// lost: the reporter sends them again and must hear them back as
	// duplicates.
	lost  atomic.Uint64
	stop  chan struct{}
	admin identity.ActorContext
}

func newTollgate(t testing.TB) *tollgate {
	t.Helper()
	tg := &tollgate{t: t, st: sqlitetest.Open(t), stop: make(chan struct{})}
	cfg := config.Defaults()
	cfg.DataDir = t.TempDir()
	cfg.Argon2MemoryKiB, cfg.Argon2Iterations = 64, 1
	cfg.RateLimitIP, cfg.RateLimitToken, cfg.RateLimitTenant, cfg.RateLimitActor = "100000/1h", "100000/1h", "100000/1h", "100000/1h"
	cfg.Issuer = "http://tollgate.test"
	mk := make([]byte, 32)
	_, _ = rand.Read(mk)
	a, err := app.New(context.Background(), cfg, tg.st, mk, discard)
	if err != nil {
		t.Fatal(err)
	}
	tg.app = a
	t.Cleanup(func() {
		if err := a.Close(context.Background()); err != nil {
			t.Errorf("closing the app: %v", err)
		}
	})
	tg.srv = httptest.NewServer(http.HandlerFunc(tg.serve))
	t.Cleanup(tg.srv.Close)
	t.Cleanup(func() { close(tg.stop) }) // before srv.Close
	u, err := a.Identity.CreateUser(context.Background(), identity.NewUser{Email: "root@platform.example", PlatformAdmin: true})
	if err != nil {
		t.Fatal(err)
	}
	tg.admin = identity.ActorContext{ActorID: u.ActorID(), ActorType: identity.ActorHuman, Credential: identity.CredentialSession}
	return tg
}

// inject makes the next requests to the usage endpoint fail as listed.
func (tg *tollgate) inject(fs ...fault) {
	tg.mu.Lock()
	tg.faults = append(tg.faults, fs...)
	tg.mu.Unlock()
}

func (tg *tollgate) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/v1/usage/events" {
		tg.app.API.ServeHTTP(w, r)
		return
	}
	tg.posts.Add(1)
	tg.mu.Lock()
	f := pass
	if len(tg.faults) > 0 {
		f, tg.faults = tg.faults[0], tg.faults[1:]
	}
	tg.mu.Unlock()
	switch f {
	case pass:
		tg.app.API.ServeHTTP(w, r)
	case failBefore:
		http.Error(w, "unavailable", http.StatusServiceUnavailable)
	case failAfter:
		rec := httptest.NewRecorder()
		tg.app.API.ServeHTTP(rec, r)
		var answer struct {
			Accepted int64 `json:"accepted"`
		}
		if rec.Code != http.StatusAccepted || json.Unmarshal(rec.Body.Bytes(), &answer) != nil {
			tg.t.Errorf("the request behind a lost answer: %d %s", rec.Code, rec.Body)
		}
		tg.lost.Add(uint64(answer.Accepted))
		http.Error(w, "bad gateway", http.StatusBadGateway)
	case throttle:
		w.Header().Set("Retry-After", "7")
		http.Error(w, "slow down", http.StatusTooManyRequests)
	case hold:
		_, _ = io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done():
		case <-tg.stop:
		}
	}
}

var serviceSeq atomic.Int32

// service registers a service with scopes for every tenant and returns
// its client credentials.
func (tg *tollgate) service(scopes ...string) (id, secret string) {
	tg.t.Helper()
	svc, secret, err := tg.app.Services.Register(context.Background(), tg.admin, serviceaccount.NewService{
		Name: fmt.Sprintf("svc-%d", serviceSeq.Add(1)), Scopes: scopes, Tenants: []string{identity.Everything}})
	if err != nil {
		tg.t.Fatal(err)
	}
	return svc.ID, secret
}

// tenant creates a tenant owned by the admin and returns its id.
func (tg *tollgate) tenant(slug string) string {
	tg.t.Helper()
	tn, err := tg.app.Identity.CreateTenant(context.Background(), tg.admin.ActorID, identity.NewTenant{Slug: slug})
	if err != nil {
		tg.t.Fatal(err)
	}
	return tn.ID
}

// apiKey creates an API key of tenantID holding usage:write.
func (tg *tollgate) apiKey(tenantID string) string {
	tg.t.Helper()
	ac := tg.admin
	ac.TenantID = tenantID
	_, secret, err := tg.app.APIKeys.Create(context.Background(), ac, apikey.NewKey{Name: "meter", TenantID: tenantID, Scopes: []string{"usage:write"}})
	if err != nil {
		tg.t.Fatal(err)
	}
	return secret
}

// reporter returns a Reporter of cfg at tg, retrying after a millisecond
// or two, closed at the end of the test.
func (tg *tollgate) reporter(cfg Config) *Reporter {
	tg.t.Helper()
	cfg.URL, cfg.Log = tg.srv.URL, discard
	if cfg.Source == "" {
		cfg.Source = "//test"
	}
	if cfg.RetryMin == 0 {
		cfg.RetryMin, cfg.RetryMax = time.Millisecond, 2*time.Millisecond
	}
	r, err := New(cfg)
	if err != nil {
		tg.t.Fatal(err)
	}
	// A test that cares closes it itself; this one abandons what is left.
	tg.t.Cleanup(func() {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_ = r.Close(ctx)
	})
	return r
}

// total is a meter's value in tenantID over all time, read from the store.
func (tg *tollgate) total(tenantID, meter string, agg tgusage.Aggregation) float64 {
	tg.t.Helper()
	parts, err := tg.st.ReadUsage(context.Background(), tgusage.StoreQuery{
		TenantID: tenantID, Meter: meter, Aggregation: agg, FromMinute: 0, ToMinute: time.Now().Add(time.Hour).Unix() / 60})
	if err != nil {
		tg.t.Fatal(err)
	}
	sum := 0.0
	for _, p := range parts {
		sum += p.Value
	}
	return sum
}
