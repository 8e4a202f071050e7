package usage

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tollgate/tollgate/fault"
)

func TestExportQueryCheck(t *testing.T) {
	now := time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)
	day := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name     string
		q        ExportQuery
		field    string // "" when valid
		from, to time.Time
		window   Window
	}{
		{"no range is the current period by day", ExportQuery{}, "", day, day.AddDate(0, 1, 0), WindowDay},
		{"hours", ExportQuery{Window: WindowHour, From: day.Add(time.Hour), To: day.Add(5 * time.Hour)}, "", day.Add(time.Hour), day.Add(5 * time.Hour), WindowHour},
		{"times in another zone are UTC", ExportQuery{From: day.In(time.FixedZone("x", 3600)), To: day.AddDate(0, 0, 2)}, "", day, day.AddDate(0, 0, 2), WindowDay},
		{"a whole year", ExportQuery{From: day, To: day.Add(MaxRange)}, "", day, day.Add(MaxRange), WindowDay},
		{"minutes are no export window", ExportQuery{Window: WindowMinute}, "window", time.Time{}, time.Time{}, ""},
		{"an unknown window", ExportQuery{Window: "week"}, "window", time.Time{}, time.Time{}, ""},
		{"from without to", ExportQuery{From: day}, "from", time.Time{}, time.Time{}, ""},
		{"to without from", ExportQuery{To: day}, "from", time.Time{}, time.Time{}, ""},
		{"from after to", ExportQuery{From: day.AddDate(0, 0, 2), To: day}, "to", time.Time{}, time.Time{}, ""},
		{"an empty range", ExportQuery{From: day, To: day}, "to", time.Time{}, time.Time{}, ""},
		{"more than a year", ExportQuery{From: day, To: day.Add(MaxRange + 24*time.Hour)}, "to", time.Time{}, time.Time{}, ""},
		{"before 1970", ExportQuery{From: time.Date(1969, 12, 1, 0, 0, 0, 0, time.UTC), To: day}, "to", time.Time{}, time.Time{}, ""},
		{"not whole days", ExportQuery{From: day.Add(time.Hour), To: day.AddDate(0, 0, 1)}, "from", time.Time{}, time.Time{}, ""},
		{"not whole hours", ExportQuery{Window: WindowHour, From: day, To: day.Add(90 * time.Minute)}, "from", time.Time{}, time.Time{}, ""},
		{"a subject that is no actor", ExportQuery{Subject: "tenant:1"}, "subject", time.Time{}, time.Time{}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			q := c.q
			err := q.check(now)
			if c.field != "" {
				var fe *fault.Error
				if !errors.As(err, &fe) || fe.Code != CodeInvalidQuery || fe.Field != c.field {
					t.Fatalf("check = %v, want %s on %q", err, CodeInvalidQuery, c.field)
				}
				return
			}
			if err != nil || !q.From.Equal(c.from) || !q.To.Equal(c.to) || q.Window != c.window || q.From.Location() != time.UTC {
				t.Fatalf("check = %v: %v – %v by %q; want %v – %v by %q", err, q.From, q.To, q.Window, c.from, c.to, c.window)
			}
		})
	}
}

func TestParseFormat(t *testing.T) {
	for in, want := range map[string]Format{"": FormatCSV, "csv": FormatCSV, "ndjson": FormatNDJSON, "json": "", "CSV": ""} {
		f, err := ParseFormat(in)
		if f != want || (err == nil) != (want != "") {
			t.Errorf("ParseFormat(%q) = %q, %v; want %q", in, f, err, want)
		}
	}
}

