package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"io/fs"

	"github.com/pressly/goose/v3"

	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/store"
	"github.com/tollgate/tollgate/store/sqlstore"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// versionTable is goose's default; named here because MigrationStatus looks
// for it directly.
const versionTable = "goose_db_version"

func newProvider(db *sql.DB) (*goose.Provider, error) {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		return nil, err
	}
	return goose.NewProvider(goose.DialectSQLite3, db, sub,
		goose.WithTableName(versionTable),
		goose.WithDisableGlobalRegistry(true),
	)
}

// Migrate applies every pending migration. The single write connection
// already serialises it against other writers of this process.
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

	var n int
	err = s.read.QueryRowContext(ctx,
		`SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = ?`, versionTable).Scan(&n)
	if err != nil {
		return 0, latest, sqlstore.Classify(dialect{}, err)
	}
	if n == 0 {
		return 0, latest, nil
	}
	var v sql.NullInt64
	if err := s.read.QueryRowContext(ctx, `SELECT max(version_id) FROM `+versionTable).Scan(&v); err != nil {
		return 0, latest, sqlstore.Classify(dialect{}, err)
	}
	return v.Int64, latest, nil
}
