package postgres

import (
	"strings"

	"github.com/tollgate/tollgate/store/sqlstore"
)

var _ sqlstore.ArrayRows = dialect{}

// ArrayRows is PostgreSQL's fast path for batches (sqlstore.ArrayRows):
// unnest zips one array parameter per column into rows. pgx binds Go
// slices as arrays in its binary format.
func (dialect) ArrayRows(types ...string) string {
	var b strings.Builder
	b.WriteString("SELECT * FROM unnest(")
	for i, t := range types {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("?::" + t + "[]")
	}
	b.WriteString(")")
	return b.String()
}