// TestRowWriters: what the formats write, quoting included: dimensions
// are user data and may hold commas, quotes and line breaks.
func TestRowWriters(t *testing.T) {
	start := time.Date(2026, 3, 14, 15, 0, 0, 0, time.UTC)
	row := func(dims string, v float64) *ExportRow {
		return &ExportRow{TenantID: "t1", Meter: "llm_input_tokens", Aggregation: Sum, WindowStart: start, WindowEnd: start.Add(time.Hour), Dimensions: dims, Value: v}
	}
	for _, c := range []struct {
		name string
		f    Format
		rows []*ExportRow
		want string
	}{
		{"csv without rows is its header", FormatCSV, nil, "tenant_id,meter,aggregation,window_start,window_end,dimensions,value\n"},
		{"csv quotes dimensions", FormatCSV, []*ExportRow{row(`{"model":"gpt-4o"}`, 1200)},
			"tenant_id,meter,aggregation,window_start,window_end,dimensions,value\n" +
				`t1,llm_input_tokens,SUM,2026-03-14T15:00:00Z,2026-03-14T16:00:00Z,"{""model"":""gpt-4o""}",1200` + "\n"},
		// Dimensions are JSON: a line break in a value is escaped there.
		{"csv quotes commas", FormatCSV, []*ExportRow{row(`{"route":"a,b\nc"}`, 0.5)},
			"tenant_id,meter,aggregation,window_start,window_end,dimensions,value\n" +
				`t1,llm_input_tokens,SUM,2026-03-14T15:00:00Z,2026-03-14T16:00:00Z,"{""route"":""a,b\nc""}",0.5` + "\n"},
		{"csv values without exponent", FormatCSV, []*ExportRow{row(`{}`, 1<<53)},
			"tenant_id,meter,aggregation,window_start,window_end,dimensions,value\n" +
				"t1,llm_input_tokens,SUM,2026-03-14T15:00:00Z,2026-03-14T16:00:00Z,{},9007199254740992\n"},
		{"ndjson without rows is empty", FormatNDJSON, nil, ""},
		{"ndjson has dimensions as an object", FormatNDJSON, []*ExportRow{row(`{"model":"a\"b"}`, 3), row(`{}`, 4)},
			`{"tenant_id":"t1","meter":"llm_input_tokens","aggregation":"SUM","window_start":"2026-03-14T15:00:00Z","window_end":"2026-03-14T16:00:00Z","dimensions":{"model":"a\"b"},"value":3}` + "\n" +
				`{"tenant_id":"t1","meter":"llm_input_tokens","aggregation":"SUM","window_start":"2026-03-14T15:00:00Z","window_end":"2026-03-14T16:00:00Z","dimensions":{},"value":4}` + "\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var b bytes.Buffer
			w := NewRowWriter(&b, c.f)
			for _, r := range c.rows {
				if err := w.Write(r); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
			if b.String() != c.want {
				t.Fatalf("wrote\n%s\nwant\n%s", b.String(), c.want)
			}
			// What is written reads back as written.
			if c.f == FormatCSV {
				recs, err := csv.NewReader(strings.NewReader(b.String())).ReadAll()
				if err != nil || len(recs) != len(c.rows)+1 {
					t.Fatalf("reading back: %v, %d records", err, len(recs))
				}
				for i, r := range c.rows {
					if recs[i+1][5] != r.Dimensions {
						t.Fatalf("dimensions read back %q, want %q", recs[i+1][5], r.Dimensions)
					}
				}
			} else {
				for line := range strings.Lines(b.String()) {
					if !json.Valid([]byte(line)) {
						t.Fatalf("not JSON: %s", line)
					}
				}
			}
		})
	}
}

// pagedStore serves ReadUsagePage from a fixed list of partials per meter,
// as the store pages them, and records the queries.
type pagedStore struct {
	Store
	parts   map[string][]Partial
	queries []PageQuery
}

func (p *pagedStore) ReadUsagePage(_ context.Context, q PageQuery) ([]Partial, error) {
	p.queries = append(p.queries, q)
	var out []Partial
	for _, part := range p.parts[q.Meter] {
		inRange := part.Window >= q.FromMinute && part.Window < q.ToMinute
		after := q.After == nil || part.Window > q.After.Window || (part.Window == q.After.Window && part.Dims > q.After.Dims)
		if inRange && after && len(out) < q.Limit {
			out = append(out, part)
		}
	}
	return out, nil
}

// TestExportWalksDaysAndPages: the export reads a day of roll-ups per
// store call, pages within a day when it holds more than a page, and
// emits rows in meter, window and dimension order.
func TestExportWalksDaysAndPages(t *testing.T) {
	day := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	d0 := day.Unix() / 60
	var busy []Partial
	for i := range exportPage + 1 {
		busy = append(busy, Partial{Window: d0 + 1440, Dims: strings.Repeat("x", i), Value: 1})
	}
	st := &pagedStore{parts: map[string][]Partial{
		"llm_input_tokens":  {{Window: d0, Dims: "{}", Value: 2}, {Window: d0 + 2*1440, Dims: "{}", Value: 3}},
		"llm_output_tokens": busy,
	}}
	var n int
	sums := map[string]float64{}
	err := Export(t.Context(), st, ShippedMeters(), ExportQuery{TenantID: "t1", From: day, To: day.AddDate(0, 0, 3)}, day, func(r *ExportRow) error {
		n++
		sums[r.Meter] += r.Value
		return nil
	})
	if err != nil || n != exportPage+3 || sums["llm_input_tokens"] != 5 || sums["llm_output_tokens"] != exportPage+1 {
		t.Fatalf("Export = %v: %d rows, sums %v", err, n, sums)
	}
	// Five meters × three days, and one more page for the busy day.
	if len(st.queries) != 5*3+1 {
		t.Fatalf("%d store calls, want 16", len(st.queries))
	}
	for _, q := range st.queries {
		if q.ToMinute-q.FromMinute > exportSlice || q.Limit != exportPage || q.TenantID != "t1" {
			t.Fatalf("store call %+v", q)
		}
	}
	if err := Export(t.Context(), st, ShippedMeters(), ExportQuery{}, day, nil); err == nil {
		t.Fatal("an export without a tenant ran")
	}
	if err := Export(t.Context(), st, ShippedMeters(), ExportQuery{TenantID: "t1", Meter: "nope"}, day, nil); fault.KindOf(err) != fault.Invalid {
		t.Fatalf("an unknown meter: %v", err)
	}
}
