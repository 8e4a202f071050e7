package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"

	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/usage"
)

// rollupRange is the roll-up rows of one meter of one tenant (and one
// subject, when set) over minutes [from, to): hour rows for the whole
// hours of hours, minute rows for the rest. allSubjects says the answer
// folds every subject together (no subject kept, none grouped), so the
// tenant-wide hour rows can answer the hours.
type rollupRange struct {
	tenant, meter, subject string
	from, to               int64
	hours                  usage.MinuteRange
	allSubjects            bool
}

// check refuses hours that are not whole hours inside the range: rows
// would be counted twice or not at all.
func (r rollupRange) check() error {
	h := r.hours
	if h.Empty() {
		return nil
	}
	if h.From < r.from || h.To > r.to || h.From%60 != 0 || h.To%60 != 0 {
		return fmt.Errorf("usage: hours [%d, %d) are not whole hours of [%d, %d)", h.From, h.To, r.from, r.to)
	}
	return nil
}

// hourStart is the first minute the hour roll-ups hold whole: 0, or on a
// database that held usage when migration 00021 ran, the hour it chose
// (hours before it may lack rows, so their minutes are read).
// tenantHourStart is the same for the tenant-wide hour roll-ups (migration
// 00024), never before hourStart: the hours between the two are read from
// the per-subject hour rows.
const (
	hourStart       = `(SELECT minute FROM usage_hour_start)`
	tenantHourStart = `(SELECT minute FROM usage_tenant_hour_start)`
)

// bound is a minute as an SQL expression of its arguments.
type bound struct {
	sql  string
	args []any
}

func exactly(m int64) bound { return bound{"?", []any{m}} }

// atLeast is the later of m and the minute start holds; atMost the
// earlier.
func atLeast(m int64, start string) bound {
	return bound{`CASE WHEN ? > ` + start + ` THEN ? ELSE ` + start + ` END`, []any{m, m}}
}

func atMost(m int64, start string) bound {
	return bound{`CASE WHEN ? < ` + start + ` THEN ? ELSE ` + start + ` END`, []any{m, m}}
}

// source returns " FROM …" over the range's rows of the aggregates, or of
// the distinct values when uniques, with cols (column names) and the
// condition extra (bound to extraArgs) on each table, and its arguments.
// Each table is read by its key's range: with hours, a UNION ALL of the
// tenant-wide hour rows from tenantHourStart on (when allSubjects), the
// per-subject hour rows from hourStart on, the minute rows of the hours
// before it, and the minute rows of the edges before and after the hours.
func (r rollupRange) source(uniques bool, cols, extra string, extraArgs ...any) (string, []any) {
	// A part is minutes [from, to) of a table.
	type part struct {
		t        *rollupTable
		from, to bound
	}
	parts := []part{{minuteTable, exactly(r.from), exactly(r.to)}}
	if h := r.hours; !h.Empty() {
		parts = []part{{minuteTable, exactly(r.from), exactly(h.From)}, {minuteTable, exactly(h.From), atMost(h.To, hourStart)}}
		if r.allSubjects {
			parts = append(parts,
				part{hourTable, atLeast(h.From, hourStart), atMost(h.To, tenantHourStart)},
				part{tenantHourTable, atLeast(h.From, tenantHourStart), exactly(h.To)})
		} else {
			parts = append(parts, part{hourTable, atLeast(h.From, hourStart), exactly(h.To)})
		}
		parts = append(parts, part{minuteTable, exactly(h.To), exactly(r.to)})
		if r.from == h.From {
			parts = parts[1:]
		}
		if h.To == r.to {
			parts = parts[:len(parts)-1]
		}
	}
	var branches []string
	var args []any
	for _, p := range parts {
		table := p.t.rollups
		if uniques {
			table = p.t.uniques
		}
		where := ` FROM ` + table + ` WHERE tenant_id = ? AND meter = ? AND minute >= ` + p.from.sql + ` AND minute < ` + p.to.sql
		args = append(append(append(args, r.tenant, r.meter), p.from.args...), p.to.args...)
		if r.subject != "" {
			where += ` AND subject = ?`
			args = append(args, r.subject)
		}
		branches = append(branches, where+extra)
		args = append(args, extraArgs...)
	}
	if len(branches) == 1 {
		return branches[0], args
	}
	for i, b := range branches {
		branches[i] = `SELECT ` + cols + b
	}
	return ` FROM (` + strings.Join(branches, ` UNION ALL `) + `) rollups`, args
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
	rng := rollupRange{tenant: q.TenantID, meter: q.Meter, subject: q.Subject, from: q.FromMinute, to: q.ToMinute, hours: q.Hours,
		allSubjects: q.Subject == "" && !q.BySubject}
	if err := rng.check(); err != nil {
		return nil, err
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
		from, args := rng.source(false, "minute, subject, dims, value", "")
		rows, err := s.query(ctx, s.read, `SELECT `+cols+`, `+agg+`(value)`+from+groupBy, args...)
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
		from, args := rng.source(false, "minute, subject, dims, value, latest_at, latest_key", "")
		rows, err := s.query(ctx, s.read, `SELECT `+cols+`, value, latest_at, latest_key`+from, args...)
		return collect(s, rows, err, func(r scanner) (usage.Partial, error) {
			var p usage.Partial
			return p, r.Scan(&p.Window, &p.Subject, &p.Dims, &p.Value, &p.LatestAt, &p.LatestKey)
		})
	case usage.UniqueCount:
		from, args := rng.source(true, "minute, subject, dims, value", "")
		rows, err := s.query(ctx, s.read, `SELECT DISTINCT `+cols+`, value`+from, args...)
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
	rng := rollupRange{tenant: q.TenantID, meter: q.Meter, subject: q.Subject, from: q.FromMinute, to: q.ToMinute, hours: q.Hours,
		allSubjects: q.Subject == ""}
	if err := rng.check(); err != nil {
		return nil, err
	}
	var after string
	var afterArgs []any
	if q.After != nil {
		// After (window, dims): a later window, or the same one with
		// greater dimensions.
		after = ` AND minute >= ? AND (minute >= ? OR dims > ?)`
		afterArgs = []any{q.After.Window, q.After.Window + max(q.WindowMinutes, 1), q.After.Dims}
	}
	tail := ` GROUP BY ` + window + `, dims ORDER BY 1, 2 LIMIT ?`
	var query string
	var args []any
	switch q.Aggregation {
	case usage.Sum, usage.Count, usage.Max:
		agg := "sum"
		if q.Aggregation == usage.Max {
			agg = "max"
		}
		var from string
		from, args = rng.source(false, "minute, dims, value", after, afterArgs...)
		query = `SELECT ` + window + `, dims, ` + agg + `(value)` + from + tail
	case usage.UniqueCount:
		var from string
		from, args = rng.source(true, "minute, dims, value", after, afterArgs...)
		query = `SELECT ` + window + `, dims, count(DISTINCT value)` + from + tail
	case usage.Latest:
		var from string
		from, args = rng.source(false, "minute, dims, value, latest_at, latest_key", after, afterArgs...)
		query = `SELECT w, dims, value FROM (
			SELECT ` + window + ` AS w, dims, value,
			       row_number() OVER (PARTITION BY ` + window + `, dims ORDER BY latest_at DESC, latest_key DESC) AS rank
			` + from + `) latest WHERE rank = 1 ORDER BY 1, 2 LIMIT ?`
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
