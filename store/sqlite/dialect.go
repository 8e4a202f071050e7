package sqlite

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/tollgate/tollgate/store/sqlstore"
)

// dialect is SQLite's sqlstore.Dialect. Times are int64 unix microseconds,
// which truncates to the precision PostgreSQL keeps so both backends return
// identical values; string lists are JSON arrays.
type dialect struct{}

var _ sqlstore.Dialect = dialect{}

func (dialect) Rebind(query string) string { return query }

func (dialect) Time(t time.Time) any { return t.UnixMicro() }

func (dialect) List(l []string) any {
	if len(l) == 0 {
		return "[]"
	}
	b, err := json.Marshal(l)
	if err != nil {
		// Marshalling []string cannot fail.
		panic(err)
	}
	return string(b)
}

func (dialect) ScanList(l *[]string) any { return jsonList{l} }

func (dialect) InList(column string) string {
	return column + ` IN (SELECT value FROM json_each(?))`
}

func (dialect) ListHas(column string) string {
	return `? IN (SELECT value FROM json_each(` + column + `))`
}

func (dialect) ListElements(column string) string { return `json_each(` + column + `) AS elem` }

// ForUpdate is empty: the write pool has one connection and begins
// IMMEDIATE, so a write transaction sees no other writer until it ends.
func (dialect) ForUpdate() string { return "" }

func (dialect) TimeType() string { return "INTEGER" }

// SkipLocked is empty for the same reason: no other writer holds a row.
func (dialect) SkipLocked(string) string { return "" }

func (dialect) Unavailable(err error) bool {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	switch se.Code() & 0xff {
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_CANTOPEN,
		sqlite3.SQLITE_IOERR, sqlite3.SQLITE_FULL, sqlite3.SQLITE_READONLY:
		return true
	}
	return false
}

// Violation names the constraint the way the PostgreSQL migrations do.
// SQLite's message lists the columns of the violated key, e.g.
// "UNIQUE constraint failed: agents.tenant_id, agents.name (2067)": a
// primary key is <table>_pkey and a unique key <table>_<last column>_key.
// It does not say which foreign key failed.
func (dialect) Violation(err error) (sqlstore.Violation, bool) {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return sqlstore.Violation{}, false
	}
	switch se.Code() {
	case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
		return sqlstore.Violation{ForeignKey: true}, true
	case sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY, sqlite3.SQLITE_CONSTRAINT_UNIQUE:
	default:
		return sqlstore.Violation{}, false
	}
	msg := se.Error()
	i := strings.LastIndex(msg, "constraint failed: ")
	if i < 0 {
		return sqlstore.Violation{}, false
	}
	cols := strings.Split(msg[i+len("constraint failed: "):], ",")
	last, _, _ := strings.Cut(strings.TrimSpace(cols[len(cols)-1]), " ")
	table, column, ok := strings.Cut(last, ".")
	if !ok {
		return sqlstore.Violation{}, false
	}
	if se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY {
		return sqlstore.Violation{Constraint: table + "_pkey"}, true
	}
	return sqlstore.Violation{Constraint: table + "_" + column + "_key"}, true
}

func (dialect) TableExists() string {
	return `SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = ?`
}

// jsonList scans a JSON array of strings.
type jsonList struct{ p *[]string }

func (d jsonList) Scan(src any) error {
	var b []byte
	switch v := src.(type) {
	case string:
		b = []byte(v)
	case []byte:
		b = v
	default:
		return fmt.Errorf("sqlite: cannot read %T as a list", src)
	}
	l := []string{}
	if err := json.Unmarshal(b, &l); err != nil {
		return err
	}
	*d.p = l
	return nil
}

// InsertOrRollback: OR ROLLBACK ends the transaction on a constraint
// failure, so SQLite need not journal the statement to undo it alone.
func (dialect) InsertOrRollback() string { return "INSERT OR ROLLBACK INTO" }
