// Package sqlite is the embedded store.Store backend: one database file, no
// server. SQLite allows a single writer, so writes go through their own
// one-connection pool and reads through another, which keeps concurrent
// writers queueing in Go instead of failing with SQLITE_BUSY.
package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/pressly/goose/v3"
	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/store"
	"github.com/tollgate/tollgate/store/sqlstore"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

var _ store.Store = (*Store)(nil)

// readConns bounds the read pool; WAL lets these run alongside the writer.
const readConns = 4

// Pragmas every connection needs. They go in the DSN because database/sql
// opens connections lazily and a one-off PRAGMA would reach only one of them.
const pragmas = "_pragma=busy_timeout(5000)" +
	"&_pragma=journal_mode(WAL)" +
	"&_pragma=foreign_keys(1)" +
	"&_pragma=synchronous(NORMAL)"

// writerPragmas are the one writing connection's. temp_store(MEMORY) keeps
// the statement journal, which SQLite writes for every page a statement
// inside a transaction first changes (each multi-row INSERT of an audit
// batch), in memory instead of a temporary file: it was half of the
// writer's pwrite calls. cache_size (KiB when negative) holds the pages a
// batch spread over many streams and indexes touches — the default 2 MiB
// spilled dirty pages to the WAL mid-transaction and read them back.
// wal_autocheckpoint (pages) lets the WAL grow to ~40 MiB before the
// writer copies it into the database: a batch rewrites the last page of
// each stream and index it touches, and the default (1,000 pages)
// checkpointed after nearly every batch, copying those pages each time
// instead of once per checkpoint.
const writerPragmas = "&_pragma=temp_store(MEMORY)" +
	"&_pragma=cache_size(-65536)" +
	"&_pragma=wal_autocheckpoint(10000)"

// Store is a store.Store on one SQLite file.
type Store struct {
	*sqlstore.Store
	write *sql.DB
	read  *sql.DB
	// migrations is also sqlstore's; kept here for the migration tests,
	// which migrate down.
	migrations *goose.Provider
	// stopOptimize ends the statistics loop (optimize.go); optimized
	// closes when it has.
	stopOptimize chan struct{}
	optimized    chan struct{}
	closeOnce    sync.Once
}

// Open opens (creating if needed) the database file at path, which is a
// plain file path: the caller strips any "sqlite://" scheme. It does not
// migrate; call Migrate.
func Open(ctx context.Context, path string) (*Store, error) {
	if path == "" || path == ":memory:" || strings.HasPrefix(path, "file:") {
		// The two pools must see the same database, which an in-memory or
		// URI name does not guarantee.
		return nil, fault.Invalidf("", store.CodeInvalidSQLitePath, "sqlite needs a plain file path, got %q", path)
	}
	if strings.ContainsRune(path, '?') {
		// The driver cuts the DSN at the first '?'.
		return nil, fault.Invalidf("", store.CodeInvalidSQLitePath, "sqlite path must not contain '?'")
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fault.Wrap(fault.Unavailable, store.CodeStoreUnavailable, fmt.Errorf("create database directory: %w", err))
		}
	}

	// _txlock=immediate takes the write lock at BEGIN, so a transaction that
	// reads then writes cannot deadlock against another one upgrading its lock.
	// Connect the writer first: it switches the file to WAL, which the
	// readers then find already set.
	write, err := openPool(ctx, path+"?"+pragmas+writerPragmas+"&_txlock=immediate", 1)
	if err != nil {
		return nil, fault.Wrap(fault.Unavailable, store.CodeStoreUnavailable, err)
	}
	read, err := openPool(ctx, path+"?"+pragmas+"&_pragma=query_only(1)", readConns)
	if err != nil {
		_ = write.Close()
		return nil, fault.Wrap(fault.Unavailable, store.CodeStoreUnavailable, err)
	}
	p, err := newProvider(write)
	if err != nil {
		_ = write.Close()
		_ = read.Close()
		return nil, fault.Wrap(fault.Internal, store.CodeStoreError, err)
	}
	s := &Store{
		Store: sqlstore.New(read, write, dialect{}, p), write: write, read: read, migrations: p,
		stopOptimize: make(chan struct{}), optimized: make(chan struct{}),
	}
	go s.optimize(s.stopOptimize, s.optimized)
	return s, nil
}

// Migrate migrates the database and refreshes the planner's statistics
// of the tables it finds with data.
func (s *Store) Migrate(ctx context.Context) error {
	if err := s.Store.Migrate(ctx); err != nil {
		return err
	}
	return s.Optimize(ctx)
}

// Close stops the statistics loop and closes the pools.
func (s *Store) Close() error {
	s.closeOnce.Do(func() { close(s.stopOptimize) })
	<-s.optimized
	return s.Store.Close()
}

// openPool opens a pool of up to conns connections to dsn and checks that
// it answers.
func openPool(ctx context.Context, dsn string, conns int) (*sql.DB, error) {
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(conns)
	db.SetMaxIdleConns(conns)
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, err
	}
	return db, nil
}
