package httpapi_test

import (
	"encoding/csv"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

// exportUsage asks GET /v1/usage/export over usageTime's day with params
// as the credential in h.
func exportUsage(ts *testServer, h http.Header, params ...string) response {
	ts.t.Helper()
	day := usageTime.Truncate(24 * time.Hour)
	v := url.Values{"from": {day.Format(time.RFC3339)}, "to": {day.Add(24 * time.Hour).Format(time.RFC3339)}}
	for i := 0; i+1 < len(params); i += 2 {
		if params[i+1] == "" {
			v.Del(params[i])
			continue
		}
		v.Set(params[i], params[i+1])
	}
	return ts.send("GET", "/v1/usage/export?"+v.Encode(), h, nil)
}

// csvTotals reads a CSV export and returns the sum of value per meter and
// the rows.
func csvTotals(t *testing.T, r response) (map[string]float64, [][]string) {
	t.Helper()
	expect(t, r, http.StatusOK, "")
	if ct := r.header.Get("Content-Type"); ct != "text/csv; charset=utf-8" {
		t.Fatalf("content type %q", ct)
	}
	recs, err := csv.NewReader(strings.NewReader(string(r.raw))).ReadAll()
	if err != nil || len(recs) == 0 || strings.Join(recs[0], ",") != "tenant_id,meter,aggregation,window_start,window_end,dimensions,value" {
		t.Fatalf("CSV %q: %v", r.raw, err)
	}
	totals := map[string]float64{}
	for _, rec := range recs[1:] {
		v, err := strconv.ParseFloat(rec[6], 64)
		if err != nil {
			t.Fatalf("value %q", rec[6])
		}
		totals[rec[1]] += v
	}
	return totals, recs[1:]
}

func TestUsageExport(t *testing.T) {
	forEachBackend(t, func(t *testing.T, ts *testServer) {
		w := newWorld(t, ts)
		_, writer := createKey(t, ts, w.adminTok, map[string]any{"name": "meter", "scopes": []string{"usage:write"}})
		member, admin := w.member.ActorID(), w.admin.ActorID()
		events := []any{ce("1", "", member, 10), ce("2", "", member, 20), ce("3", "", admin, 300)}
		other := ce("4", "", admin, 4000)
		other["data"] = map[string]any{"model": `a "quoted", model`, "input_tokens": 4000}
		events = append(events, other)
		wantReport(t, postUsage(ts, keyHeader(writer), true, events), 4, 0, map[int]string{})
		// Resent: counted once, and exported once.
		wantReport(t, postUsage(ts, keyHeader(writer), true, events), 0, 4, map[int]string{})
		admins := bearerHeader(w.adminTok)

		totals, rows := csvTotals(t, exportUsage(ts, admins, "window", "hour"))
		if totals["llm_input_tokens"] != 4330 || len(rows) != 2 {
			t.Fatalf("hourly CSV totals %v over %v", totals, rows)
		}
		hour := usageTime.Format(time.RFC3339)
		for _, rec := range rows {
			if rec[0] != w.tenantA || rec[2] != "SUM" || rec[3] != hour || rec[4] != usageTime.Add(time.Hour).Format(time.RFC3339) {
				t.Fatalf("row %q", rec)
			}
		}
		if rows[0][5] != `{"model":"a \"quoted\", model"}` || rows[1][5] != `{"model":"gpt"}` {
			t.Fatalf("dimensions %q, %q", rows[0][5], rows[1][5])
		}

		r := exportUsage(ts, admins, "format", "ndjson", "meter", "llm_input_tokens")
		expect(t, r, http.StatusOK, "")
		if r.header.Get("Content-Type") != "application/x-ndjson" {
			t.Fatalf("content type %q", r.header.Get("Content-Type"))
		}
		sum, lines := 0.0, 0
		for line := range strings.Lines(string(r.raw)) {
			var row struct {
				Meter      string
				Dimensions map[string]string
				Value      float64
			}
			if err := json.Unmarshal([]byte(line), &row); err != nil || row.Meter != "llm_input_tokens" || row.Dimensions["model"] == "" {
				t.Fatalf("line %q: %v", line, err)
			}
			sum += row.Value
			lines++
		}
		if sum != 4330 || lines != 2 {
			t.Fatalf("NDJSON: %d lines summing to %v", lines, sum)
		}

		day := usageTime.Truncate(24 * time.Hour)
		for _, c := range []struct {
			name   string
			h      http.Header
			params []string
			status int
			code   string
			sum    float64
		}{
			{"member, own usage", bearerHeader(w.memberTok), []string{"subject", member}, 200, "", 30},
			{"no range: this period", admins, []string{"from", "", "to", ""}, 200, "", -1},
			{"member, the tenant's", bearerHeader(w.memberTok), nil, 403, "usage_view_denied", 0},
			{"another tenant's owner", bearerHeader(w.outBTok), []string{"tenant_id", w.tenantA}, 404, "tenant_not_found", 0},
			{"tenant B's own is empty", bearerHeader(w.outBTok), nil, 200, "", 0},
			{"unknown format", admins, []string{"format", "xlsx"}, 400, "usage_query_invalid", 0},
			{"unknown meter", admins, []string{"meter", "nope"}, 400, "usage_meter_unknown", 0},
			{"minute window", admins, []string{"window", "minute"}, 400, "usage_query_invalid", 0},
			{"from not a time", admins, []string{"from", "2026-13-01"}, 400, "usage_query_invalid", 0},
			{"to without from", admins, []string{"from", ""}, 400, "usage_query_invalid", 0},
			{"from after to", admins, []string{"from", day.Add(48 * time.Hour).Format(time.RFC3339)}, 400, "usage_query_invalid", 0},
			{"over a year", admins, []string{"from", day.Add(-400 * 24 * time.Hour).Format(time.RFC3339)}, 400, "usage_query_invalid", 0},
			{"not whole days", admins, []string{"to", day.Add(25 * time.Hour).Format(time.RFC3339)}, 400, "usage_query_invalid", 0},
		} {
			t.Run(c.name, func(t *testing.T) {
				r := exportUsage(ts, c.h, c.params...)
				expect(t, r, c.status, c.code)
				if c.status == 200 && c.sum >= 0 {
					if totals, _ := csvTotals(t, r); totals["llm_input_tokens"] != c.sum {
						t.Fatalf("llm_input_tokens %v, want %v", totals, c.sum)
					}
				}
			})
		}
	})
}
