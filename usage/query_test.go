package usage

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/identity"
)

// TestQueryRefusesBadQueriesBeforeAskingTheEngine checks every bound on a
// query: each is refused with its field before the policies are asked or
// the store is read. A query that passes them all reaches the policies,
// which this service (no Authorizer) refuses as not enabled.
func TestQueryRefusesBadQueriesBeforeAskingTheEngine(t *testing.T) {
	svc := NewService(Deps{}, Options{})
	member := identity.ActorContext{ActorID: "user:1", ActorType: identity.ActorHuman, TenantID: "t1", Credential: identity.CredentialSession}
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	good := Query{Meter: "llm_input_tokens", From: at("2026-03-14T00:00:00Z"), To: at("2026-03-15T00:00:00Z"), Window: WindowHour}
	with := func(f func(*Query)) Query { q := good; f(&q); return q }
	for _, c := range []struct {
		name  string
		q     Query
		code  fault.Code
		field string
	}{
		{"an unknown window", with(func(q *Query) { q.Window = "week" }), CodeInvalidQuery, "window"},
		{"no meter", with(func(q *Query) { q.Meter = "" }), CodeInvalidQuery, "meter"},
		{"no from", with(func(q *Query) { q.From = time.Time{} }), CodeInvalidQuery, "from"},
		{"to before from", with(func(q *Query) { q.From, q.To = q.To, q.From }), CodeInvalidQuery, "to"},
		{"an empty range", with(func(q *Query) { q.To = q.From }), CodeInvalidQuery, "to"},
		{"before 1970", with(func(q *Query) { q.From = at("1969-12-31T00:00:00Z") }), CodeInvalidQuery, "to"},
		{"over a year", with(func(q *Query) { q.To = q.From.Add(MaxRange + 24*time.Hour) }), CodeInvalidQuery, "to"},
		{"not on the hour", with(func(q *Query) { q.From = q.From.Add(time.Minute) }), CodeInvalidQuery, "from"},
		{"not on the minute without a window", with(func(q *Query) { q.Window, q.To = WindowNone, q.To.Add(time.Second) }), CodeInvalidQuery, "from"},
		{"too many windows", with(func(q *Query) { q.Window, q.To = WindowMinute, q.From.Add(8*24*time.Hour) }), CodeInvalidQuery, "window"},
		{"a subject that is no actor", with(func(q *Query) { q.Subject = "tenant:1" }), CodeInvalidQuery, "subject"},
		{"month windows not on the 1st", with(func(q *Query) { q.Window = WindowMonth }), CodeInvalidQuery, "from"},
		{"a day that is not a Kyiv day", with(func(q *Query) { q.Window, q.Zone = WindowDay, mustZone(t, "Europe/Kyiv") }), CodeInvalidQuery, "from"},
		{"a filter without values", with(func(q *Query) { q.Filter = map[string][]string{"model": {}} }), CodeInvalidQuery, "filter"},
		{"a filter on no path", with(func(q *Query) { q.Filter = map[string][]string{"Model!": {"a"}} }), CodeInvalidQuery, "filter"},
		{"too many filter values", with(func(q *Query) { q.Filter = map[string][]string{"model": make([]string, MaxFilterValues+1)} }), CodeInvalidQuery, "filter"},
		{"a filter value too long", with(func(q *Query) { q.Filter = map[string][]string{"model": {strings.Repeat("x", maxString+1)}} }), CodeInvalidQuery, "filter"},
		{"a good query reaches the policies", good, CodeViewDenied, ""},
		{"Kyiv days and a filter too", with(func(q *Query) {
			q.Window, q.Zone, q.Filter = WindowDay, mustZone(t, "Europe/Kyiv"), map[string][]string{"model": {"a"}}
			q.From, q.To = at("2026-03-28T22:00:00Z"), at("2026-03-29T21:00:00Z")
		}), CodeViewDenied, ""},
		{"a month", with(func(q *Query) {
			q.Window, q.From, q.To = WindowMonth, at("2026-01-01T00:00:00Z"), at("2026-03-01T00:00:00Z")
		}), CodeViewDenied, ""},
		{"a whole range without a window too", with(func(q *Query) { q.Window = WindowNone }), CodeViewDenied, ""},
		{"one actor's usage too", with(func(q *Query) { q.Subject = "agent:7" }), CodeViewDenied, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := svc.Query(t.Context(), member, c.q)
			var fe *fault.Error
			if !errors.As(err, &fe) || fe.Code != c.code || fe.Field != c.field {
				t.Fatalf("Query = %v, want %s on %q", err, c.code, c.field)
			}
		})
	}
}

