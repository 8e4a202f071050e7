// This file is the same in every example service (messaging, toolcore,
// agent-runtime), but for the registry client, which the agent runtime
// does not need: configuration, startup and the few calls to Tollgate
// that sdk/authn and sdk/pep do not make.

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/tollgate/tollgate/bus"
	"github.com/tollgate/tollgate/bus/nats"
	"github.com/tollgate/tollgate/sdk/authn"
	"github.com/tollgate/tollgate/sdk/pep"
)

// serve reads the configuration from the environment, connects to
// Tollgate and serves routes until SIGINT or SIGTERM.
func serve(ctx context.Context, name, defaultListen string, getenv func(string) string, stdout, stderr io.Writer,
	routes func(*authn.Authenticator, *pep.Client, *registry) http.Handler) error {
	envOr := func(key, def string) string {
		if v := getenv(key); v != "" {
			return v
		}
		return def
	}
	tgURL := strings.TrimRight(envOr("TOLLGATE_URL", "http://127.0.0.1:9200"), "/")
	clientID, secret := getenv("TOLLGATE_CLIENT_ID"), getenv("TOLLGATE_CLIENT_SECRET")
	if clientID == "" || secret == "" {
		return errors.New("TOLLGATE_CLIENT_ID and TOLLGATE_CLIENT_SECRET are required")
	}
	log := slog.New(slog.NewJSONHandler(stderr, nil))
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	var events bus.Bus
	if u := getenv("TOLLGATE_NATS_URL"); u != "" {
		nb, err := nats.Connect(ctx, u, nats.Options{Prefix: envOr("TOLLGATE_NATS_PREFIX", nats.DefaultPrefix), Name: name, Log: log})
		if err != nil {
			return err
		}
		defer nb.Close()
		events = nb
	}
	a, err := authn.New(ctx, authn.Config{
		URL: tgURL, Issuer: getenv("TOLLGATE_ISSUER"), Audience: envOr("TOLLGATE_AUDIENCE", "tollgate"),
		ClientID: clientID, ClientSecret: secret, Events: events, Log: log,
	})
	if err != nil {
		return err
	}
	defer a.Close()
	pdp, err := pep.New(ctx, pep.Config{URL: tgURL, ClientID: clientID, ClientSecret: secret, Events: events, Log: log})
	if err != nil {
		return err
	}
	defer pdp.Close()

	handler := routes(a, pdp, &registry{url: tgURL, clientID: clientID, secret: secret})
	ln, err := net.Listen("tcp", envOr("LISTEN", defaultListen))
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second,
		WriteTimeout: 10 * time.Second, IdleTimeout: 60 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	fmt.Fprintf(stdout, "listening on http://%s\n", ln.Addr())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return err
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// check asks the PDP and answers the request itself unless it is a permit.
func (s *server) check(w http.ResponseWriter, r *http.Request, action string, res pep.Resource) bool {
	err := s.pdp.Check(r.Context(), action, res)
	var denied *pep.DeniedError
	switch {
	case err == nil:
		return true
	case errors.As(err, &denied):
		writeProblem(w, http.StatusForbidden, pep.CodePermissionDenied, "the policy does not permit "+action, nonNil(denied.Decision.Reasons))
	case errors.Is(err, pep.ErrUnavailable):
		writeProblem(w, http.StatusServiceUnavailable, pep.CodeUnavailable, "the request cannot be authorized now; retry later", nil)
	default:
		writeProblem(w, http.StatusInternalServerError, "internal_error", "", nil)
	}
	return false
}

// registry names Tollgate's resource registry for the services that write
// to it (messaging, toolcore); the agent runtime registers nothing.
type registry struct {
	url, clientID, secret string
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeProblem(w http.ResponseWriter, status int, code, detail string, reasons []string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"title": http.StatusText(status), "status": status, "code": code, "detail": detail, "reasons": reasons,
	})
}
