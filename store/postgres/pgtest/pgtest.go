// Package pgtest gives tests a migrated PostgreSQL store of their own: each
// Open creates a fresh schema, points the store's search_path at it, and
// drops it when the test ends. Tests skip when TOLLGATE_TEST_POSTGRES_URL is
// unset and fail when it is set but the server cannot be reached, so a
// misconfigured CI run cannot pass by skipping.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/tollgate/tollgate/store/postgres"
)

// EnvURL names the variable holding the test server's URL, e.g.
// postgres://postgres@127.0.0.1:5432/test?sslmode=disable.
const EnvURL = "TOLLGATE_TEST_POSTGRES_URL"

// URL returns the test server's URL, skipping the test when it is unset.
func URL(t testing.TB) string {
	t.Helper()
	u := os.Getenv(EnvURL)
	if u == "" {
		t.Skip(EnvURL + " not set; skipping PostgreSQL tests")
	}
	return u
}

// Open returns a migrated store on a fresh schema that is dropped, with
// everything in it, when t ends.
func Open(t testing.TB) *postgres.Store {
	t.Helper()
	base := URL(t)
	schema := NewSchema(t, base)
	dsn, err := WithSearchPath(base, schema)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return OpenAt(t, dsn)
}

// OpenAt returns a migrated store on dsn (a schema of NewSchema, a private
// server's URL), closed when t ends.
func OpenAt(t testing.TB, dsn string) *postgres.Store {
	t.Helper()
	// Cleanups run after t's context is cancelled, so setup uses its own.
	ctx := context.Background()
	s, err := postgres.Open(ctx, dsn)
	if err != nil {
		t.Fatalf("pgtest: open store: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("pgtest: migrate: %v", err)
	}
	return s
}

// NewSchema creates an empty schema with a random tg_test_ name and
// registers its DROP … CASCADE as a cleanup. Cleanups run last-in first-out,
// so a store opened after NewSchema is closed before its schema is dropped.
func NewSchema(t testing.TB, baseURL string) string {
	t.Helper()
	var b [8]byte
	_, _ = rand.Read(b[:])
	schema := "tg_test_" + hex.EncodeToString(b[:])
	ident := pgx.Identifier{schema}.Sanitize()
	if err := exec(baseURL, "CREATE SCHEMA "+ident); err != nil {
		t.Fatalf("pgtest: create schema (is %s reachable?): %v", EnvURL, err)
	}
	t.Cleanup(func() {
		if err := exec(baseURL, "DROP SCHEMA IF EXISTS "+ident+" CASCADE"); err != nil {
			t.Errorf("pgtest: drop schema %s: %v", schema, err)
		}
	})
	return schema
}

// exec runs one statement on a connection of its own, so that no test holds
// an idle admin connection for its whole run.
func exec(baseURL, sql string) error {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, baseURL)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, sql)
	return err
}

// WithSearchPath returns dsn (a URL or a key=value DSN) with search_path set
// to schema, replacing any search_path already there.
func WithSearchPath(dsn, schema string) (string, error) {
	if !strings.HasPrefix(dsn, "postgres://") && !strings.HasPrefix(dsn, "postgresql://") {
		// In a key=value DSN a later key overrides an earlier one.
		return dsn + " search_path=" + schema, nil
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return "", err
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), nil
}
