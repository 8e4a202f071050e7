// Package postgres is the store.Store backend for PostgreSQL, used when
// several stateless replicas share one database. It honours a search_path
// given in the connection URL, so one database can hold several isolated
// schemas (tests use one per test).
package postgres

import (
	"context"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"

	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/store"
	"github.com/tollgate/tollgate/store/sqlstore"
)

var _ store.Store = (*Store)(nil)

// Store is a store.Store on a pgx connection pool.
type Store struct {
	*sqlstore.Store
	pool *pgxpool.Pool
	// migrations is also sqlstore's; kept here for the migration tests, which
	// migrate down (MigrateDownTo).
	migrations *goose.Provider
}

// Open connects to the database at url (a postgres:// URL or a key=value
// DSN). Parameters pgx does not know, such as search_path, are sent as
// run-time parameters on every connection. It does not migrate; call Migrate.
func Open(ctx context.Context, url string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fault.Wrap(fault.Invalid, store.CodeInvalidDatabaseURL, err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fault.Wrap(fault.Unavailable, store.CodeStoreUnavailable, err)
	}
	// current_schema() is where unqualified CREATE TABLE puts tables; it is
	// NULL when no schema on search_path exists, and migrating would then fail
	// with a less helpful message.
	var schema *string
	if err := pool.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		pool.Close()
		return nil, sqlstore.Classify(dialect{}, err)
	}
	if schema == nil {
		pool.Close()
		return nil, fault.New(fault.Unavailable, store.CodeStoreUnavailable, "no schema on the search_path exists")
	}
	db := stdlib.OpenDBFromPool(pool)
	// database/sql runs the transactions and borrows pgxpool's connections
	// for them; reads outside a transaction go to pgxpool directly
	// (ReadRows). database/sql keeps connections it is done with in its own
	// idle list, unseen by pgxpool: with none kept, every transaction took
	// one from pgxpool and gave it back (measured: a Connect per API-key
	// resolution when reads went through database/sql); with every one
	// kept, reads could find pgxpool empty after a burst of writes. It
	// keeps half.
	db.SetMaxOpenConns(int(cfg.MaxConns))
	db.SetMaxIdleConns(max(1, int(cfg.MaxConns)/2))
	db.SetConnMaxIdleTime(cfg.MaxConnIdleTime)
	db.SetConnMaxLifetime(cfg.MaxConnLifetime)
	p, err := newProvider(db, *schema)
	if err != nil {
		_ = db.Close()
		pool.Close()
		return nil, fault.Wrap(fault.Internal, store.CodeStoreError, err)
	}
	return &Store{Store: sqlstore.New(db, db, newDialect(pool), p), pool: pool, migrations: p}, nil
}

// Close releases every connection: database/sql's, then the pool's.
func (s *Store) Close() error {
	err := s.Store.Close()
	s.pool.Close()
	return err
}
