package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"slices"
	"strconv"
	"strings"
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

// newer is "the excluded row's event is later than the stored one's".
const newer = `(excluded.latest_at > usage_rollups.latest_at OR
	(excluded.latest_at = usage_rollups.latest_at AND excluded.latest_key > usage_rollups.latest_key))`

// rollupValue is how each aggregation updates a stored minute.
var rollupValue = map[usage.Aggregation]string{
	usage.Sum:    `usage_rollups.value + excluded.value`,
	usage.Count:  `usage_rollups.value + excluded.value`,
	usage.Max:    `CASE WHEN excluded.value > usage_rollups.value THEN excluded.value ELSE usage_rollups.value END`,
	usage.Latest: `CASE WHEN ` + newer + ` THEN excluded.value ELSE usage_rollups.value END`,
}

const rollupColumns = "tenant_id, meter, minute, subject, dims, value, events, latest_at, latest_key"

// rollupConflict is how a roll-up row written again is merged into the
// stored one.
func rollupConflict(agg usage.Aggregation) string {
	return `ON CONFLICT (tenant_id, meter, minute, subject, dims) DO UPDATE SET
		value = ` + rollupValue[agg] + `,
		events = usage_rollups.events + excluded.events,
		latest_at = CASE WHEN ` + newer + ` THEN excluded.latest_at ELSE usage_rollups.latest_at END,
		latest_key = CASE WHEN ` + newer + ` THEN excluded.latest_key ELSE usage_rollups.latest_key END`
}

var rollupUpsert = func() map[usage.Aggregation]*sqlCache {
	out := map[usage.Aggregation]*sqlCache{}
	for agg := range rollupValue {
		out[agg] = newSQLCache(func(n int) string {
			return multiRow("usage_rollups", rollupColumns, 9, n, rollupConflict(agg))
		})
	}
	return out
}()

const (
	uniqueColumns  = "tenant_id, meter, minute, subject, dims, value"
	uniqueConflict = "ON CONFLICT (tenant_id, meter, minute, subject, dims, value) DO NOTHING"
)

