package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/tollgate/tollgate/usage"
)

// ArrayRows is a Dialect's faster way to write a batch of rows than the
// multi-row INSERTs: one statement per table whatever the batch's size,
// each column bound as one array of its values. The statement's text is
// the same for every batch, so the database plans it once, where a
// multi-row INSERT of 500 rows binds 4,000 parameters and is planned anew
// for every remainder size. PostgreSQL has it (unnest); usage batches go
// through it when the dialect does.
type ArrayRows interface {
	// ArrayRows renders a SELECT of the rows zipped from one "?" per
	// column, each bound to a slice ([]string, []int64, []float64,
	// []time.Time) of that column's values; types are the columns' SQL
	// types.
	ArrayRows(types ...string) string
}

// The raw events go in with a plain INSERT when no duplicate has been
// seen lately (usageAllNew), instead of INSERT … ON CONFLICT DO NOTHING
// RETURNING: PostgreSQL inserts each row of an ON CONFLICT statement
// speculatively (check the unique index, insert the row and its index
// entry with a token, confirm it), which BenchmarkNATSToStore measured at
// about 2.5 of the server's ~11 CPU-µs per event (BENCHMARKS.md, "Usage
// ingestion, CPU per event by process"); looking the keys up first cost as
// much as it saved. The unique key is still the de-duplication record: a
// batch holding an event already recorded, or recorded meanwhile by
// another transaction, fails its plain INSERT, the transaction rolls back
// whole, and RecordUsage runs it again through ON CONFLICT, which tells
// the duplicates apart.

func usageEventArraysInsert(a ArrayRows, timeType string, allNew bool) string {
	q := `INSERT INTO usage_events (tenant_id, source, id, type, subject, occurred_at, received_at, data) ` +
		a.ArrayRows("text", "text", "text", "text", "text", timeType, timeType, "text")
	if allNew {
		return q
	}
	return q + ` ON CONFLICT (tenant_id, source, id) DO NOTHING RETURNING tenant_id, source, id`
}

// errUsageNotNew is a plain INSERT's unique-key violation on usage_events:
// the batch holds an event already recorded.
var errUsageNotNew = errors.New("sqlstore: the batch holds a usage event already recorded")

// insertUsageEventArrays is insertUsageEvents through ArrayRows, in one
// statement; allNew inserts without ON CONFLICT and fails with
// errUsageNotNew on a duplicate.
func (s *Store) insertUsageEventArrays(ctx context.Context, tx *sql.Tx, a ArrayRows, records []usage.Record, todo []int, allNew bool) (map[int]bool, error) {
	type eventKey struct{ tenant, source, id string }
	n := len(todo)
	now := time.Now().Truncate(time.Microsecond).UTC()
	tenant, source, id, typ, subject, data := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	occurred, received := make([]time.Time, n), make([]time.Time, n)
	for j, i := range todo {
		e := &records[i].Event
		tenant[j], source[j], id[j], typ[j], subject[j], data[j] = e.TenantID, e.Source, e.ID, e.Type, e.Subject, string(e.Data)
		occurred[j], received[j] = e.Time.Truncate(time.Microsecond).UTC(), now
	}
	query := usageEventArraysInsert(a, s.d.TimeType(), allNew)
	inserted := make(map[int]bool, n)
	if allNew {
		if _, err := s.exec(ctx, tx, query, tenant, source, id, typ, subject, occurred, received, data); err != nil {
			if s.violates(err, "usage_events_id_key") {
				return nil, errUsageNotNew
			}
			return nil, s.dbErr(err)
		}
		for _, i := range todo {
			inserted[i] = true
		}
		return inserted, nil
	}
	at := make(map[eventKey]int, n)
	for _, i := range todo {
		e := &records[i].Event
		at[eventKey{e.TenantID, e.Source, e.ID}] = i
	}
	rows, err := s.query(ctx, tx, query, tenant, source, id, typ, subject, occurred, received, data)
	keys, err := collect(s, rows, err, func(r scanner) (eventKey, error) {
		var k eventKey
		return k, r.Scan(&k.tenant, &k.source, &k.id)
	})
	if err != nil {
		return nil, err
	}
	for _, k := range keys {
		inserted[at[k]] = true
	}
	return inserted, nil
}

// upsertRollupArrays is upsertRollups through ArrayRows: one statement
// per aggregation (rollups are sorted by it first).
func (s *Store) upsertRollupArrays(ctx context.Context, tx *sql.Tx, a ArrayRows, t *rollupTable, rollups []rollup) error {
	for start := 0; start < len(rollups); {
		agg := rollups[start].agg
		end := start
		for end < len(rollups) && rollups[end].agg == agg {
			end++
		}
		n := end - start
		tenant, meter, subject, dims, latestKey := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		minute, events, latestAt := make([]int64, n), make([]int64, n), make([]int64, n)
		value := make([]float64, n)
		for j, r := range rollups[start:end] {
			tenant[j], meter[j], minute[j], subject[j], dims[j] = r.key.tenant, r.key.meter, r.key.minute, r.key.subject, r.key.dims
			value[j], events[j], latestAt[j], latestKey[j] = r.value, r.events, r.latestAt, r.latestKey
		}
		query := `INSERT INTO ` + t.rollups + ` (` + rollupColumns + `) ` +
			a.ArrayRows("text", "text", "bigint", "text", "text", "double precision", "bigint", "bigint", "text") + ` ` + t.conflict(agg)
		if _, err := s.exec(ctx, tx, query, tenant, meter, minute, subject, dims, value, events, latestAt, latestKey); err != nil {
			return s.dbErr(err)
		}
		start = end
	}
	return nil
}

// insertUniqueArrays is insertUniques through ArrayRows.
func (s *Store) insertUniqueArrays(ctx context.Context, tx *sql.Tx, a ArrayRows, t *rollupTable, uniques []uniqueRow) error {
	if len(uniques) == 0 {
		return nil
	}
	n := len(uniques)
	tenant, meter, subject, dims, value := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	minute := make([]int64, n)
	for j, u := range uniques {
		tenant[j], meter[j], minute[j], subject[j], dims[j], value[j] = u.key.tenant, u.key.meter, u.key.minute, u.key.subject, u.key.dims, u.value
	}
	query := `INSERT INTO ` + t.uniques + ` (` + uniqueColumns + `) ` +
		a.ArrayRows("text", "text", "bigint", "text", "text", "text") + ` ` + uniqueConflict
	if _, err := s.exec(ctx, tx, query, tenant, meter, minute, subject, dims, value); err != nil {
		return s.dbErr(err)
	}
	return nil
}
