package postgres

import (
	"database/sql"
	"embed"
	"hash/fnv"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/tollgate/tollgate/store/sqlstore"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// newProvider builds the migrator. Replicas starting together must not
// migrate the same schema at once, so Up holds an advisory lock; its id is
// derived from the schema because advisory locks are database-wide and
// separate schemas need not wait for each other.
func newProvider(db *sql.DB, schema string) (*goose.Provider, error) {
	h := fnv.New64a()
	h.Write([]byte("tollgate-migrate:" + schema))
	locker, err := lock.NewPostgresSessionLocker(
		lock.WithLockID(int64(h.Sum64())),
		lock.WithLockTimeout(1, 300),
	)
	if err != nil {
		return nil, err
	}
	return sqlstore.NewProvider(goose.DialectPostgres, db, migrationFiles, goose.WithSessionLocker(locker))
}
