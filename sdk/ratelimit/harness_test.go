package ratelimit

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/tollgate/tollgate/app"
	"github.com/tollgate/tollgate/config"
	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/serviceaccount"
	"github.com/tollgate/tollgate/store"
	"github.com/tollgate/tollgate/store/sqlite/sqlitetest"
)

// testLimits are the named limits of the test Tollgate: GCRA, so that an
// hour-long period refills nothing within a test.
const testLimits = "messages=3/1h, pair=2/1h"

var (
	ctx     = context.Background()
	discard = slog.New(slog.DiscardHandler)
)

// tollgate is a real Tollgate, assembled by app.New over SQLite and served
// over HTTP on 127.0.0.1. The handler behind the listener can be swapped
// for another replica's, and held (see hold).
type tollgate struct {
	t   testing.TB
	app *app.App
	srv *httptest.Server
	// handler serves the listener's requests.
	handler atomic.Pointer[http.Handler]
	// held, when true, keeps requests waiting until the client gives up.
	held atomic.Bool
	// stop releases held requests at the end of the test.
	stop      chan struct{}
	st        store.Store
	masterKey []byte
	admin     identity.ActorContext
}

// testConfig is the default configuration with cheap password hashing,
// Tollgate's own tiers out of the way and the test limits.
func testConfig(t testing.TB, issuer string) config.Config {
	t.Helper()
	cfg := config.Defaults()
	cfg.DataDir = t.TempDir()
	cfg.Argon2MemoryKiB, cfg.Argon2Iterations = 64, 1
	cfg.RateLimitIP, cfg.RateLimitLogin, cfg.RateLimitLoginAccount = "100000/1h", "100000/1h", "100000/1h"
	cfg.RateLimitToken, cfg.RateLimitTenant, cfg.RateLimitActor = "100000/1h", "100000/1h", "100000/1h"
	cfg.RateLimits = testLimits
	cfg.Issuer = issuer
	return cfg
}

func newTollgate(t testing.TB) *tollgate {
	t.Helper()
	tg := &tollgate{t: t, st: sqlitetest.Open(t), masterKey: make([]byte, 32), stop: make(chan struct{})}
	_, _ = rand.Read(tg.masterKey)
	tg.app = tg.replica("http://tollgate.test")
	tg.serve(tg.app.API)
	tg.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if tg.held.Load() {
			// The server notices the client leaving once the body is read.
			_, _ = io.Copy(io.Discard, r.Body)
			select {
			case <-r.Context().Done():
			case <-tg.stop:
			}
			return
		}
		(*tg.handler.Load()).ServeHTTP(w, r)
	}))
	t.Cleanup(tg.srv.Close)
	t.Cleanup(func() { close(tg.stop) }) // before srv.Close

	// A platform admin, in a session, may register services.
	u, err := tg.app.Identity.CreateUser(ctx, identity.NewUser{Email: "root@platform.example", PlatformAdmin: true})
	if err != nil {
		t.Fatal(err)
	}
	tg.admin = identity.ActorContext{ActorID: u.ActorID(), ActorType: identity.ActorHuman, Credential: identity.CredentialSession}
	return tg
}

// replica assembles a Tollgate over tg's store and master key, closed with
// the test; issuer is the iss of the access tokens it issues and accepts.
func (tg *tollgate) replica(issuer string) *app.App {
	tg.t.Helper()
	a, err := app.New(ctx, testConfig(tg.t, issuer), tg.st, tg.masterKey, discard)
	if err != nil {
		tg.t.Fatal(err)
	}
	tg.t.Cleanup(func() {
		if err := a.Close(ctx); err != nil {
			tg.t.Errorf("closing the app: %v", err)
		}
	})
	return a
}

// serve makes h answer tg's requests.
func (tg *tollgate) serve(h http.Handler) { tg.handler.Store(&h) }

// service registers a service with scopes and returns its id and secret.
func (tg *tollgate) service(name string, scopes ...string) (id, secret string) {
	tg.t.Helper()
	svc, secret, err := tg.app.Services.Register(ctx, tg.admin, serviceaccount.NewService{Name: name, Scopes: scopes, Tenants: []string{identity.Everything}})
	if err != nil {
		tg.t.Fatal(err)
	}
	return svc.ID, secret
}

// tenant creates a tenant owned by the admin and returns its id.
func (tg *tollgate) tenant(slug string) string {
	tg.t.Helper()
	tn, err := tg.app.Identity.CreateTenant(ctx, tg.admin.ActorID, identity.NewTenant{Slug: slug})
	if err != nil {
		tg.t.Fatal(err)
	}
	return tn.ID
}

// recorder is a transport noting every call to Tollgate as "POST
// /oauth/token 200".
type recorder struct {
	mu    sync.Mutex
	calls []string
}

func (rec *recorder) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	status := "error"
	if err == nil {
		status = fmt.Sprint(resp.StatusCode)
	}
	rec.mu.Lock()
	rec.calls = append(rec.calls, r.Method+" "+r.URL.Path+" "+status)
	rec.mu.Unlock()
	return resp, err
}

// take returns the calls so far and forgets them.
func (rec *recorder) take() []string {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	calls := rec.calls
	rec.calls = nil
	return calls
}

// client returns a Client of a new service holding ratelimit:check,
// calling tg through rec when not nil.
func (tg *tollgate) client(rec *recorder) *Client {
	tg.t.Helper()
	id, secret := tg.service(fmt.Sprintf("svc-%d", serviceSeq.Add(1)), serviceaccount.ScopeRateLimitCheck)
	return tg.clientFor(id, secret, rec)
}

var serviceSeq atomic.Int32

func (tg *tollgate) clientFor(id, secret string, rec *recorder) *Client {
	tg.t.Helper()
	hc := tg.srv.Client()
	if rec != nil {
		hc = &http.Client{Transport: rec}
	}
	c, err := New(Config{URL: tg.srv.URL, ClientID: id, ClientSecret: secret, HTTPClient: hc, Log: discard})
	if err != nil {
		tg.t.Fatal(err)
	}
	return c
}

// wantError asserts err is an *Error with status and code, which matches
// ErrUnavailable only for a 5xx or 429.
func wantError(t testing.TB, err error, status int, code string) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) || e.Status != status || e.Code != code {
		t.Fatalf("got %v, want %d %s", err, status, code)
	}
	if errors.Is(err, ErrUnavailable) != (status >= 500 || status == http.StatusTooManyRequests) {
		t.Fatalf("%v: errors.Is(ErrUnavailable) is %v", err, errors.Is(err, ErrUnavailable))
	}
	if e.Detail == "" || !strings.Contains(err.Error(), code) {
		t.Fatalf("error %q without its detail or code", err)
	}
}

// wantUnavailable asserts err matches ErrUnavailable and is no *Error.
func wantUnavailable(t testing.TB, err error) {
	t.Helper()
	var e *Error
	if !errors.Is(err, ErrUnavailable) || errors.As(err, &e) {
		t.Fatalf("got %v, want ErrUnavailable", err)
	}
}
