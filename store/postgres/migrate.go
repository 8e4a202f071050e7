package postgres

import (
	"context"
	"database/sql"
	"embed"
	"hash/fnv"
	"io/fs"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/store"
	"github.com/tollgate/tollgate/store/sqlstore"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// versionTable is goose's default; named here because MigrationStatus looks
// for it directly. It is unqualified, so it lives in current_schema().
const versionTable = "goose_db_version"

// newProvider builds the migrator. Replicas starting together must not
// migrate the same schema at once, so Up holds an advisory lock; its id is
// derived from the schema because advisory locks are database-wide and
// separate schemas need not wait for each other.
func newProvider(db *sql.DB, schema string) (*goose.Provider, error) {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		return nil, err
	}
	h := fnv.New64a()
	h.Write([]byte("tollgate-migrate:" + schema))
	locker, err := lock.NewPostgresSessionLocker(
		lock.WithLockID(int64(h.Sum64())),
		lock.WithLockTimeout(1, 300),
	)
	if err != nil {
		return nil, err
	}
	return goose.NewProvider(goose.DialectPostgres, db, sub,
		goose.WithTableName(versionTable),
		goose.WithSessionLocker(locker),
		goose.WithDisableGlobalRegistry(true),
	)
}

// Migrate applies every pending migration.
func (s *Store) Migrate(ctx context.Context) error {
	if _, err := s.migrations.Up(ctx); err != nil {
		return fault.Wrap(fault.Internal, store.CodeMigrationFailed, err)
	}
	return nil
}

// MigrationStatus reports the applied and newest embedded versions. It does
// not create goose's version table, so a readiness probe never writes.
func (s *Store) MigrationStatus(ctx context.Context) (applied, latest int64, err error) {
	sources := s.migrations.ListSources()
	latest = sources[len(sources)-1].Version

	var exists bool
	err = s.sqlDB.QueryRowContext(ctx,
		`SELECT EXISTS (SELECT 1 FROM pg_tables WHERE schemaname = current_schema() AND tablename = $1)`,
		versionTable).Scan(&exists)
	if err != nil {
		return 0, latest, sqlstore.Classify(dialect{}, err)
	}
	if !exists {
		return 0, latest, nil
	}
	var v *int64
	if err := s.sqlDB.QueryRowContext(ctx, `SELECT max(version_id) FROM `+versionTable).Scan(&v); err != nil {
		return 0, latest, sqlstore.Classify(dialect{}, err)
	}
	if v == nil {
		return 0, latest, nil
	}
	return *v, latest, nil
}
