package httpapi_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"

	"github.com/tollgate/tollgate/app"
	"github.com/tollgate/tollgate/config"
	"github.com/tollgate/tollgate/httpapi"
	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/store/sqlite/sqlitetest"
)

// BenchmarkAuthorizeAudited measures POST /v1/authorize in process on
// SQLite with decision auditing off (audit_decisions false) and on at the
// default 1 % of permits and every deny. The member asks in turn nine
// permitted questions (SEND_MESSAGE to a channel they are in) and one
// denied (DELETE of a channel), so 10.9 % of decisions become events on
// the audit queue, and the writer appends them while the benchmark runs.
// It reports CPU time per request (user + system, the whole process, the
// writer included) besides wall time.
func BenchmarkAuthorizeAudited(b *testing.B) {
	for _, c := range []struct {
		name string
		on   bool
	}{{"audit=off", false}, {"audit=on", true}} {
		b.Run(c.name, func(b *testing.B) {
			cfg := testConfig(b)
			cfg.AuditDecisions = c.on
			cfg.DecisionLogPermitPercent = 1
			log := slog.New(httpapi.LogHandler{Handler: slog.NewJSONHandler(io.Discard, nil)})
			az := newAuthorizeBench(b, cfg, log)
			a, run := az.app, az.run
			if c.on {
				// The mix is what the benchmark says: 9 permits, 1 deny.
				a.FlushAudit(context.Background())
				r := az.ts.do("GET", "/v1/audit?action=authz.decision&outcome=denied&tenant_id="+az.tenantID, az.ownerTok, nil)
				if len(r.items()) != 1 {
					b.Fatalf("denies recorded: %s", r.raw)
				}
			}
			a.FlushAudit(context.Background())
			cpu0 := cpuTime()
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					if code := run(i); code != http.StatusOK {
						b.Errorf("status %d", code)
						return
					}
					i++
				}
			})
			// The writer's work is part of the cost: flush it inside the
			// measurement.
			a.FlushAudit(context.Background())
			b.StopTimer()
			b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
		})
	}
}

// authorizeBench is a member of a tenant asking POST /v1/authorize in
// process, in turn nine permitted questions (SEND_MESSAGE to a channel
// they are in) and one denied (DELETE of the channel).
type authorizeBench struct {
	app      *app.App
	ts       *testServer
	tenantID string
	ownerTok string
	// run asks question i%10 and returns the status.
	run func(i int) int
}

// newAuthorizeBench starts an app with cfg and log on SQLite, with rate
// limits counted, as in production, but never reached (bench/lib.sh), and
// warms the snapshot and the token cache.
func newAuthorizeBench(b *testing.B, cfg config.Config, log *slog.Logger) *authorizeBench {
	b.Helper()
	cfg.RateLimitIP, cfg.RateLimitTenant, cfg.RateLimitActor = "1000000000/1h", "1000000000/1h", "1000000000/1h"
	mk := make([]byte, 32)
	_, _ = rand.Read(mk)
	a, err := app.New(context.Background(), cfg, sqlitetest.Open(b), mk, log)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = a.Close(context.Background()) })
	hs := httptest.NewServer(a.API)
	b.Cleanup(hs.Close)
	ts := &testServer{t: b, app: a, url: hs.URL}
	ctx := context.Background()
	owner, member := ts.user("owner@bench.example", false), ts.user("member@bench.example", false)
	tn, err := a.Identity.CreateTenant(ctx, owner.ActorID(), identity.NewTenant{Slug: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := a.Identity.AddMember(ctx, identity.Caller{ActorID: owner.ActorID()}, tn.ID,
		identity.NewMember{ActorID: member.ActorID(), Roles: []string{identity.RoleMember}}); err != nil {
		b.Fatal(err)
	}
	ownerTok := ts.login(owner.Email, tn.ID).str("access_token")
	memberTok := ts.login(member.Email, tn.ID).str("access_token")
	if r := ts.do("POST", "/v1/tenants/"+tn.ID+"/resources:batch", ownerTok, map[string]any{"resources": []any{
		map[string]any{"type": "channel", "id": "general", "attrs": map[string]any{"members": []string{member.ActorID()}}},
	}}); r.status != http.StatusOK {
		b.Fatalf("registering the channel: %d %s", r.status, r.raw)
	}
	bodies := make([][]byte, 10)
	for i := range bodies {
		q := ask("SEND_MESSAGE", "channel", "general")
		if i == 9 {
			q = ask("DELETE", "channel", "general")
		}
		bodies[i], _ = json.Marshal(q)
	}
	run := func(i int) int {
		req := httptest.NewRequest("POST", "/v1/authorize", bytes.NewReader(bodies[i%10]))
		req.Header.Set("Authorization", "Bearer "+memberTok)
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		a.API.ServeHTTP(rec, req)
		return rec.Code
	}
	for i := range 10 {
		if code := run(i); code != http.StatusOK {
			b.Fatalf("status %d", code)
		}
	}
	return &authorizeBench{app: a, ts: ts, tenantID: tn.ID, ownerTok: ownerTok, run: run}
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
