package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/usage"
)

// usageRowsPerInsert keeps one multi-row INSERT under 5,000 parameters,
// well under SQLite's 32,766 and PostgreSQL's 65,535, so that a full batch
// of events takes two statements.
const usageRowsPerInsert = 500

// multiRow returns "INSERT INTO table (cols) VALUES (?, …), … " for n rows
// followed by tail.
func multiRow(table, cols string, ncols, n int, tail string) string {
	var b strings.Builder
	b.WriteString("INSERT INTO " + table + " (" + cols + ") VALUES ")
	row := "(" + strings.TrimSuffix(strings.Repeat("?, ", ncols), ", ") + ")"
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(row)
	}
	b.WriteString(" " + tail)
	return b.String()
}

// sqlCache builds each statement once per row count; a batch uses at most
// two shapes (full chunks and the remainder).
type sqlCache struct {
	build func(n int) string
	full  string
}

func newSQLCache(build func(n int) string) *sqlCache {
	return &sqlCache{build: build, full: build(usageRowsPerInsert)}
}

func (c *sqlCache) get(n int) string {
	if n == usageRowsPerInsert {
		return c.full
	}
	return c.build(n)
}

var usageEventInsert = newSQLCache(func(n int) string {
	// RETURNING lists the rows this statement inserted, not those the
	// unique key turned away: that is how a duplicate is told apart,
	// inside the transaction that would count it.
	return multiRow("usage_events", "tenant_id, source, id, type, subject, occurred_at, received_at, data", 8, n,
		"ON CONFLICT (tenant_id, source, id) DO NOTHING RETURNING tenant_id, source, id")
})

// rollupTable is one resolution of the roll-ups: a table of aggregates
// and a table of UNIQUE_COUNT's distinct values, whose minute column holds
// the first minute of a bucket of width minutes.
type rollupTable struct {
	rollups, uniques string
	width            int64
	// allSubjects: the table folds every subject into one row, whose
	// subject is "".
	allSubjects bool
	upsert      map[usage.Aggregation]*sqlCache
	unique      *sqlCache
}

// The resolutions every event is written to, minutes first: every
// transaction writes them in this order, so two lock their rows in the
// same order.
var (
	minuteTable     = newRollupTable("usage_rollups", "usage_uniques", 1)
	hourTable       = newRollupTable("usage_hour_rollups", "usage_hour_uniques", 60)
	tenantHourTable = tenantWide(newRollupTable("usage_tenant_hour_rollups", "usage_tenant_hour_uniques", 60))
	rollupTables    = []*rollupTable{minuteTable, hourTable, tenantHourTable}
)

func tenantWide(t *rollupTable) *rollupTable {
	t.allSubjects = true
	return t
}

func newRollupTable(rollups, uniques string, width int64) *rollupTable {
	t := &rollupTable{rollups: rollups, uniques: uniques, width: width, upsert: map[usage.Aggregation]*sqlCache{}}
	for agg := range rollupMerge {
		t.upsert[agg] = newSQLCache(func(n int) string {
			return multiRow(rollups, rollupColumns, 9, n, t.conflict(agg))
		})
	}
	t.unique = newSQLCache(func(n int) string {
		return multiRow(uniques, uniqueColumns, 6, n, uniqueConflict)
	})
	return t
}

// bucket is the first minute of the bucket holding minute.
func (t *rollupTable) bucket(minute int64) int64 { return minute / t.width * t.width }

// key is the key of the row of t that an event of subject at minute
// counts in.
func (t *rollupTable) key(tenant, meter string, minute int64, subject, dims string) rollupKey {
	if t.allSubjects {
		subject = ""
	}
	return rollupKey{tenant: tenant, meter: meter, minute: t.bucket(minute), subject: subject, dims: dims}
}

// rollupMerge is how each aggregation updates a stored row; T stands for
// the table's name.
var rollupMerge = map[usage.Aggregation]string{
	usage.Sum:    `T.value + excluded.value`,
	usage.Count:  `T.value + excluded.value`,
	usage.Max:    `CASE WHEN excluded.value > T.value THEN excluded.value ELSE T.value END`,
	usage.Latest: `CASE WHEN ` + newer + ` THEN excluded.value ELSE T.value END`,
}

// newer is "the excluded row's event is later than the stored one's".
const newer = `(excluded.latest_at > T.latest_at OR
	(excluded.latest_at = T.latest_at AND excluded.latest_key > T.latest_key))`

