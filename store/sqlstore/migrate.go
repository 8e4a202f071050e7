package sqlstore

import (
	"context"
	"database/sql"
	"io/fs"

	"github.com/pressly/goose/v3"

	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/store"
)

// VersionTable is goose's table of applied migrations, named so that
// MigrationStatus can look for it without goose creating it.
const VersionTable = "goose_db_version"

// NewProvider builds a backend's goose provider over db, for the migrations
// in the "migrations" folder of fsys, keeping its versions in VersionTable.
func NewProvider(dialect goose.Dialect, db *sql.DB, fsys fs.FS, opts ...goose.ProviderOption) (*goose.Provider, error) {
	sub, err := fs.Sub(fsys, "migrations")
	if err != nil {
		return nil, err
	}
	opts = append(opts, goose.WithTableName(VersionTable), goose.WithDisableGlobalRegistry(true))
	return goose.NewProvider(dialect, db, sub, opts...)
}

// Migrate applies every pending migration with the backend's goose
// provider (which serialises migrators as its database needs).
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
	if err := s.queryRow(ctx, s.read, s.d.TableExists(), VersionTable).Scan(&n); err != nil {
		return 0, latest, s.dbErr(err)
	}
	if n == 0 {
		return 0, latest, nil
	}
	var v sql.NullInt64
	if err := s.queryRow(ctx, s.read, `SELECT max(version_id) FROM `+VersionTable).Scan(&v); err != nil {
		return 0, latest, s.dbErr(err)
	}
	return v.Int64, latest, nil
}
