package httpapi_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/tollgate/tollgate/app"
	"github.com/tollgate/tollgate/store/postgres"
	"github.com/tollgate/tollgate/store/postgres/pgtest"
)

// propagationNATSEnv names the NATS server the propagation tests use, as in bus/nats.
const propagationNATSEnv = "TOLLGATE_TEST_NATS_URL"

// propagationDeadline bounds how long a revocation may take to reach the
// other replica over NATS. It is a ceiling for a loaded machine, not a
// latency target: TestMeasureRevocationPropagation measures the latency.
const propagationDeadline = 5 * time.Second

// natsReplicas builds two replicas as production runs them: one PostgreSQL
// schema with a store connection each, one master key, one NATS prefix
// (random, so that parallel tests and runs stay apart). Neither runs the
// background loops, so the only way replica two learns of a revocation
// made on replica one is the bus.
func natsReplicas(t testing.TB) (one, two *testServer) {
	t.Helper()
	natsURL, pgURL := os.Getenv(propagationNATSEnv), os.Getenv(pgtest.EnvURL)
	if natsURL == "" || pgURL == "" {
		t.Skip(propagationNATSEnv + " and " + pgtest.EnvURL + " must both be set: skipping revocation propagation over NATS")
	}
	dsn, err := pgtest.WithSearchPath(pgURL, pgtest.NewSchema(t, pgURL))
	if err != nil {
		t.Fatal(err)
	}
	mk := make([]byte, 32)
	_, _ = rand.Read(mk)
	prefix := make([]byte, 8)
	_, _ = rand.Read(prefix)
	replica := func(migrate bool) *testServer {
		ctx := context.Background()
		st, err := postgres.Open(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = st.Close() })
		if migrate {
			if err := st.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
		}
		cfg := testConfig(t)
		cfg.NATSURL, cfg.NATSPrefix = natsURL, "test"+hex.EncodeToString(prefix)
		a, err := app.New(ctx, cfg, st, mk, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := a.Close(context.Background()); err != nil {
				t.Errorf("closing a replica: %v", err)
			}
		})
		hs := httptest.NewServer(a.API)
		t.Cleanup(hs.Close)
		return &testServer{t: t, app: a, url: hs.URL, masterKey: mk, store: st}
	}
	return replica(true), replica(false)
}

// withinPropagation polls check until it returns true or the deadline passes.
func withinPropagation(t *testing.T, what string, check func() bool) {
	t.Helper()
	deadline := time.Now().Add(propagationDeadline)
	for !check() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, propagationDeadline)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// refusedBy returns a check that replica ts answers GET /v1/auth/me with
// credential by status and code; it fails the test on any answer but that
// and 200.
func refusedBy(t *testing.T, ts *testServer, credential string, status int, code string) func() bool {
	return func() bool {
		t.Helper()
		r := ts.do("GET", "/v1/auth/me", credential, nil)
		if r.status == http.StatusOK {
			return false
		}
		expect(t, r, status, code)
		return true
	}
}

// readKey is the body of a request for an API key that can read its tenant.
func readKey(name string) map[string]any {
	return map[string]any{"name": name, "scopes": []string{"tenant:read"}}
}

