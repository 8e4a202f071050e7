package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/usage"
)

// storedEvent is a raw event as the corrections read it.
type storedEvent struct {
	typ, subject       string
	at                 time.Time
	data               string
	voidedBy           sql.NullString
	rootSource, rootID sql.NullString
	source, id         string
}

func (s *Store) storedEvent(ctx context.Context, tx *sql.Tx, tenantID, source, id string) (storedEvent, bool, error) {
	e := storedEvent{source: source, id: id}
	err := s.queryRow(ctx, tx, `SELECT type, subject, occurred_at, data, voided_by, root_source, root_id
		FROM usage_events WHERE tenant_id = ? AND source = ? AND id = ?`, tenantID, source, id).
		Scan(&e.typ, &e.subject, at(&e.at), &e.data, &e.voidedBy, &e.rootSource, &e.rootID)
	if errors.Is(err, sql.ErrNoRows) {
		return e, false, nil
	}
	return e, err == nil, s.dbErr(err)
}

// CorrectUsage implements usage.Store. The corrected event's row is
// marked with a conditional UPDATE, so of two corrections of one event
// racing on two replicas one finds it voided and is rejected; the
// rejection rolls back its raw row.
func (s *Store) CorrectUsage(ctx context.Context, c usage.CorrectionRecord) (usage.Outcome, error) {
	e := &c.Event
	var out usage.Outcome
	var rejected *fault.Error
	reject := func(code fault.Code, field, format string, args ...any) error {
		rejected = fault.Invalidf(field, code, format, args...)
		return rejected
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		// Corrections and rebuilds of a tenant take turns: two measuring
		// one minute again at once would each miss the other's void, and
		// MAX's merge would keep the larger, voided value. Recording events
		// takes no such lock.
		if err := s.lockTenant(ctx, tx, e.TenantID); err != nil {
			return err
		}
		if _, seen, err := s.storedEvent(ctx, tx, e.TenantID, e.Source, e.ID); err != nil || seen {
			out.Status = usage.Duplicate
			return err
		}
		target, ok, err := s.storedEvent(ctx, tx, e.TenantID, c.Correction.Source, c.Correction.ID)
		switch {
		case err != nil:
			return err
		case !ok:
			return reject(usage.CodeCorrectionUnknown, "data.event_id", "no event %q of source %q in this tenant", c.Correction.ID, c.Correction.Source)
		case target.typ == usage.TypeVoid:
			return reject(usage.CodeCorrectionVoided, "data.event_id", "event %q is a void, which nothing corrects", c.Correction.ID)
		case target.voidedBy.Valid:
			return reject(usage.CodeCorrectionVoided, "data.event_id", "event %q is voided already", c.Correction.ID)
		}
		// The root is the event whose type, subject and time count: an
		// amendment stands in for the event it amended.
		root := target
		if target.typ == usage.TypeAmend {
			if root, ok, err = s.storedEvent(ctx, tx, e.TenantID, target.rootSource.String, target.rootID.String); err != nil {
				return err
			} else if !ok {
				return fmt.Errorf("usage: the event amendment %q amends is missing", target.id)
			}
		}
		var rootSource, rootID any
		if e.Type == usage.TypeAmend {
			if _, err := usage.Restore(e.TenantID, root.source, root.id, root.typ, root.subject, root.at, c.Correction.Data); err != nil {
				var fe *fault.Error
				if errors.As(err, &fe) {
					return reject(fe.Code, "data."+fe.Field, "the replacement data: %s", fe.Detail)
				}
				return err
			}
			rootSource, rootID = root.source, root.id
		}
		rows, err := s.query(ctx, tx, `INSERT INTO usage_events (tenant_id, source, id, type, subject, occurred_at, received_at, data, root_source, root_id)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (tenant_id, source, id) DO NOTHING RETURNING id`,
			e.TenantID, e.Source, e.ID, e.Type, e.Subject, s.d.Time(e.Time), s.d.Time(time.Now()), string(e.Data), rootSource, rootID)
		ids, err := collect(s, rows, err, func(r scanner) (string, error) {
			var id string
			return id, r.Scan(&id)
		})
		if err != nil || len(ids) == 0 {
			out.Status = usage.Duplicate
			return err
		}
		res, err := s.exec(ctx, tx, `UPDATE usage_events SET voided_by = ? WHERE tenant_id = ? AND source = ? AND id = ? AND voided_by IS NULL`,
			e.Key(), e.TenantID, target.source, target.id)
		if err != nil {
			return s.dbErr(err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n != 1 {
			return reject(usage.CodeCorrectionVoided, "data.event_id", "event %q is voided already", c.Correction.ID)
		}
		return s.applyCorrection(ctx, tx, c, root, target)
	})
	if rejected != nil {
		// fn returned the rejection and the transaction rolled back.
		return usage.Outcome{Status: usage.Rejected, Err: rejected}, nil
	}
	if err != nil {
		return usage.Outcome{}, err
	}
	return out, nil
}

// applyCorrection moves the roll-ups of the root's minute, hour and
// subject, and of its hour over every subject. SUM and COUNT take the
// difference (the voided data's contributions subtracted, an amendment's
// added) in every table, which commutes with events recorded at the same
// time by other transactions. MAX, LATEST and UNIQUE_COUNT cannot be
// undone by a difference, so their rows are measured again from the raw
// events (remeasure: the minute, and the hour around it).
func (s *Store) applyCorrection(ctx context.Context, tx *sql.Tx, c usage.CorrectionRecord, root, target storedEvent) error {
	var additive, others []usage.Meter
	for _, m := range c.Meters(root.typ) {
		if m.Aggregation == usage.Sum || m.Aggregation == usage.Count {
			additive = append(additive, m)
		} else {
			others = append(others, m)
		}
	}
	minute := root.at.Unix() / 60
	// The tenant-wide hour row moves by the same difference as the
	// subject's.
	for _, t := range rollupTables {
		if err := s.moveAdditive(ctx, tx, t, c, root, target, minute, additive); err != nil {
			return err
		}
	}
	_, err := s.remeasure(ctx, tx, c.Event.TenantID, root.typ, root.subject, minute, minute+1, others)
	return err
}

// moveAdditive applies a correction's difference to the SUM and COUNT
// rows of t.
func (s *Store) moveAdditive(ctx context.Context, tx *sql.Tx, t *rollupTable, c usage.CorrectionRecord, root, target storedEvent, minute int64, additive []usage.Meter) error {
	byKey := map[rollupKey]*rollup{}
	add := func(data []byte, sign float64) {
		e, err := usage.Restore(c.Event.TenantID, root.source, root.id, root.typ, root.subject, root.at, data)
		if err != nil {
			// Data that no meter measured adds nothing to take back.
			return
		}
		for _, m := range additive {
			cs, err := usage.Contributions(&e, []usage.Meter{m})
			if err != nil {
				continue
			}
			for _, ct := range cs {
				k := t.key(e.TenantID, ct.Meter, minute, e.Subject, ct.Dims)
				r := byKey[k]
				if r == nil {
					r = &rollup{key: k, agg: usage.Sum, latestKey: ""}
					byKey[k] = r
				}
				r.value += sign * ct.Value
				r.events += int64(sign)
				if sign > 0 {
					// A row the amendment creates orders its LATEST like
					// the event it stands in for.
					r.latestAt, r.latestKey = e.Time.UnixMicro(), e.Key()
				}
			}
		}
	}
	old, err := effectiveData(target)
	if err != nil {
		return err
	}
	add(old, -1)
	if c.Event.Type == usage.TypeAmend {
		add(c.Correction.Data, 1)
	}
	rollups := make([]rollup, 0, len(byKey))
	for _, r := range byKey {
		rollups = append(rollups, *r)
	}
	slices.SortFunc(rollups, func(a, b rollup) int { return a.key.compare(b.key) })
	return s.upsertRollups(ctx, tx, t, rollups)
}

// effectiveData is the data an event counts with: an amendment's
// replacement, or the event's own.
func effectiveData(e storedEvent) ([]byte, error) {
	if e.typ != usage.TypeAmend {
		return []byte(e.data), nil
	}
	var a struct {
		Data json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal([]byte(e.data), &a); err != nil {
		return nil, fmt.Errorf("usage: stored amendment %q: %w", e.id, err)
	}
	return a.Data, nil
}

// remeasure measures again the roll-ups of meters (all of event type typ)
// in tenantID over minutes [from, to), of subject or of every subject when
// it is "": their minute rows, the hour rows of every hour the range
// touches, and those hours' tenant-wide rows (of every subject, whatever
// subject is), are deleted and written again from the raw events that
// still count — those not voided, and amendments' replacement data at the
// time of the event they amend. A raw event that a meter cannot measure (a
// dimension of the wrong kind, for a meter defined after it was recorded)
// is left out of that meter, as it would have been refused. Rows are
// written back with the aggregations' own merge (max, latest, distinct),
// so a row that an event recorded meanwhile by another transaction writes
// too ends up right. It returns how many raw events of [from, to) it
// measured.
func (s *Store) remeasure(ctx context.Context, tx *sql.Tx, tenantID, typ, subject string, from, to int64, meters []usage.Meter) (int, error) {
	if len(meters) == 0 {
		return 0, nil
	}
	// The hours around [from, to): an hour row is measured whole.
	hourFrom, hourTo := hourTable.bucket(from), hourTable.bucket(to+hourTable.width-1)
	names := make([]string, len(meters))
	for i, m := range meters {
		names[i] = m.Name
	}
	for _, t := range rollupTables {
		lo, hi := from, to
		if t != minuteTable {
			lo, hi = hourFrom, hourTo
		}
		where := ` WHERE tenant_id = ? AND ` + s.d.InList("meter") + ` AND minute >= ? AND minute < ?`
		args := []any{tenantID, s.d.List(names), lo, hi}
		if subject != "" && !t.allSubjects {
			where += ` AND subject = ?`
			args = append(args, subject)
		}
		for _, table := range []string{t.rollups, t.uniques} {
			if _, err := s.exec(ctx, tx, `DELETE FROM `+table+where, args...); err != nil {
				return 0, s.dbErr(err)
			}
		}
	}
	records, err := s.measurable(ctx, tx, tenantID, typ, subject, hourFrom, hourTo, meters)
	if err != nil {
		return 0, err
	}
	everyone := records
	if subject != "" {
		// The tenant-wide hours fold in the other subjects' events too.
		if everyone, err = s.measurable(ctx, tx, tenantID, typ, "", hourFrom, hourTo, meters); err != nil {
			return 0, err
		}
	}
	inRange := 0
	for _, t := range rollupTables {
		rs := records
		if t.allSubjects {
			rs = everyone
		}
		todo := make([]int, 0, len(rs))
		inserted := make(map[int]bool, len(rs))
		for i := range rs {
			if m := rs[i].Event.Minute(); t != minuteTable || (m >= from && m < to) {
				todo, inserted[i] = append(todo, i), true
			}
		}
		if t == minuteTable {
			inRange = len(todo)
		}
		rollups, uniques := usageRollups(t, rs, todo, inserted)
		if err := s.upsertRollups(ctx, tx, t, rollups); err != nil {
			return 0, err
		}
		if err := s.insertUniques(ctx, tx, t, uniques); err != nil {
			return 0, err
		}
	}
	return inRange, nil
}

// measurable reads the raw events of type typ in tenantID over minutes
// [from, to) (of subject alone unless it is "") that still count, with
// their contributions to meters.
func (s *Store) measurable(ctx context.Context, tx *sql.Tx, tenantID, typ, subject string, from, to int64, meters []usage.Meter) ([]usage.Record, error) {
	fromAt, toAt := s.d.Time(time.Unix(from*60, 0)), s.d.Time(time.Unix(to*60, 0))
	own := ` AND e.subject = ?`
	if subject == "" {
		own = ` AND ? = ''`
	}
	rows, err := s.query(ctx, tx, `SELECT e.source, e.id, e.subject, e.occurred_at, e.data, 0 FROM usage_events e
		WHERE e.tenant_id = ? AND e.occurred_at >= ? AND e.occurred_at < ? AND e.type = ? AND e.voided_by IS NULL`+own+`
		UNION ALL
		SELECT e.source, e.id, e.subject, e.occurred_at, a.data, 1 FROM usage_events e
		JOIN usage_events a ON a.tenant_id = e.tenant_id AND a.root_source = e.source AND a.root_id = e.id AND a.root_id IS NOT NULL
		WHERE e.tenant_id = ? AND e.occurred_at >= ? AND e.occurred_at < ? AND e.type = ? AND a.voided_by IS NULL`+own,
		tenantID, fromAt, toAt, typ, subject, tenantID, fromAt, toAt, typ, subject)
	type raw struct {
		source, id, subject string
		at                  time.Time
		data                string
		amended             bool
	}
	got, err := collect(s, rows, err, func(r scanner) (raw, error) {
		var x raw
		return x, r.Scan(&x.source, &x.id, &x.subject, at(&x.at), &x.data, &x.amended)
	})
	if err != nil {
		return nil, err
	}
	records := make([]usage.Record, 0, len(got))
	for _, x := range got {
		data := []byte(x.data)
		if x.amended {
			if data, err = effectiveData(storedEvent{typ: usage.TypeAmend, id: x.id, data: x.data}); err != nil {
				return nil, err
			}
		}
		e, err := usage.Restore(tenantID, x.source, x.id, typ, x.subject, x.at, data)
		if err != nil {
			continue
		}
		var cs []usage.Contribution
		for _, m := range meters {
			c, err := usage.Contributions(&e, []usage.Meter{m})
			if err == nil {
				cs = append(cs, c...)
			}
		}
		records = append(records, usage.Record{Event: e, Contributions: cs})
	}
	return records, nil
}

// rebuildAttempts bounds how often a rebuild step runs again after its
// snapshot lost to a concurrent write (or the database did not answer),
// and rebuildPause is the first wait between attempts, doubled each time
// (about 10 s in all). A tenant-wide hour row is written by every event
// of its tenant and hour, so a step over hours still being recorded
// loses to a writer on most attempts made while one is busy; waiting,
// rather than trying again at once, lets a burst of recording pass.
const (
	rebuildAttempts = 11
	rebuildPause    = 10 * time.Millisecond
)

// RebuildUsage implements usage.Store. Where writers run side by side
// (PostgreSQL), the step reads and writes one snapshot (REPEATABLE READ):
// an event committed after the step began is neither in the raw events it
// reads nor in the rows it deletes, and if its roll-up rows are ones the
// step writes too, the database refuses the step (a serialization
// failure) and the step runs again. Without the snapshot, an event
// committed between the step's delete and its read was counted by both.
// Recording still never waits for a rebuild.
func (s *Store) RebuildUsage(ctx context.Context, tenantID string, m usage.Meter, fromMinute, toMinute int64) (int, error) {
	var n int
	var err error
	for attempt := range rebuildAttempts {
		if attempt > 0 {
			// Jittered, so that two rebuilds do not retry in step.
			pause := rebuildPause << (attempt - 1)
			select {
			case <-time.After(pause/2 + rand.N(pause/2)):
			case <-ctx.Done():
				return 0, ctx.Err()
			}
		}
		err = s.inTx(ctx, func(tx *sql.Tx) error {
			if s.d.ForUpdate() != "" {
				if _, err := tx.ExecContext(ctx, `SET TRANSACTION ISOLATION LEVEL REPEATABLE READ`); err != nil {
					return s.dbErr(err)
				}
			}
			if err := s.lockTenant(ctx, tx, tenantID); err != nil {
				return err
			}
			var err error
			n, err = s.remeasure(ctx, tx, tenantID, m.EventType, "", fromMinute, toMinute, []usage.Meter{m})
			return err
		})
		if fault.KindOf(err) != fault.Unavailable || ctx.Err() != nil {
			break
		}
	}
	return n, err
}
