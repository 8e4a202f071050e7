package httpapi_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tollgate/tollgate/httpapi"
)

// logLines collects a server's JSON log lines.
type logLines struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logLines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// find returns the lines whose msg is msg and whose request_id is id.
func (l *logLines) find(t *testing.T, msg, id string) []map[string]any {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(l.buf.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if m["msg"] == msg && m["request_id"] == id {
			out = append(out, m)
		}
	}
	return out
}

// TestDecisionsNameTheirRequest: a decision asked over HTTP is recorded
// (decision log line, authz.decision audit event) with the request id,
// trace id, tenant and actor of the request that asked, and the request's
// access line names them too.
func TestDecisionsNameTheirRequest(t *testing.T) {
	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	traceparent := "00-" + traceID + "-00f067aa0ba902b7-01"
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			t.Parallel()
			logs := &logLines{}
			cfg := testConfig(t)
			cfg.DecisionLogLines, cfg.AccessLogPercent = true, 100
			mk := make([]byte, 32)
			_, _ = rand.Read(mk)
			log := slog.New(httpapi.LogHandler{Handler: slog.NewJSONHandler(logs, nil)})
			ts := startLoggingTestServer(t, be.open(t), cfg, mk, log)
			pw := newPolicyWorld(t, ts)
			w := pw.world
			member := w.member.ActorID()
			for _, c := range []struct {
				name, path, token, requestID, traceparent string
				body                                      map[string]any
				status                                    int
				// What the lines must name; trace "" must be absent.
				actor, tenant, trace string
				// decided: the request's decision is logged and audited.
				decided bool
			}{
				{"a member", "/v1/authorize", w.memberTok, "obs-member", traceparent,
					ask("MANAGE", "channel", seedChannel), http.StatusOK, member, w.tenantA, traceID, true},
				{"a service, naming the tenant", "/v1/authorize", pw.checker, "obs-service", traceparent,
					ask("MANAGE", "channel", seedChannel, "tenant_id", w.tenantA, "principal", member), http.StatusOK, "service:messaging", w.tenantA, traceID, true},
				{"a malformed traceparent", "/v1/authorize", w.memberTok, "obs-no-trace", "00-" + traceID + "-nothex",
					ask("MANAGE", "channel", seedChannel), http.StatusOK, member, w.tenantA, "", true},
				// A lookup evaluates, but decides and records nothing.
				{"a service's lookup", "/v1/authorize/lookup", pw.checker, "obs-lookup", traceparent,
					map[string]any{"tenant_id": w.tenantA, "principal": member, "action": "READ", "resource_type": "channel"},
					http.StatusOK, "service:messaging", w.tenantA, traceID, false},
				{"another tenant", "/v1/authorize", w.outBTok, "obs-other-tenant", traceparent,
					ask("READ", "channel", seedChannel, "tenant_id", w.tenantA), http.StatusNotFound, w.outB.ActorID(), w.tenantB, traceID, false},
			} {
				t.Run(c.name, func(t *testing.T) {
					r := ts.send("POST", c.path, http.Header{
						"Authorization": {"Bearer " + c.token}, "X-Request-Id": {c.requestID}, "Traceparent": {c.traceparent},
					}, c.body)
					if r.status != c.status {
						t.Fatalf("status %d: %s", r.status, r.raw)
					}
					names := func(what string, m map[string]any, tenant string) {
						t.Helper()
						trace, traced := m["trace_id"]
						if m["actor_id"] != c.actor || m["tenant_id"] != tenant || (c.trace == "" && traced) || (c.trace != "" && trace != c.trace) {
							t.Fatalf("%s names actor %v, tenant %v, trace %v; want %q, %q, %q", what, m["actor_id"], m["tenant_id"], trace, c.actor, tenant, c.trace)
						}
					}
					access := logs.find(t, "request", c.requestID)
					if len(access) != 1 {
						t.Fatalf("%d access lines", len(access))
					}
					names("the access line", access[0], c.tenant)

					// The decision log writes its lines from its own
					// goroutine: wait for the line, not for a time.
					var decision []map[string]any
					for deadline := time.Now().Add(5 * time.Second); c.decided && len(decision) == 0 && time.Now().Before(deadline); {
						time.Sleep(5 * time.Millisecond)
						decision = logs.find(t, "decision", c.requestID)
					}
					ts.app.FlushAudit(context.Background())
					var events []map[string]any
					for _, e := range ts.do("GET", "/v1/audit?action=authz.decision&tenant_id="+w.tenantA, w.ownerTok, nil).items() {
						if e["request_id"] == c.requestID {
							events = append(events, e)
						}
					}
					if !c.decided {
						if len(decision)+len(events) != 0 {
							t.Fatalf("recorded as a decision: %v %v", decision, events)
						}
						return
					}
					if len(decision) != 1 || len(events) != 1 {
						t.Fatalf("%d decision lines and %d audit events", len(decision), len(events))
					}
					names("the decision line", decision[0], w.tenantA)
					names("the audit event", events[0], w.tenantA)
				})
			}
		})
	}
}

// TestDecisionMetrics: /metrics counts the decisions made over HTTP by
// outcome and reason class, and times them.
func TestDecisionMetrics(t *testing.T) {
	forEachBackend(t, func(t *testing.T, ts *testServer) {
		pw := newPolicyWorld(t, ts)
		w := pw.world
		for _, q := range []map[string]any{
			ask("SEND_MESSAGE", "channel", seedChannel),
			ask("READ", "channel", seedChannel),
			ask("MANAGE", "channel", seedChannel),
			ask("NO_SUCH_ACTION", "channel", seedChannel),
		} {
			authz(t, ts, w.memberTok, q)
		}
		expect(t, ts.do("POST", "/v1/authorize/batch", pw.checker, map[string]any{"tenant_id": w.tenantA, "requests": []any{
			ask("READ", "channel", seedChannel, "principal", w.member.ActorID()),
			ask("MANAGE", "channel", seedChannel, "principal", w.member.ActorID()),
		}}), http.StatusOK, "")
		r := ts.do("GET", "/metrics", "", nil)
		expect(t, r, http.StatusOK, "")
		for _, want := range []string{
			`tollgate_decisions_total{outcome="permit",reason_class="policy"} 3`,
			`tollgate_decisions_total{outcome="deny",reason_class="default_deny"} 2`,
			`tollgate_decisions_total{outcome="deny",reason_class="invalid_request"} 1`,
			`tollgate_decisions_total{outcome="deny",reason_class="unavailable"} 0`,
			`tollgate_decision_duration_seconds_count 6`,
		} {
			if !strings.Contains(string(r.raw), want+"\n") {
				t.Errorf("/metrics lacks %s", want)
			}
		}
	})
}