// TestRevocationPropagation: what is revoked on one replica is refused by
// the other within seconds, through NATS alone.
func TestRevocationPropagation(t *testing.T) {
	one, two := natsReplicas(t)
	w := newWorld(t, one)

	t.Run("API key revoked", func(t *testing.T) {
		id, key := createKey(t, one, w.memberTok, readKey("revoked"))
		// Replica two has the key in its cache before the revocation.
		expect(t, two.do("GET", "/v1/auth/me", key, nil), http.StatusOK, "")
		expect(t, one.do("DELETE", "/v1/api-keys/"+id, w.memberTok, nil), http.StatusNoContent, "")
		withinPropagation(t, "replica two refuses the revoked key", refusedBy(t, two, key, http.StatusUnauthorized, "api_key_revoked"))
	})

	t.Run("session logged out", func(t *testing.T) {
		tok := one.login(w.member.Email, w.tenantA).str("access_token")
		expect(t, two.do("GET", "/v1/auth/me", tok, nil), http.StatusOK, "")
		expect(t, one.do("POST", "/v1/auth/logout", tok, nil), http.StatusNoContent, "")
		withinPropagation(t, "replica two refuses the logged-out session", refusedBy(t, two, tok, http.StatusUnauthorized, "token_revoked"))
	})

	t.Run("tenant suspended", func(t *testing.T) {
		_, key := createKey(t, one, w.outBTok, readKey("suspended"))
		for _, cred := range []string{w.outBTok, key} {
			expect(t, two.do("GET", "/v1/auth/me", cred, nil), http.StatusOK, "")
		}
		_, rootTok := one.platformAdmin("root@platform.example")
		expect(t, one.do("PATCH", "/v1/tenants/"+w.tenantB, rootTok, map[string]string{"status": "suspended"}), http.StatusOK, "")
		withinPropagation(t, "replica two refuses the suspended tenant's token", refusedBy(t, two, w.outBTok, http.StatusForbidden, "tenant_suspended"))
		expect(t, two.do("GET", "/v1/auth/me", key, nil), http.StatusForbidden, "tenant_suspended")
		// Tenant A is not affected.
		expect(t, two.do("GET", "/v1/auth/me", w.memberTok, nil), http.StatusOK, "")
	})
}

// TestMeasureRevocationPropagation measures, for 200 API keys each cached
// on replica two, the time from the revoke response on replica one to the
// first refusal on replica two, which is polled in a tight loop in process.
// It runs only with TOLLGATE_MEASURE=1 (see BENCHMARKS.md):
//
//	TOLLGATE_MEASURE=1 go test -run TestMeasureRevocationPropagation -v ./httpapi
func TestMeasureRevocationPropagation(t *testing.T) {
	if os.Getenv("TOLLGATE_MEASURE") != "1" {
		t.Skip("a measurement: set TOLLGATE_MEASURE=1 to run it")
	}
	one, two := natsReplicas(t)
	w := newWorld(t, one)
	const n = 200
	fromResponse := make([]time.Duration, 0, n)
	fromRequest := make([]time.Duration, 0, n)
	for i := range n {
		id, key := createKey(t, one, w.ownerTok, readKey(fmt.Sprintf("measured-%d", i)))
		req := httptest.NewRequest("GET", "/v1/auth/me", nil)
		req.Header.Set("Authorization", "Bearer "+key)
		status := func() int {
			rec := httptest.NewRecorder()
			two.app.API.ServeHTTP(rec, req)
			return rec.Code
		}
		if got := status(); got != http.StatusOK {
			t.Fatalf("key %d: status %d before the revocation", i, got)
		}
		sent := time.Now()
		expect(t, one.do("DELETE", "/v1/api-keys/"+id, w.ownerTok, nil), http.StatusNoContent, "")
		answered := time.Now()
		for {
			got := status()
			if got == http.StatusUnauthorized {
				break
			}
			if got != http.StatusOK {
				t.Fatalf("key %d: status %d while waiting for the revocation", i, got)
			}
			if time.Since(answered) > propagationDeadline {
				t.Fatalf("key %d: still accepted %v after the revocation", i, propagationDeadline)
			}
		}
		refused := time.Now()
		fromResponse = append(fromResponse, refused.Sub(answered))
		fromRequest = append(fromRequest, refused.Sub(sent))
	}
	report := func(what string, d []time.Duration) {
		slices.Sort(d)
		// Nearest-rank percentiles.
		pct := func(p int) time.Duration { return d[(p*len(d)+99)/100-1] }
		t.Logf("%s over %d revocations: p50 %v, p99 %v, max %v", what, len(d), pct(50), pct(99), d[len(d)-1])
	}
	report("revoke response on one → first refusal on two", fromResponse)
	report("revoke request sent to one → first refusal on two", fromRequest)
}