const rollupColumns = "tenant_id, meter, minute, subject, dims, value, events, latest_at, latest_key"

// conflict is how a roll-up row written again is merged into the stored
// one.
func (t *rollupTable) conflict(agg usage.Aggregation) string {
	return strings.ReplaceAll(`ON CONFLICT (tenant_id, meter, minute, subject, dims) DO UPDATE SET
		value = `+rollupMerge[agg]+`,
		events = T.events + excluded.events,
		latest_at = CASE WHEN `+newer+` THEN excluded.latest_at ELSE T.latest_at END,
		latest_key = CASE WHEN `+newer+` THEN excluded.latest_key ELSE T.latest_key END`, "T.", t.rollups+".")
}

const (
	uniqueColumns  = "tenant_id, meter, minute, subject, dims, value"
	uniqueConflict = "ON CONFLICT (tenant_id, meter, minute, subject, dims, value) DO NOTHING"
)

// rollupKey is one roll-up row's key.
type rollupKey struct {
	tenant, meter string
	minute        int64
	subject, dims string
}

func (a rollupKey) compare(b rollupKey) int {
	return cmp.Or(strings.Compare(a.tenant, b.tenant), strings.Compare(a.meter, b.meter), cmp.Compare(a.minute, b.minute),
		strings.Compare(a.subject, b.subject), strings.Compare(a.dims, b.dims))
}

// rollup is a batch's contribution to one roll-up row.
type rollup struct {
	key       rollupKey
	agg       usage.Aggregation
	value     float64
	events    int64
	latestAt  int64
	latestKey string
}

type uniqueRow struct {
	key   rollupKey
	value string
}

