// Command agent-runtime is an example service of the ecosystem: it runs
// tools for agents. An agent calls it with its delegated token (obtained by
// token exchange, RFC 8693: it acts on behalf of a human), and every run is
// authorized by Tollgate's policies through sdk/pep before the tool runs.
//
//	POST /run     {tool, input} → {tool, output}: EXECUTE_TOOL on {type: tool, id: <tool>}
//	              (tool_agent: the agent is in the tool's allowed_agents and the human
//	              it acts for holds one of the tool's roles; tool_role for users)
//	GET  /healthz "ok", unauthenticated
//
// A deny is a 403 problem+json with the policies' reasons; Tollgate
// unavailable is a 503 — the runtime fails closed. The tools are fakes that
// echo their input. Each run is reported as one "usage.tool" event to a
// UsageReporter; until Tollgate's usage engine exists, LogReporter writes
// them to the log (stderr, JSON).
//
// Configuration as for the other examples (see examples/internal/seedsvc): TOLLGATE_URL,
// TOLLGATE_CLIENT_ID, TOLLGATE_CLIENT_SECRET, TOLLGATE_ISSUER,
// TOLLGATE_AUDIENCE, TOLLGATE_NATS_URL, TOLLGATE_NATS_PREFIX and LISTEN
// (default 127.0.0.1:8093).
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/tollgate/tollgate/examples/internal/seedsvc"
	"github.com/tollgate/tollgate/sdk/authn"
	"github.com/tollgate/tollgate/sdk/pep"
)

func main() {
	usage := &LogReporter{Log: slog.New(slog.NewJSONHandler(os.Stderr, nil))}
	err := seedsvc.Serve(context.Background(), "agent-runtime", "127.0.0.1:8093", os.Getenv, os.Stdout, os.Stderr,
		func(a *authn.Authenticator, pdp *pep.Client, _ *seedsvc.Registry) http.Handler {
			return (&server{Server: seedsvc.Server{PDP: pdp}, usage: usage}).routes(a.Middleware)
		})
	if err != nil {
		fmt.Fprintln(os.Stderr, "agent-runtime:", err)
		os.Exit(1)
	}
}

// UsageEvent is one metered run of a tool.
type UsageEvent struct {
	Type       string    `json:"type"` // "usage.tool"
	TenantID   string    `json:"tenant_id"`
	ActorID    string    `json:"actor_id"`               // the agent (or user) that ran the tool
	OnBehalfOf string    `json:"on_behalf_of,omitempty"` // the human a delegated agent acts for
	Tool       string    `json:"tool"`
	Units      int64     `json:"units"` // one per run
	Duration   float64   `json:"duration_seconds"`
	At         time.Time `json:"at"`
}

// UsageReporter receives one UsageEvent per completed run. It is the seam
// where Tollgate's usage engine will plug in; an error is logged and does
// not undo the run.
type UsageReporter interface {
	Report(ctx context.Context, e UsageEvent) error
}

// LogReporter reports usage events as "usage.tool" log records.
type LogReporter struct{ Log *slog.Logger }

func (l *LogReporter) Report(ctx context.Context, e UsageEvent) error {
	l.Log.InfoContext(ctx, e.Type, "tenant_id", e.TenantID, "actor_id", e.ActorID, "on_behalf_of", e.OnBehalfOf,
		"tool", e.Tool, "units", e.Units, "duration_seconds", e.Duration, "at", e.At)
	return nil
}

type server struct {
	seedsvc.Server
	usage UsageReporter
}

// routes serves /healthz openly and the API behind authenticate
// (authn's Middleware; tests put an actor in the context themselves).
func (s *server) routes(authenticate func(http.Handler) http.Handler) http.Handler {
	api := http.NewServeMux()
	api.HandleFunc("POST /run", s.run)
	root := http.NewServeMux()
	root.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	root.Handle("/", authenticate(api))
	return root
}

func (s *server) run(w http.ResponseWriter, r *http.Request) {
	ac, _ := authn.FromContext(r.Context())
	if ac.TenantID == "" {
		seedsvc.WriteProblem(w, http.StatusForbidden, "tenant_not_selected", "switch to a tenant first", nil)
		return
	}
	var in struct {
		Tool  string          `json:"tool"`
		Input json.RawMessage `json:"input"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&in); err != nil || in.Tool == "" {
		seedsvc.WriteProblem(w, http.StatusBadRequest, "invalid_body", "a run needs a tool", nil)
		return
	}
	ctx := pep.WithTraceparent(r.Context(), r.Header.Get(pep.TraceparentHeader))
	if !s.Check(w, r.WithContext(ctx), "EXECUTE_TOOL", pep.Resource{Type: "tool", ID: in.Tool}) {
		return
	}
	begin := time.Now()
	output := in.Input // the fake tool echoes its input
	if len(output) == 0 {
		output = json.RawMessage("null")
	}
	e := UsageEvent{Type: "usage.tool", TenantID: ac.TenantID, ActorID: ac.ActorID, OnBehalfOf: ac.OnBehalfOf,
		Tool: in.Tool, Units: 1, Duration: time.Since(begin).Seconds(), At: begin.UTC()}
	if err := s.usage.Report(ctx, e); err != nil {
		slog.ErrorContext(ctx, "agent-runtime: usage not reported", "tool", in.Tool, "err", err)
	}
	seedsvc.WriteJSON(w, http.StatusOK, map[string]any{"tool": in.Tool, "output": output})
}
