package pep

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
	"time"

	"github.com/tollgate/tollgate/app"
	"github.com/tollgate/tollgate/bus"
	"github.com/tollgate/tollgate/config"
	"github.com/tollgate/tollgate/event"
	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/policy"
	"github.com/tollgate/tollgate/serviceaccount"
	"github.com/tollgate/tollgate/store/sqlite/sqlitetest"
)

var (
	ctx     = context.Background()
	discard = slog.New(slog.DiscardHandler)
)

// tollgate is a real Tollgate, assembled by app.New over SQLite and served
// over HTTP on 127.0.0.1, with one tenant: alice is listed in the members
// of its channel "general", bob is not.
type tollgate struct {
	t     testing.TB
	app   *app.App
	srv   *httptest.Server
	admin identity.ActorContext

	tenant        string
	alice, bob    string // actor ids
	otherTenant   string
	serviceID     string
	serviceSecret string
}

func testConfig(t testing.TB) config.Config {
	t.Helper()
	cfg := config.Defaults()
	cfg.DataDir = t.TempDir()
	cfg.Argon2MemoryKiB, cfg.Argon2Iterations = 64, 1
	cfg.RateLimitIP, cfg.RateLimitLogin, cfg.RateLimitLoginAccount = "100000/1h", "100000/1h", "100000/1h"
	cfg.RateLimitToken, cfg.RateLimitTenant, cfg.RateLimitActor = "100000/1h", "100000/1h", "100000/1h"
	cfg.Issuer = "http://tollgate.test"
	return cfg
}

func newTollgate(t testing.TB) *tollgate {
	t.Helper()
	masterKey := make([]byte, 32)
	_, _ = rand.Read(masterKey)
	a, err := app.New(ctx, testConfig(t), sqlitetest.Open(t), masterKey, discard)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := a.Close(ctx); err != nil {
			t.Errorf("closing the app: %v", err)
		}
	})
	tg := &tollgate{t: t, app: a}
	tg.srv = httptest.NewServer(a.API)
	t.Cleanup(tg.srv.Close)

	root, err := a.Identity.CreateUser(ctx, identity.NewUser{Email: "root@platform.example", PlatformAdmin: true})
	if err != nil {
		t.Fatal(err)
	}
	tg.admin = identity.ActorContext{ActorID: root.ActorID(), ActorType: identity.ActorHuman, Credential: identity.CredentialSession}
	tg.tenant = tg.newTenant("acme")
	tg.otherTenant = tg.newTenant("globex")
	tg.alice = tg.user("alice@acme.example")
	tg.bob = tg.user("bob@acme.example")
	tg.channel("general", tg.alice)
	tg.serviceID, tg.serviceSecret = tg.service("pep-test", serviceaccount.ScopeAuthzCheck)
	return tg
}

func (tg *tollgate) newTenant(slug string) string {
	tg.t.Helper()
	tn, err := tg.app.Identity.CreateTenant(ctx, tg.admin.ActorID, identity.NewTenant{Slug: slug})
	if err != nil {
		tg.t.Fatal(err)
	}
	return tn.ID
}

func (tg *tollgate) user(email string) string {
	tg.t.Helper()
	u, err := tg.app.Identity.CreateUser(ctx, identity.NewUser{Email: email})
	if err != nil {
		tg.t.Fatal(err)
	}
	return u.ActorID()
}

// channel registers (or replaces) a channel of the tenant with members.
func (tg *tollgate) channel(id string, members ...string) {
	tg.t.Helper()
	ms := make([]any, len(members))
	for i, m := range members {
		ms[i] = m
	}
	_, err := tg.app.Policy.PutResources(ctx, tg.admin, tg.tenant, []policy.Resource{{
		Type: "channel", ID: id, Attrs: map[string]any{"members": ms},
	}})
	if err != nil {
		tg.t.Fatal(err)
	}
}

