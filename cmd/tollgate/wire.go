package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"strings"

	"github.com/tollgate/tollgate/config"
	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/store"
	"github.com/tollgate/tollgate/store/postgres"
	"github.com/tollgate/tollgate/store/sqlite"
	"github.com/tollgate/tollgate/token"
)

// backend is a store that can also migrate itself.
type backend interface {
	store.Store
	Migrate(ctx context.Context) error
}

// parseConfig builds a command's flag set with the shared configuration
// flags plus extra, parses args and loads the effective configuration.
func parseConfig(env *environment, name, usage string, args []string, extra func(*flag.FlagSet)) (config.Config, *flag.FlagSet, error) {
	fset := flag.NewFlagSet(name, flag.ContinueOnError)
	fset.SetOutput(env.stderr)
	loader := config.Register(fset)
	if extra != nil {
		extra(fset)
	}
	fset.Usage = func() {
		fmt.Fprintf(env.stderr, "Usage: %s\n\nFlags (each also settable as TOLLGATE_<NAME> or in the --config file; see docs/configuration.md):\n", usage)
		fset.PrintDefaults()
	}
	if err := fset.Parse(args); err != nil {
		return config.Config{}, nil, err
	}
	if fset.NArg() > 0 {
		fset.Usage()
		return config.Config{}, nil, fmt.Errorf("unexpected argument %q", fset.Arg(0))
	}
	cfg, err := loader.Load(env.getenv)
	return cfg, fset, err
}

// openStore opens the configured backend and, when migrate is true, brings
// its schema up to date.
func openStore(ctx context.Context, cfg config.Config, migrate bool) (backend, error) {
	var b backend
	switch {
	case cfg.IsPostgres():
		s, err := postgres.Open(ctx, cfg.EffectiveDatabaseURL())
		if err != nil {
			return nil, fmt.Errorf("opening PostgreSQL: %w", err)
		}
		b = s
	case cfg.IsSQLite():
		s, err := sqlite.Open(ctx, cfg.SQLitePath())
		if err != nil {
			return nil, fmt.Errorf("opening SQLite at %s: %w", cfg.SQLitePath(), err)
		}
		b = s
	default:
		return nil, fmt.Errorf("database URL must start with sqlite:// or postgres://")
	}
	if migrate {
		if err := b.Migrate(ctx); err != nil {
			_ = b.Close()
			return nil, fmt.Errorf("applying migrations: %w", err)
		}
	}
	return b, nil
}

// masterKey returns the key that seals signing keys. On the embedded default
// it is generated once into the data directory; with PostgreSQL, replicas
// must share it, so it must come from configuration.
func masterKey(cfg config.Config, log *slog.Logger) ([]byte, error) {
	if cfg.MasterKey != "" {
		k, err := token.ParseMasterKey(cfg.MasterKey)
		if err != nil {
			return nil, fmt.Errorf("TOLLGATE_MASTER_KEY: %w", err)
		}
		return k, nil
	}
	if !cfg.IsSQLite() {
		return nil, errors.New("TOLLGATE_MASTER_KEY is required with PostgreSQL: every replica must share it (generate one with: openssl rand -base64 32)")
	}
	path := cfg.MasterKeyFile()
	if b, err := os.ReadFile(path); err == nil {
		return token.ParseMasterKey(strings.TrimSpace(string(b)))
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		// Another process created it between our read and open.
		return masterKey(cfg, log)
	}
	if err != nil {
		return nil, err
	}
	encoded := token.GenerateMasterKey()
	if _, err := io.WriteString(f, encoded+"\n"); err != nil {
		f.Close()
		return nil, err
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	log.Info("generated a master key; back it up with the data directory", "path", path)
	return token.ParseMasterKey(encoded)
}

// adminSession is what admin commands work with: the store and the identity
// rules, with the operator's authority.
type adminSession struct {
	cfg      config.Config
	store    backend
	identity *identity.Service
	log      *slog.Logger
}

func openAdmin(ctx context.Context, env *environment, cfg config.Config) (*adminSession, error) {
	log := slog.New(slog.NewTextHandler(env.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	st, err := openStore(ctx, cfg, cfg.AutoMigrate)
	if err != nil {
		return nil, err
	}
	return &adminSession{cfg: cfg, store: st, identity: identity.NewService(identity.Deps{Store: st}, identity.Options{}), log: log}, nil
}

func redactedDatabaseURL(cfg config.Config) string {
	return config.RedactURL(cfg.EffectiveDatabaseURL())
}

// sharedFlags repeats the storage settings given on this command line or in
// the environment, so that a printed hint works when pasted as is.
func sharedFlags(cfg config.Config) string {
	d := config.Defaults()
	var out []string
	if cfg.DataDir != d.DataDir {
		out = append(out, "--data-dir "+shellQuote(cfg.DataDir))
	}
	if cfg.DatabaseURL != d.DatabaseURL {
		out = append(out, "--database-url "+shellQuote(config.RedactURL(cfg.DatabaseURL)))
	}
	return strings.Join(out, " ")
}

func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:=@") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
