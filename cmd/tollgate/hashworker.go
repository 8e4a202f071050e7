package main

import (
	"context"
	"log/slog"
	"os"
	"os/exec"
	"strings"

	"github.com/tollgate/tollgate/config"

	"github.com/tollgate/tollgate/password"
)

// hashWorkerCommand is the hidden subcommand the server runs as its
// low-priority password hashing process.
const hashWorkerCommand = "hash-worker"

func runHashWorker(_ context.Context, env *environment, _ []string) error {
	return password.ServeWorker(env.stdin, env.stdout)
}

// startHashWorker starts this binary as the hashing worker.
func startHashWorker(log *slog.Logger) (*password.Worker, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	w := password.NewWorker(func() *exec.Cmd {
		cmd := exec.Command(exe, hashWorkerCommand)
		cmd.Stderr = os.Stderr
		cmd.Env = workerEnv(os.Environ())
		return cmd
	}, log)
	if err := w.Start(); err != nil {
		return nil, err
	}
	return w, nil
}

// workerEnv drops Tollgate's settings — the master key and database URL
// among them — from the worker's environment: it needs none of them.
func workerEnv(environ []string) []string {
	out := make([]string, 0, len(environ))
	for _, kv := range environ {
		if !strings.HasPrefix(kv, config.EnvPrefix) {
			out = append(out, kv)
		}
	}
	return out
}
