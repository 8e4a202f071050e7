package postgres

import (
	"slices"

	"github.com/jackc/pgx/v5"
)

// sortedIDs and scanString moved here from agents.go, now in
// store/sqlstore, because apikeys.go and blocks.go still use them; delete
// them once those are ported too.

// sortedIDs scans a one-column result of ids and sorts them, since
// RETURNING gives rows in no particular order.
func sortedIDs(rows pgx.Rows) ([]string, error) {
	ids, err := collect(rows, scanString)
	if err != nil {
		return nil, err
	}
	slices.Sort(ids)
	return ids, nil
}

func scanString(r pgx.Row) (v string, err error) {
	err = r.Scan(&v)
	return v, err
}
