package config

import (
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// testMasterKey is a valid master key distinctive enough to search output for.
const testMasterKey = "c2VjcmV0LW1hc3Rlci1rZXktMzItYnl0ZXMtbG9uZyE=" // "secret-master-key-32-bytes-long!"

// envMap is a getenv backed by a map, so tests never touch the process
// environment.
func envMap(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

// load runs a command's whole configuration path: a fresh FlagSet, Register,
// Parse, Load.
func load(args []string, env map[string]string) (Config, error) {
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	l := Register(fs)
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	return l.Load(envMap(env))
}

// writeYAML writes content to a fresh file and returns its path.
func writeYAML(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "tollgate.yaml")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func lines(s ...string) string { return strings.Join(s, "\n") + "\n" }