// TestMergeFoldsPartialsByTheMetersAggregation: the store aggregates per
// full dimension set; merge folds what a query groups together.
func TestMergeFoldsPartialsByTheMetersAggregation(t *testing.T) {
	hour := StoreQuery{FromMinute: 600, ToMinute: 720, WindowMinutes: 60}
	dims := func(model, region string) string { return `{"model":"` + model + `","region":"` + region + `"}` }
	parts := []Partial{
		{Window: 600, Subject: "user:1", Dims: dims("a", "eu"), Value: 10, LatestAt: 1, LatestKey: "s/1", Unique: "x"},
		{Window: 600, Subject: "user:2", Dims: dims("a", "us"), Value: 5, LatestAt: 3, LatestKey: "s/3", Unique: "y"},
		{Window: 600, Subject: "user:1", Dims: dims("b", "eu"), Value: 7, LatestAt: 2, LatestKey: "s/2", Unique: "x"},
		{Window: 660, Subject: "user:1", Dims: dims("a", "eu"), Value: 1, LatestAt: 4, LatestKey: "s/4", Unique: "z"},
	}
	type want struct {
		start   int64
		subject string
		model   string
		value   float64
	}
	for _, c := range []struct {
		name      string
		agg       Aggregation
		bySubject bool
		dims      []string
		want      []want
	}{
		{"sum per window", Sum, false, nil, []want{{600, "", "", 22}, {660, "", "", 1}}},
		{"count per window and model", Count, false, []string{"model"}, []want{{600, "", "a", 15}, {600, "", "b", 7}, {660, "", "a", 1}}},
		{"max per window and subject", Max, true, nil, []want{{600, "user:1", "", 10}, {600, "user:2", "", 5}, {660, "user:1", "", 1}}},
		{"latest per window", Latest, false, nil, []want{{600, "", "", 5}, {660, "", "", 1}}},
		{"unique count per window", UniqueCount, false, nil, []want{{600, "", "", 2}, {660, "", "", 1}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			q := hour
			q.BySubject = c.bySubject
			rows, err := merge(q, c.agg, c.dims, parts)
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) != len(c.want) {
				t.Fatalf("%d rows, want %d: %+v", len(rows), len(c.want), rows)
			}
			for i, w := range c.want {
				r := rows[i]
				if r.WindowStart.Unix() != w.start*60 || r.WindowEnd.Sub(r.WindowStart) != time.Hour || r.Value != w.value ||
					(w.subject != "") != (r.Subject != nil) || r.Subject != nil && *r.Subject != w.subject || r.GroupBy["model"] != w.model {
					t.Fatalf("row %d = %+v (subject %v), want %+v", i, r, r.Subject, w)
				}
			}
		})
	}
	t.Run("no window spans the range", func(t *testing.T) {
		rows, err := merge(StoreQuery{FromMinute: 600, ToMinute: 720}, Sum, nil, []Partial{{Window: 600, Value: 3}})
		if err != nil || len(rows) != 1 || rows[0].WindowEnd.Unix() != 720*60 || rows[0].Value != 3 {
			t.Fatalf("%+v %v", rows, err)
		}
	})
	t.Run("stored dimensions that do not parse", func(t *testing.T) {
		if _, err := merge(hour, Sum, []string{"model"}, []Partial{{Window: 600, Dims: "{not json"}}); err == nil || !strings.Contains(err.Error(), "stored dimensions") {
			t.Fatalf("merge = %v", err)
		}
	})
}
