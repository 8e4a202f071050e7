package sqlite

import (
	"database/sql"
	"embed"
	"io/fs"

	"github.com/pressly/goose/v3"

	"github.com/tollgate/tollgate/store/sqlstore"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// newProvider builds the migrator over the write pool, whose single
// connection serialises it against other writers of this process.
func newProvider(db *sql.DB) (*goose.Provider, error) {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		return nil, err
	}
	return goose.NewProvider(goose.DialectSQLite3, db, sub,
		goose.WithTableName(sqlstore.VersionTable),
		goose.WithDisableGlobalRegistry(true),
	)
}
