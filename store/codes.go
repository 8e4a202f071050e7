package store

import "github.com/tollgate/tollgate/fault"

// Error codes of the database, whichever backend. docs/errors.md describes
// each; a code never changes meaning once released.
const (
	// The database could not be reached, is busy or overloaded, or a
	// transaction must be retried.
	CodeStoreUnavailable fault.Code = "store_unavailable"
	// Any other database error.
	CodeStoreError      fault.Code = "store_error"
	CodeMigrationFailed fault.Code = "migration_failed"
	// The schema is not at this binary's version.
	CodeMigrationsPending fault.Code = "migrations_pending"
	// The PostgreSQL URL does not parse.
	CodeInvalidDatabaseURL fault.Code = "invalid_database_url"
	// The SQLite path is empty, in memory, a file: URI, or has a query.
	CodeInvalidSQLitePath fault.Code = "invalid_sqlite_path"
)
