package main

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/tollgate/tollgate/store/sqlite"
)

// migratedEnv is a fresh data directory with the schema migrated up, as an
// operator's `tollgate migrate up` leaves it, and the environment naming it.
func migratedEnv(t *testing.T) (string, map[string]string) {
	t.Helper()
	dir := t.TempDir()
	env := testEnv(dir)
	if _, _, err := run(t, env, "", "migrate", "up"); err != nil {
		t.Fatal(err)
	}
	return dir, env
}

// bootstrappedEnv is a fresh data directory after `tollgate admin
// bootstrap` made root@example.com the owner of tenant acme, and the
// environment naming it.
func bootstrappedEnv(t *testing.T) (string, map[string]string) {
	t.Helper()
	dir := t.TempDir()
	env := testEnv(dir)
	if _, _, err := run(t, env, "a long and unusual passphrase\n", "admin", "bootstrap", "--email", "root@example.com", "--tenant", "acme", "--password-stdin"); err != nil {
		t.Fatal(err)
	}
	return dir, env
}

// openDB opens the SQLite database the commands keep in dir, to seed it or
// look at what a command did. The caller closes it before running a command
// that opens it too.
func openDB(t *testing.T, dir string) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(dir, "tollgate.db"))
	if err != nil {
		t.Fatal(err)
	}
	return st
}
