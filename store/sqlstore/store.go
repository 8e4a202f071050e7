// Package sqlstore is the one SQL implementation of store.Store. It is
// written once against database/sql; what differs between databases —
// placeholders, how times and string lists are stored, list membership,
// row locks and how errors are classified — is a Dialect, and each backend
// (store/sqlite, store/postgres) is a dialect plus how to open, migrate and
// close its database.
//
// A dialect may also read rows itself, outside database/sql's Rows
// (RowReader), where its driver does that markedly faster.
//
// Queries use "?" placeholders; the dialect rebinds them. Constraint names
// follow PostgreSQL's (<table>_pkey, <table>_<column>_key,
// <table>_<column>_fkey); a dialect whose database does not name
// constraints reports names of that form.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/pressly/goose/v3"

	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/store"
)

// Dialect is what one database does differently.
type Dialect interface {
	// Rebind rewrites the "?" placeholders of query into the database's.
	Rebind(query string) string
	// Time is how a time is written. Stored times have microsecond
	// precision; Scan reads either form back in UTC.
	Time(t time.Time) any
	// List is how a list of strings is written.
	List(l []string) any
	// ScanList is a scan destination that fills *l, never with nil.
	ScanList(l *[]string) any
	// InList renders "column is in the list bound to the next ?"; the
	// argument is written with List.
	InList(column string) string
	// ListHas renders "the list column holds the value bound to the next ?".
	ListHas(column string) string
	// ListElements renders a table expression, for a FROM clause after
	// the column's table, of the list column's elements: one row each,
	// named elem with the column value.
	ListElements(column string) string
	// ForUpdate is the clause that locks the rows a SELECT inside a write
	// transaction reads, or "" where a write transaction already excludes
	// every other writer.
	ForUpdate() string
	// SkipLocked is the clause that locks the rows of table (named as in
	// the FROM clause) a SELECT inside a write transaction reads, skipping
	// rows another transaction holds, so that workers on several replicas
	// claim different rows; "" where a write transaction already excludes
	// every other writer.
	SkipLocked(table string) string
	// TimeType is the SQL type of a stored time, for casting a bound
	// time where the database cannot infer it (a VALUES list).
	TimeType() string
	// Unavailable reports errors that say the database cannot answer now
	// (unreachable, overloaded, shutting down, busy) rather than that the
	// request was wrong.
	Unavailable(err error) bool
	// Violation reports the constraint err violates, if it is a unique or
	// foreign-key violation.
	Violation(err error) (Violation, bool)
	// TableExists is a query counting the tables named by its one
	// placeholder in the schema the store uses (0 or 1).
	TableExists() string
	// InsertOrRollback begins an INSERT ("INSERT … INTO") whose constraint
	// failure may end the whole transaction, for statements whose failure
	// the transaction never outlives anyway. SQLite then keeps no statement
	// journal (the copy of every page a statement first changes, written
	// only to undo that statement alone), which was half of what an audit
	// batch wrote.
	InsertOrRollback() string
}

// Violation is a constraint violation.
type Violation struct {
	// Constraint is the violated constraint's name; "" when the database
	// does not say which foreign key was violated.
	Constraint string
	ForeignKey bool
}

// Store is a store.Store on database/sql. Every method is scoped to a tenant
// where its data belongs to one.
type Store struct {
	// read serves queries; write serves writes and transactions. They are
	// the same pool on a server database; SQLite gives writes their own
	// one-connection pool.
	read, write *sql.DB
	d           Dialect
	// migrations is the backend's goose provider, over the write pool.
	migrations *goose.Provider
	stmts      stmtCache
	// auditInsert is the audit INSERT of each row count of auditInsertRows,
	// in the dialect's words.
	auditInsert map[int]string
	// usage is when RecordUsage last met a duplicate (usage.go).
	usage usageDuplicates
}

// New returns a Store over the two pools (which may be the same), migrated
// by migrations.
func New(read, write *sql.DB, d Dialect, migrations *goose.Provider) *Store {
	return &Store{read: read, write: write, d: d, migrations: migrations, auditInsert: auditInserts(d)}
}

// pools are the store's pools, each once.
func (s *Store) pools() []*sql.DB {
	if s.read == s.write {
		return []*sql.DB{s.read}
	}
	return []*sql.DB{s.read, s.write}
}

// Ping checks that every pool answers.
func (s *Store) Ping(ctx context.Context) error {
	for _, db := range s.pools() {
		if err := db.PingContext(ctx); err != nil {
			return fault.Wrap(fault.Unavailable, store.CodeStoreUnavailable, err)
		}
	}
	return nil
}

// Close closes every pool.
func (s *Store) Close() error {
	errs := []error{s.stmts.close()}
	for _, db := range s.pools() {
		errs = append(errs, db.Close())
	}
	return errors.Join(errs...)
}
