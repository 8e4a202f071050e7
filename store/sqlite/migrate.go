package sqlite

import (
	"database/sql"
	"embed"

	"github.com/pressly/goose/v3"

	"github.com/tollgate/tollgate/store/sqlstore"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// newProvider builds the migrator over the write pool, whose single
// connection serialises it against other writers of this process.
func newProvider(db *sql.DB) (*goose.Provider, error) {
	return sqlstore.NewProvider(goose.DialectSQLite3, db, migrationFiles)
}