var uniqueInsert = newSQLCache(func(n int) string {
	return multiRow("usage_uniques", uniqueColumns, 6, n, uniqueConflict)
})

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
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		inserted, err := s.insertUsageEvents(ctx, tx, records, todo, now)
		if err != nil {
			return err
		}
		rollups, uniques := usageRollups(records, todo, inserted)
		if err := s.upsertRollups(ctx, tx, rollups); err != nil {
			return err
		}
		if err := s.insertUniques(ctx, tx, uniques); err != nil {
			return err
		}
		for _, i := range todo {
			if !inserted[i] {
				out[i].Status = usage.Duplicate
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

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
// which were new.
func (s *Store) insertUsageEvents(ctx context.Context, tx *sql.Tx, records []usage.Record, todo []int, now any) (map[int]bool, error) {
	if a, ok := s.d.(ArrayRows); ok {
		return s.insertUsageEventArrays(ctx, tx, a, records, todo)
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

// usageRollups sums the contributions of the inserted events per roll-up
// row (a statement may not update one row twice), in key order.
func usageRollups(records []usage.Record, todo []int, inserted map[int]bool) ([]rollup, []uniqueRow) {
	byKey := map[rollupKey]*rollup{}
	uniqueSet := map[uniqueRow]struct{}{}
	for _, i := range todo {
		if !inserted[i] {
			continue
		}
		e := &records[i].Event
		at, key := e.Time.UnixMicro(), e.Key()
		for _, c := range records[i].Contributions {
			k := rollupKey{tenant: e.TenantID, meter: c.Meter, minute: e.Minute(), subject: e.Subject, dims: c.Dims}
			if c.Aggregation == usage.UniqueCount {
				uniqueSet[uniqueRow{key: k, value: c.Unique}] = struct{}{}
				continue
			}
			r := byKey[k]
			if r == nil {
				byKey[k] = &rollup{key: k, agg: c.Aggregation, value: c.Value, events: 1, latestAt: at, latestKey: key}
				continue
			}
			later := at > r.latestAt || (at == r.latestAt && key > r.latestKey)
			switch c.Aggregation {
			case usage.Max:
				r.value = max(r.value, c.Value)
			case usage.Latest:
				if later {
					r.value = c.Value
				}
			default:
				r.value += c.Value
			}
			if later {
				r.latestAt, r.latestKey = at, key
			}
			r.events++
		}
	}
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

func (s *Store) upsertRollups(ctx context.Context, tx *sql.Tx, rollups []rollup) error {
	if a, ok := s.d.(ArrayRows); ok {
		return s.upsertRollupArrays(ctx, tx, a, rollups)
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
		if _, err := s.exec(ctx, tx, rollupUpsert[agg].get(end-start), args...); err != nil {
			return s.dbErr(err)
		}
		start = end
	}
	return nil
}

func (s *Store) insertUniques(ctx context.Context, tx *sql.Tx, uniques []uniqueRow) error {
	if a, ok := s.d.(ArrayRows); ok {
		return s.insertUniqueArrays(ctx, tx, a, uniques)
	}
	args := make([]any, 0, 6*min(len(uniques), usageRowsPerInsert))
	for start := 0; start < len(uniques); start += usageRowsPerInsert {
		chunk := uniques[start:min(start+usageRowsPerInsert, len(uniques))]
		args = args[:0]
		for _, u := range chunk {
			args = append(args, u.key.tenant, u.key.meter, u.key.minute, u.key.subject, u.key.dims, u.value)
		}
		if _, err := s.exec(ctx, tx, uniqueInsert.get(len(chunk)), args...); err != nil {
			return s.dbErr(err)
		}
	}
	return nil
}

// ReadUsage implements usage.Store. The window, subject and dimension
// columns are fixed by the query's shape (integers and column names from
// code, never from the caller), and SUM, COUNT and MAX aggregate in the
// database; LATEST and UNIQUE_COUNT return their rows for usage to fold.
func (s *Store) ReadUsage(ctx context.Context, q usage.StoreQuery) ([]usage.Partial, error) {
	window := strconv.FormatInt(q.FromMinute, 10)
	var group []string
	if q.WindowMinutes > 0 {
		// Minutes since 1970 exceed any offset, so minute + offset is
		// positive and integer division floors it.
		n, off := strconv.FormatInt(q.WindowMinutes, 10), strconv.FormatInt(q.OffsetMinutes, 10)
		window = "((minute + " + off + ") / " + n + ") * " + n + " - " + off
		if q.OffsetMinutes == 0 {
			window = "(minute / " + n + ") * " + n
		}
		group = append(group, window)
	}
	subject, dims := "''", "''"
	if q.BySubject {
		subject = "subject"
		group = append(group, subject)
	}
	if q.ByDims {
		dims = "dims"
		group = append(group, dims)
	}
	where := ` WHERE tenant_id = ? AND meter = ? AND minute >= ? AND minute < ?`
	args := []any{q.TenantID, q.Meter, q.FromMinute, q.ToMinute}
	if q.Subject != "" {
		where += ` AND subject = ?`
		args = append(args, q.Subject)
	}
	cols := window + `, ` + subject + `, ` + dims
	groupBy := ""
	if len(group) > 0 {
		groupBy = ` GROUP BY ` + strings.Join(group, ", ")
	}
	switch q.Aggregation {
	case usage.Sum, usage.Count, usage.Max:
		agg := "sum"
		if q.Aggregation == usage.Max {
			agg = "max"
		}
		// Without GROUP BY an aggregate over no rows is one row of NULL.
		type maybe struct {
			p  usage.Partial
			ok bool
		}
		rows, err := s.query(ctx, s.read, `SELECT `+cols+`, `+agg+`(value) FROM usage_rollups`+where+groupBy, args...)
		got, err := collect(s, rows, err, func(r scanner) (maybe, error) {
			var m maybe
			var v sql.NullFloat64
			err := r.Scan(&m.p.Window, &m.p.Subject, &m.p.Dims, &v)
			m.p.Value, m.ok = v.Float64, v.Valid
			return m, err
		})
		if err != nil {
			return nil, err
		}
		parts := make([]usage.Partial, 0, len(got))
		for _, m := range got {
			if m.ok {
				parts = append(parts, m.p)
			}
		}
		return parts, nil
	case usage.Latest:
		rows, err := s.query(ctx, s.read, `SELECT `+cols+`, value, latest_at, latest_key FROM usage_rollups`+where, args...)
		return collect(s, rows, err, func(r scanner) (usage.Partial, error) {
			var p usage.Partial
			return p, r.Scan(&p.Window, &p.Subject, &p.Dims, &p.Value, &p.LatestAt, &p.LatestKey)
		})
	case usage.UniqueCount:
		rows, err := s.query(ctx, s.read, `SELECT DISTINCT `+cols+`, value FROM usage_uniques`+where, args...)
		return collect(s, rows, err, func(r scanner) (usage.Partial, error) {
			var p usage.Partial
			return p, r.Scan(&p.Window, &p.Subject, &p.Dims, &p.Unique)
		})
	}
	return nil, fault.Invalidf("meter", usage.CodeInvalidQuery, "unknown aggregation %q", q.Aggregation)
}

// ReadUsagePage implements usage.Store. It aggregates over subjects per
// window and dimension set in the database, for every aggregation (LATEST
// by ranking each group's rows, UNIQUE_COUNT by counting distinct values),
// and pages by (window, dims): a group lies whole in one page, since the
// keyset condition keeps or skips whole groups. The window length is an
// integer from code, never from the caller.
func (s *Store) ReadUsagePage(ctx context.Context, q usage.PageQuery) ([]usage.Partial, error) {
	n := strconv.FormatInt(max(q.WindowMinutes, 1), 10)
	window := "(minute / " + n + ") * " + n
	where := ` WHERE tenant_id = ? AND meter = ? AND minute >= ? AND minute < ?`
	args := []any{q.TenantID, q.Meter, q.FromMinute, q.ToMinute}
	if q.Subject != "" {
		where += ` AND subject = ?`
		args = append(args, q.Subject)
	}
	if q.After != nil {
		// After (window, dims): a later window, or the same one with
		// greater dimensions.
		where += ` AND minute >= ? AND (minute >= ? OR dims > ?)`
		args = append(args, q.After.Window, q.After.Window+max(q.WindowMinutes, 1), q.After.Dims)
	}
	tail := ` GROUP BY ` + window + `, dims ORDER BY 1, 2 LIMIT ?`
	var query string
	switch q.Aggregation {
	case usage.Sum, usage.Count:
		query = `SELECT ` + window + `, dims, sum(value) FROM usage_rollups` + where + tail
	case usage.Max:
		query = `SELECT ` + window + `, dims, max(value) FROM usage_rollups` + where + tail
	case usage.UniqueCount:
		query = `SELECT ` + window + `, dims, count(DISTINCT value) FROM usage_uniques` + where + tail
	case usage.Latest:
		query = `SELECT w, dims, value FROM (
			SELECT ` + window + ` AS w, dims, value,
			       row_number() OVER (PARTITION BY ` + window + `, dims ORDER BY latest_at DESC, latest_key DESC) AS rank
			FROM usage_rollups` + where + `) latest WHERE rank = 1 ORDER BY 1, 2 LIMIT ?`
	default:
		return nil, fault.Invalidf("meter", usage.CodeInvalidQuery, "unknown aggregation %q", q.Aggregation)
	}
	args = append(args, q.Limit)
	rows, err := s.query(ctx, s.read, query, args...)
	return collect(s, rows, err, func(r scanner) (usage.Partial, error) {
		var p usage.Partial
		return p, r.Scan(&p.Window, &p.Dims, &p.Value)
	})
}
