// Command whoami is a small service authenticated by Tollgate through the
// Go SDK (sdk/authn): what a messaging service, the agent runtime or the tool
// registry does in front of its own handlers.
//
//	GET /whoami  the caller's ActorContext as JSON (any valid credential)
//	GET /admin   the same, for callers holding "tenant:write" (403 otherwise)
//	GET /healthz "ok", unauthenticated
//
// Usage:
//
//	TOLLGATE_CLIENT_ID=… TOLLGATE_CLIENT_SECRET=… whoami \
//	    -tollgate http://127.0.0.1:9200 [-audience tollgate] [-nats nats://127.0.0.1:4222] [-addr 127.0.0.1:8090]
//
// Without client credentials it accepts access tokens only, not API keys.
// With -nats it follows Tollgate's credential events, so revocations apply
// at once. Its first line on stdout is "listening on http://<address>",
// which lets tests start it with -addr 127.0.0.1:0.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/tollgate/tollgate/bus"
	"github.com/tollgate/tollgate/bus/nats"
	"github.com/tollgate/tollgate/sdk/authn"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "whoami:", err)
		os.Exit(1)
	}
}

// config is what the flags and environment select.
type config struct {
	tollgate, audience, issuer string
	clientID, clientSecret     string
	natsURL, natsPrefix        string
	addr                       string
}

func parseConfig(args []string, getenv func(string) string, stderr io.Writer) (config, error) {
	envOr := func(key, def string) string {
		if v := getenv(key); v != "" {
			return v
		}
		return def
	}
	var c config
	fs := flag.NewFlagSet("whoami", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.tollgate, "tollgate", envOr("TOLLGATE_URL", "http://127.0.0.1:9200"), "Tollgate's base URL (env TOLLGATE_URL)")
	fs.StringVar(&c.issuer, "issuer", envOr("TOLLGATE_ISSUER", ""), "expected token issuer; default the Tollgate URL (env TOLLGATE_ISSUER)")
	fs.StringVar(&c.audience, "audience", envOr("TOLLGATE_AUDIENCE", "tollgate"), `expected token audience, "" for any (env TOLLGATE_AUDIENCE)`)
	fs.StringVar(&c.natsURL, "nats", envOr("TOLLGATE_NATS_URL", ""), "NATS URL of Tollgate's event bus, for instant revocation (env TOLLGATE_NATS_URL)")
	fs.StringVar(&c.natsPrefix, "nats-prefix", envOr("TOLLGATE_NATS_PREFIX", nats.DefaultPrefix), "subject prefix of Tollgate's installation (env TOLLGATE_NATS_PREFIX)")
	fs.StringVar(&c.addr, "addr", envOr("WHOAMI_ADDR", "127.0.0.1:8090"), "listen address (env WHOAMI_ADDR)")
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	if fs.NArg() > 0 {
		return config{}, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	// Secrets come from the environment only, never the command line,
	// where any local user could read them.
	c.clientID, c.clientSecret = getenv("TOLLGATE_CLIENT_ID"), getenv("TOLLGATE_CLIENT_SECRET")
	return c, nil
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	c, err := parseConfig(args, getenv, stderr)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(stderr, nil))
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	var events bus.Bus
	if c.natsURL != "" {
		nb, err := nats.Connect(ctx, c.natsURL, nats.Options{Prefix: c.natsPrefix, Name: "whoami", Log: log})
		if err != nil {
			return err
		}
		defer nb.Close()
		events = nb
	}
	if c.clientID == "" {
		log.Info("TOLLGATE_CLIENT_ID is not set: accepting access tokens only, not API keys")
	}
	a, err := authn.New(ctx, authn.Config{
		URL: c.tollgate, Issuer: c.issuer, Audience: c.audience,
		ClientID: c.clientID, ClientSecret: c.clientSecret, Events: events, Log: log,
	})
	if err != nil {
		return err
	}
	defer a.Close()

	ln, err := net.Listen("tcp", c.addr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           routes(a),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      10 * time.Second,
		IdleTimeout:       60 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	fmt.Fprintf(stdout, "listening on http://%s\n", ln.Addr())

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
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

// routes serves /healthz openly and everything else behind the
// Authenticator.
func routes(a *authn.Authenticator) http.Handler {
	api := http.NewServeMux()
	api.HandleFunc("GET /whoami", func(w http.ResponseWriter, r *http.Request) {
		ac, _ := authn.FromContext(r.Context())
		writeJSON(w, ac)
	})
	api.HandleFunc("GET /admin", func(w http.ResponseWriter, r *http.Request) {
		ac, err := authn.Require(r.Context(), "tenant:write")
		if err != nil {
			authn.WriteError(w, r, err)
			return
		}
		writeJSON(w, ac)
	})
	root := http.NewServeMux()
	root.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "ok\n")
	})
	root.Handle("/", a.Middleware(api))
	return root
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(v)
}
