package main

import (
	"context"
	"crypto/rand"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tollgate/tollgate/app"
	"github.com/tollgate/tollgate/config"
	"github.com/tollgate/tollgate/examples/internal/seedsvc"
	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/sdk/authn"
	"github.com/tollgate/tollgate/sdk/pep"
	"github.com/tollgate/tollgate/serviceaccount"
	"github.com/tollgate/tollgate/store/sqlite/sqlitetest"
)

// BenchmarkSendMessage measures POST /channels/{id}/messages against a real
// Tollgate in process: without enforcement, with pep.Require and its
// decision cache (the default), and with the cache off (one decision from
// Tollgate per message). Authentication is left out (the actor is put in
// the context) so that the numbers isolate enforcement. msgs/s is over all
// of -cpu's goroutines; compare the variants of one run.
func BenchmarkSendMessage(b *testing.B) {
	ctx := context.Background()
	cfg := config.Defaults()
	cfg.DataDir = b.TempDir()
	cfg.Argon2MemoryKiB, cfg.Argon2Iterations = 64, 1
	mk := make([]byte, 32)
	_, _ = rand.Read(mk)
	a, err := app.New(ctx, cfg, sqlitetest.Open(b), mk, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer a.Close(ctx)
	tg := httptest.NewServer(a.API)
	defer tg.Close()

	root, err := a.Identity.CreateUser(ctx, identity.NewUser{Email: "root@example.com", PlatformAdmin: true})
	if err != nil {
		b.Fatal(err)
	}
	admin := identity.ActorContext{ActorID: root.ActorID(), ActorType: identity.ActorHuman, Credential: identity.CredentialSession}
	tenant, err := a.Identity.CreateTenant(ctx, root.ActorID(), identity.NewTenant{Slug: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	member, err := a.Identity.CreateUser(ctx, identity.NewUser{Email: "member@example.com"})
	if err != nil {
		b.Fatal(err)
	}
	svc, secret, err := a.Services.Register(ctx, admin, serviceaccount.NewService{Name: "messaging", Scopes: []string{serviceaccount.ScopeAuthzCheck, serviceaccount.ScopeAuthzWrite}, Tenants: []string{identity.Everything}})
	if err != nil {
		b.Fatal(err)
	}
	reg := seedsvc.NewRegistry(tg.URL, svc.ID, secret)
	if err := reg.Put(ctx, tenant.ID, "channel", "general", map[string]any{"members": []any{member.ActorID()}}); err != nil {
		b.Fatal(err)
	}
	ac := identity.ActorContext{ActorID: member.ActorID(), ActorType: identity.ActorHuman, TenantID: tenant.ID, Credential: identity.CredentialSession}
	asMember := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			next.ServeHTTP(w, r.WithContext(authn.NewContext(r.Context(), ac)))
		})
	}

	for _, v := range []struct {
		name     string
		enforce  bool
		cacheTTL time.Duration
	}{{"off", false, 0}, {"on-cached", true, 0}, {"on-uncached", true, -1}} {
		b.Run(v.name, func(b *testing.B) {
			pdp, err := pep.New(ctx, pep.Config{URL: tg.URL, ClientID: svc.ID, ClientSecret: secret, CacheTTL: v.cacheTTL})
			if err != nil {
				b.Fatal(err)
			}
			defer pdp.Close()
			s := &server{Server: seedsvc.Server{PDP: pdp}, registry: reg, channels: map[key]*channel{
				{tenant.ID, "general"}: {Name: "general", Members: []string{member.ActorID()}, Managers: []string{}},
			}}
			var h http.Handler = s.routes(asMember)
			if !v.enforce {
				mux := http.NewServeMux()
				mux.HandleFunc("POST /channels/{id}/messages", s.sendMessage)
				h = asMember(mux)
			}
			post := func() int {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest("POST", "/channels/general/messages", strings.NewReader(`{"text":"hello"}`)))
				return rec.Code
			}
			if code := post(); code != http.StatusCreated {
				b.Fatalf("status %d", code)
			}
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if code := post(); code != http.StatusCreated {
						b.Errorf("status %d", code)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
		})
	}
}
