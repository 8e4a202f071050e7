package sqlite

import (
	"database/sql"
	"slices"
)

// sortedIDs scans a one-column result of ids and sorts them, since
// RETURNING gives rows in no particular order.
//
// It moved here from agents.go, now in store/sqlstore, because apikeys.go
// still uses it; delete it once apikeys.go is ported too.
func sortedIDs(rows *sql.Rows) ([]string, error) {
	ids, err := collect(rows, scanString)
	if err != nil {
		return nil, err
	}
	slices.Sort(ids)
	return ids, nil
}