// RecordUsage implements usage.Store.
func (s *Store) RecordUsage(ctx context.Context, records []usage.Record) ([]usage.Outcome, error) {
	if len(records) > usage.MaxBatch {
		return nil, fault.Invalidf("", usage.CodeInvalidBatch, "at most %d usage events per batch, got %d", usage.MaxBatch, len(records))
	}
	out := make([]usage.Outcome, len(records))
	// Duplicates within the batch: the first copy counts.
	type eventKey struct{ tenant, source, id string }
	first := make(map[eventKey]int, len(records))
	tenants := []string{}
	for i := range records {
		e := &records[i].Event
		k := eventKey{e.TenantID, e.Source, e.ID}
		if _, dup := first[k]; dup {
			out[i].Status = usage.Duplicate
			continue
		}
		first[k] = i
		if !slices.Contains(tenants, e.TenantID) {
			tenants = append(tenants, e.TenantID)
		}
	}
	if len(first) == 0 {
		return out, nil
	}
	known, err := s.existingTenants(ctx, tenants)
	if err != nil {
		return nil, err
	}
	// Rows are written in key order, so that two transactions over the
	// same keys (two replicas, a redelivery) lock them in the same order
	// and wait for each other instead of deadlocking.
	todo := make([]int, 0, len(first))
	for k, i := range first {
		if !known[k.tenant] {
			out[i] = usage.Outcome{Status: usage.Rejected, Err: fault.Invalidf("tenant", usage.CodeUnknownTenant, "tenant %s does not exist", k.tenant)}
			continue
		}
		todo = append(todo, i)
	}
	slices.SortFunc(todo, func(a, b int) int {
		x, y := &records[a].Event, &records[b].Event
		return cmp.Or(strings.Compare(x.TenantID, y.TenantID), strings.Compare(x.Source, y.Source), strings.Compare(x.ID, y.ID))
	})
	if len(todo) == 0 {
		return out, nil
	}
	now := s.d.Time(time.Now())
	allNew := s.usage.allNew()
	record := func(tx *sql.Tx) error {
		inserted, err := s.insertUsageEvents(ctx, tx, records, todo, now, allNew)
		if err != nil {
			return err
		}
		var rollups []rollup
		var uniques []uniqueRow
		for i, t := range rollupTables {
			if t.allSubjects && i > 0 && rollupTables[i-1].width == t.width {
				rollups, uniques = foldSubjects(t, rollups, uniques)
			} else {
				rollups, uniques = usageRollups(t, records, todo, inserted)
			}
			if err := s.upsertRollups(ctx, tx, t, rollups); err != nil {
				return err
			}
			if err := s.insertUniques(ctx, tx, t, uniques); err != nil {
				return err
			}
		}
		for _, i := range todo {
			if !inserted[i] {
				out[i].Status = usage.Duplicate
			}
		}
		if len(inserted) < len(todo) {
			s.usage.sawDuplicate()
		}
		return nil
	}
	err = s.inTx(ctx, record)
	if allNew && errors.Is(err, errUsageNotNew) {
		// Nothing was written: again, telling the duplicates apart.
		s.usage.sawDuplicate()
		allNew = false
		err = s.inTx(ctx, record)
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

// usageDuplicates remembers when a batch last held an event already
// recorded, so that RecordUsage writes batches as all new (a plain INSERT,
// usagearrays.go) only while duplicates are rare: a batch that is not all
// new pays for its failed INSERT and its second transaction. Duplicates
// come in runs — a replica redelivering after a crash, a publisher
// retrying — so for usageDuplicateQuiet after one every batch goes through
// ON CONFLICT.
type usageDuplicates struct{ last atomic.Int64 }

const usageDuplicateQuiet = time.Minute

func (u *usageDuplicates) allNew() bool {
	return time.Since(time.Unix(0, u.last.Load())) > usageDuplicateQuiet
}

func (u *usageDuplicates) sawDuplicate() { u.last.Store(time.Now().UnixNano()) }

// existingTenants reports which of ids are tenants.
func (s *Store) existingTenants(ctx context.Context, ids []string) (map[string]bool, error) {
	rows, err := s.query(ctx, s.read, `SELECT id FROM tenants WHERE `+s.d.InList("id"), s.d.List(ids))
	found, err := collect(s, rows, err, func(r scanner) (string, error) {
		var id string
		return id, r.Scan(&id)
	})
	if err != nil {
		return nil, err
	}
	out := make(map[string]bool, len(found))
	for _, id := range found {
		out[id] = true
	}
	return out, nil
}

// insertUsageEvents inserts the raw rows of records[todo] and reports
// which were new. allNew is the dialect's fast path's (usagearrays.go);
// the multi-row INSERTs ignore it.
func (s *Store) insertUsageEvents(ctx context.Context, tx *sql.Tx, records []usage.Record, todo []int, now any, allNew bool) (map[int]bool, error) {
	if a, ok := s.d.(ArrayRows); ok {
		return s.insertUsageEventArrays(ctx, tx, a, records, todo, allNew)
	}
	type eventKey struct{ tenant, source, id string }
	at := make(map[eventKey]int, len(todo))
	inserted := make(map[int]bool, len(todo))
	args := make([]any, 0, 8*min(len(todo), usageRowsPerInsert))
	for start := 0; start < len(todo); start += usageRowsPerInsert {
		chunk := todo[start:min(start+usageRowsPerInsert, len(todo))]
		args = args[:0]
		for _, i := range chunk {
			e := &records[i].Event
			at[eventKey{e.TenantID, e.Source, e.ID}] = i
			args = append(args, e.TenantID, e.Source, e.ID, e.Type, e.Subject, s.d.Time(e.Time), now, string(e.Data))
		}
		rows, err := s.query(ctx, tx, usageEventInsert.get(len(chunk)), args...)
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
	}
	return inserted, nil
}

// usageRollups sums the contributions of the inserted events per row of
// t (a statement may not update one row twice), in key order.
func usageRollups(t *rollupTable, records []usage.Record, todo []int, inserted map[int]bool) ([]rollup, []uniqueRow) {
	byKey := map[rollupKey]*rollup{}
	uniqueSet := map[uniqueRow]struct{}{}
	for _, i := range todo {
		if !inserted[i] {
			continue
		}
		e := &records[i].Event
		at, key := e.Time.UnixMicro(), e.Key()
		for _, c := range records[i].Contributions {
			k := t.key(e.TenantID, c.Meter, e.Minute(), e.Subject, c.Dims)
			if c.Aggregation == usage.UniqueCount {
				uniqueSet[uniqueRow{key: k, value: c.Unique}] = struct{}{}
				continue
			}
			if r := byKey[k]; r != nil {
				r.merge(rollup{agg: c.Aggregation, value: c.Value, events: 1, latestAt: at, latestKey: key})
			} else {
				byKey[k] = &rollup{key: k, agg: c.Aggregation, value: c.Value, events: 1, latestAt: at, latestKey: key}
			}
		}
	}
	return sortedRollups(byKey, uniqueSet)
}

// merge adds o, a contribution of the same aggregation, to r.
func (r *rollup) merge(o rollup) {
	later := o.latestAt > r.latestAt || (o.latestAt == r.latestAt && o.latestKey > r.latestKey)
	switch r.agg {
	case usage.Max:
		r.value = max(r.value, o.value)
	case usage.Latest:
		if later {
			r.value = o.value
		}
	default:
		r.value += o.value
	}
	if later {
		r.latestAt, r.latestKey = o.latestAt, o.latestKey
	}
	r.events += o.events
}

// sortedRollups lists the rows of byKey by aggregation, then key, and
// the distinct values of uniqueSet by key and value.
func sortedRollups(byKey map[rollupKey]*rollup, uniqueSet map[uniqueRow]struct{}) ([]rollup, []uniqueRow) {
	rollups := make([]rollup, 0, len(byKey))
	for _, r := range byKey {
		rollups = append(rollups, *r)
	}
	slices.SortFunc(rollups, func(a, b rollup) int {
		return cmp.Or(strings.Compare(string(a.agg), string(b.agg)), a.key.compare(b.key))
	})
	uniques := make([]uniqueRow, 0, len(uniqueSet))
	for u := range uniqueSet {
		uniques = append(uniques, u)
	}
	slices.SortFunc(uniques, func(a, b uniqueRow) int {
		return cmp.Or(a.key.compare(b.key), strings.Compare(a.value, b.value))
	})
	return rollups, uniques
}

// foldSubjects folds rows of a per-subject table into the rows of t, a
// table of the same width over every subject: a batch's tenant-wide hours
// from its per-subject hours (tens of rows) rather than from its events
// again (a thousand).
func foldSubjects(t *rollupTable, rollups []rollup, uniques []uniqueRow) ([]rollup, []uniqueRow) {
	byKey := map[rollupKey]*rollup{}
	for _, r := range rollups {
		r.key = t.key(r.key.tenant, r.key.meter, r.key.minute, r.key.subject, r.key.dims)
		if f := byKey[r.key]; f != nil {
			f.merge(r)
		} else {
			byKey[r.key] = &r
		}
	}
	uniqueSet := make(map[uniqueRow]struct{}, len(uniques))
	for _, u := range uniques {
		u.key = t.key(u.key.tenant, u.key.meter, u.key.minute, u.key.subject, u.key.dims)
		uniqueSet[u] = struct{}{}
	}
	return sortedRollups(byKey, uniqueSet)
}

func (s *Store) upsertRollups(ctx context.Context, tx *sql.Tx, t *rollupTable, rollups []rollup) error {
	if a, ok := s.d.(ArrayRows); ok {
		return s.upsertRollupArrays(ctx, tx, a, t, rollups)
	}
	args := make([]any, 0, 9*min(len(rollups), usageRowsPerInsert))
	for start := 0; start < len(rollups); {
		// One statement per aggregation: rollups are sorted by it first.
		agg := rollups[start].agg
		end := start
		for end < len(rollups) && end-start < usageRowsPerInsert && rollups[end].agg == agg {
			end++
		}
		args = args[:0]
		for _, r := range rollups[start:end] {
			args = append(args, r.key.tenant, r.key.meter, r.key.minute, r.key.subject, r.key.dims, r.value, r.events, r.latestAt, r.latestKey)
		}
		if _, err := s.exec(ctx, tx, t.upsert[agg].get(end-start), args...); err != nil {
			return s.dbErr(err)
		}
		start = end
	}
	return nil
}

func (s *Store) insertUniques(ctx context.Context, tx *sql.Tx, t *rollupTable, uniques []uniqueRow) error {
	if a, ok := s.d.(ArrayRows); ok {
		return s.insertUniqueArrays(ctx, tx, a, t, uniques)
	}
	args := make([]any, 0, 6*min(len(uniques), usageRowsPerInsert))
	for start := 0; start < len(uniques); start += usageRowsPerInsert {
		chunk := uniques[start:min(start+usageRowsPerInsert, len(uniques))]
		args = args[:0]
		for _, u := range chunk {
			args = append(args, u.key.tenant, u.key.meter, u.key.minute, u.key.subject, u.key.dims, u.value)
		}
		if _, err := s.exec(ctx, tx, t.unique.get(len(chunk)), args...); err != nil {
			return s.dbErr(err)
		}
	}
	return nil
}