func (tg *tollgate) service(name string, scopes ...string) (id, secret string) {
	tg.t.Helper()
	svc, secret, err := tg.app.Services.Register(ctx, tg.admin, serviceaccount.NewService{Name: name, Scopes: scopes, Tenants: []string{identity.Everything}})
	if err != nil {
		tg.t.Fatal(err)
	}
	return svc.ID, secret
}

// transport counts the calls to /v1/authorize*, remembers their
// traceparent, can hold them until released and can fail them as if
// Tollgate were unreachable.
type transport struct {
	authorize atomic.Int32
	down      atomic.Bool

	mu          sync.Mutex
	traceparent []string
	// gate, when set, holds every authorize call until it is closed.
	gate chan struct{}
	// respond, when set, answers authorize calls instead of Tollgate when
	// it returns a response.
	respond func(n int32) *http.Response
}

var errDown = errors.New("connection refused (test)")

func (tr *transport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Path == "/v1/authorize" || r.URL.Path == "/v1/authorize/batch" {
		if tr.down.Load() {
			return nil, errDown
		}
		n := tr.authorize.Add(1)
		tr.mu.Lock()
		tr.traceparent = append(tr.traceparent, r.Header.Get(TraceparentHeader))
		gate, respond := tr.gate, tr.respond
		tr.mu.Unlock()
		if gate != nil {
			<-gate
		}
		if respond != nil {
			if resp := respond(n); resp != nil {
				resp.Request = r
				return resp, nil
			}
		}
	}
	return http.DefaultTransport.RoundTrip(r)
}

func (tr *transport) hold() chan struct{} {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.gate = make(chan struct{})
	return tr.gate
}

// answer makes a canned response.
func answer(status int, body string) *http.Response {
	return &http.Response{StatusCode: status, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(strings.NewReader(body)), ContentLength: int64(len(body))}
}

func (tr *transport) traceparents() []string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return append([]string(nil), tr.traceparent...)
}

// client returns a Client of the test service calling through a new
// transport; adjust edits its Config first.
func (tg *tollgate) client(adjust func(*Config)) (*Client, *transport) {
	tg.t.Helper()
	tr := &transport{}
	cfg := Config{URL: tg.srv.URL, ClientID: tg.serviceID, ClientSecret: tg.serviceSecret,
		HTTPClient: &http.Client{Transport: tr}, Log: discard}
	if adjust != nil {
		adjust(&cfg)
	}
	c, err := New(ctx, cfg)
	if err != nil {
		tg.t.Fatal(err)
	}
	tg.t.Cleanup(c.Close)
	return c, tr
}

// clock is a controllable time.
type clock struct{ ns atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.ns.Store(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	return c
}

func (c *clock) now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *clock) advance(d time.Duration) { c.ns.Add(int64(d)) }

// publish sends kind events about id on b and waits until c applied them:
// the Local bus delivers asynchronously.
func publish(t testing.TB, b bus.Bus, c *Client, kind, id string) {
	t.Helper()
	publishEvent(t, b, c, event.Event{Kind: kind, ID: id, At: time.Now()}, id)
}

// publishEvent publishes e and waits until the generations of tenant
// (or all) move.
func publishEvent(t testing.TB, b bus.Bus, c *Client, e event.Event, tenant string) {
	t.Helper()
	t0, g0 := c.gens.of(tenant)
	if err := event.Publish(ctx, b, e); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		if t1, g1 := c.gens.of(tenant); t1 != t0 || g1 != g0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the %s event was not applied", e.Kind)
		}
		time.Sleep(time.Millisecond)
	}
}

func (tg *tollgate) req(principal, action, channel string) Request {
	return Request{TenantID: tg.tenant, Principal: principal, Action: action, Resource: Resource{Type: "channel", ID: channel}}
}

func fmtDecision(d Decision) string { return fmt.Sprintf("%+v", d) }

// slogJSON logs at debug level to w as JSON lines without the time.
func slogJSON(w io.Writer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{
		Level: slog.LevelDebug,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey && len(groups) == 0 {
				return slog.Attr{}
			}
			return a
		},
	}))
}
