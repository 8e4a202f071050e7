package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/tollgate/tollgate/app"
	"github.com/tollgate/tollgate/config"
	"github.com/tollgate/tollgate/httpapi"
	"github.com/tollgate/tollgate/password"
)

func runServe(ctx context.Context, env *environment, args []string) error {
	var printConfig bool
	cfg, _, err := parseConfig(env, "tollgate serve", "tollgate serve [flags]", args, func(fs *flag.FlagSet) {
		fs.BoolVar(&printConfig, "print-config", false, "print the effective configuration (secrets redacted) and exit")
	})
	if err != nil {
		return err
	}
	if printConfig {
		return cfg.WriteRedacted(env.stdout)
	}
	log, err := newLogger(cfg, env)
	if err != nil {
		return err
	}
	srv, err := buildServer(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer srv.close()
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return err
	}
	var metricsLn net.Listener
	if cfg.MetricsAddr != "" {
		if metricsLn, err = net.Listen("tcp", cfg.MetricsAddr); err != nil {
			ln.Close()
			return fmt.Errorf("metrics_addr: %w", err)
		}
	}
	return srv.serve(ctx, ln, metricsLn, env)
}

func newLogger(cfg config.Config, env *environment) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.LogLevel)); err != nil {
		return nil, fmt.Errorf("log level: %w", err)
	}
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler = slog.NewJSONHandler(env.stdout, opts)
	text := cfg.LogFormat == "text"
	if cfg.LogFormat == "auto" {
		f, ok := env.stdout.(*os.File)
		text = ok && term.IsTerminal(int(f.Fd()))
	}
	if text {
		h = slog.NewTextHandler(env.stdout, opts)
	}
	return slog.New(httpapi.LogHandler{Handler: h}), nil
}

// server is a running Tollgate replica.
type server struct {
	cfg    config.Config
	log    *slog.Logger
	store  backend
	app    *app.App
	worker *password.Worker // nil when hashing in process
}

func buildServer(ctx context.Context, cfg config.Config, log *slog.Logger) (*server, error) {
	// The master key first: a misconfigured replica should fail before it
	// touches the database, let alone migrates it.
	mk, err := masterKey(cfg, log)
	if err != nil {
		return nil, err
	}
	st, err := openStore(ctx, cfg, cfg.AutoMigrate)
	if err != nil {
		return nil, err
	}
	if applied, latest, err := st.MigrationStatus(ctx); err != nil {
		st.Close()
		return nil, err
	} else if applied != latest {
		log.Warn("database schema is behind this binary; run tollgate migrate up", "applied", applied, "latest", latest)
	}
	var hashOpts []password.Option
	var worker *password.Worker
	if cfg.HashWorker {
		if worker, err = startHashWorker(log); err != nil {
			st.Close()
			return nil, err
		}
		hashOpts = append(hashOpts, password.WithWorker(worker))
	}
	a, err := app.New(ctx, cfg, st, mk, log, hashOpts...)
	if err == nil {
		if err = a.OpenUsageStream(ctx); err == nil {
			err = a.OpenAuditForward(ctx)
		}
		if err != nil {
			_ = a.Close(ctx)
		}
	}
	if err != nil {
		if worker != nil {
			worker.Close()
		}
		st.Close()
		return nil, err
	}
	return &server{cfg: cfg, log: log, store: st, app: a, worker: worker}, nil
}

// serve answers on ln until ctx ends, then drains in-flight requests for up
// to the shutdown timeout. metricsLn, when not nil, serves /metrics alone
// (metrics_addr).
func (s *server) serve(ctx context.Context, ln, metricsLn net.Listener, env *environment) error {
	hs := s.httpServer(s.app.API)
	bg, stopBackground := context.WithCancel(context.WithoutCancel(ctx))
	waitBackground := s.app.RunBackground(bg)
	errc := make(chan error, 2)
	if metricsLn != nil {
		ms := s.httpServer(s.app.API.MetricsHandler())
		s.log.Info("metrics listening", "addr", metricsLn.Addr().String())
		go func() { errc <- ms.Serve(metricsLn) }()
		// Scrapes are short and carry nothing to drain: the metrics
		// listener closes once the API's has.
		defer ms.Close()
	}
	s.log.Info("tollgate listening", "addr", ln.Addr().String(), "version", versionString(), "database", redactedDatabaseURL(s.cfg))
	s.firstRunHint(ctx, env)

	go func() { errc <- hs.Serve(ln) }()
	var err error
	select {
	case err = <-errc:
		// One listener failed: the replica stops with both.
		_ = hs.Close()
	case <-ctx.Done():
		s.log.Info("shutting down: draining in-flight requests", "timeout", s.cfg.ShutdownTimeout.String())
		s.app.API.Drain()
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.ShutdownTimeout)
		err = hs.Shutdown(sctx)
		cancel()
		if errors.Is(err, context.DeadlineExceeded) {
			s.log.Warn("shutdown deadline passed; closing remaining connections")
			err = hs.Close()
		}
	}
	stopBackground()
	waitBackground()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// httpServer is an http.Server for h with Tollgate's timeouts.
func (s *server) httpServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
}

// firstRunHint tells a newcomer how to create the first account.
func (s *server) firstRunHint(ctx context.Context, env *environment) {
	n, err := s.store.CountTenants(ctx)
	if err != nil || n > 0 {
		return
	}
	fmt.Fprintf(env.stderr, `
The store is empty. Create the first tenant and its owner (a platform admin) with:

    %s

It asks for a password, or reads one line from stdin with --password-stdin.

`, strings.TrimSpace("tollgate admin bootstrap --email you@example.com --tenant my-team "+sharedFlags(s.cfg)))
}

func (s *server) close() {
	if s.app != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := s.app.Close(ctx); err != nil {
			s.log.Warn("closing the event bus failed", "err", err)
		}
		cancel()
	}
	if s.worker != nil {
		_ = s.worker.Close()
	}
	if err := s.store.Close(); err != nil {
		s.log.Warn("closing the store failed", "err", err)
	}
}
