package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/store"
	"github.com/tollgate/tollgate/usage"
)

func usageMeterTests() []test {
	return []test{
		{"NoneByDefault", testTenantMetersNone},
		{"ReplacedWholeAndVersioned", testTenantMetersReplaced},
		{"StaleVersionConflicts", testTenantMetersStaleVersion},
		{"UnknownTenant", testTenantMetersUnknownTenant},
		{"MeasureTheirTenantsEvents", testTenantMetersMeasure},
		{"RebuildFromRawEvents", testUsageRebuild},
		{"RebuildWhileRecordingCountsOnce", testUsageRebuildWhileRecording},
	}
}

var pagesMeter = usage.Meter{Name: "pages", EventType: "usage.ocr", Aggregation: usage.Sum, ValuePath: "pages", GroupBy: []string{"lang"}}

func testTenantMetersNone(t *testing.T, s store.Store) {
	usageTenants(t, s)
	for _, tenant := range []string{"t1", "nope"} {
		m := ok(s.TenantMeters(t.Context(), tenant))(t)
		if m.Version != 0 || len(m.Meters) != 0 || !m.UpdatedAt.IsZero() {
			t.Fatalf("%s: %+v", tenant, m)
		}
	}
}

func testTenantMetersReplaced(t *testing.T, s store.Store) {
	usageTenants(t, s)
	at := usageT0
	v := ok(s.SetTenantMeters(t.Context(), usage.TenantMeters{TenantID: "t1", Meters: []usage.Meter{pagesMeter}, UpdatedAt: at}, usage.AnyVersion))(t)
	if v != 1 {
		t.Fatalf("first version %d", v)
	}
	second := usage.Meter{Name: "docs", EventType: "usage.ocr", Aggregation: usage.Count, GroupBy: []string{}}
	v = ok(s.SetTenantMeters(t.Context(), usage.TenantMeters{TenantID: "t1", Meters: []usage.Meter{second}, UpdatedAt: at.Add(time.Second)}, 1))(t)
	if v != 2 {
		t.Fatalf("second version %d", v)
	}
	check(t, "t1", ok(s.TenantMeters(t.Context(), "t1"))(t), usage.TenantMeters{TenantID: "t1", Meters: []usage.Meter{second}, Version: 2, UpdatedAt: at.Add(time.Second)})
	// Another tenant's are its own.
	if m := ok(s.TenantMeters(t.Context(), "t2"))(t); m.Version != 0 {
		t.Fatalf("t2: %+v", m)
	}
}

func testTenantMetersStaleVersion(t *testing.T, s store.Store) {
	usageTenants(t, s)
	put := func(version int64) error {
		_, err := s.SetTenantMeters(t.Context(), usage.TenantMeters{TenantID: "t1", Meters: []usage.Meter{pagesMeter}, UpdatedAt: usageT0}, version)
		return err
	}
	if err := put(3); fault.KindOf(err) != fault.Conflict {
		t.Fatalf("version 3 of none: %v", err)
	}
	must(t, put(0))
	if err := put(0); fault.KindOf(err) != fault.Conflict {
		t.Fatalf("version 0 again: %v", err)
	}
	must(t, put(1))
	if m := ok(s.TenantMeters(t.Context(), "t1"))(t); m.Version != 2 {
		t.Fatalf("version %d, want 2", m.Version)
	}
}

func testTenantMetersUnknownTenant(t *testing.T, s store.Store) {
	_, err := s.SetTenantMeters(t.Context(), usage.TenantMeters{TenantID: "nope", Meters: []usage.Meter{pagesMeter}, UpdatedAt: usageT0}, usage.AnyVersion)
	if fault.KindOf(err) != fault.NotFound {
		t.Fatalf("SetTenantMeters of no tenant = %v", err)
	}
}

func ocr(tenant, id string, d time.Duration, pages int, lang string) ev {
	return ev{tenant, "svc/ocr", id, "usage.ocr", "agent:1", d, map[string]any{"pages": pages, "lang": lang}}
}

func testTenantMetersMeasure(t *testing.T, s store.Store) {
	usageTenants(t, s)
	svc := usageService(t, s)
	_, err := s.SetTenantMeters(t.Context(), usage.TenantMeters{TenantID: "t1", Meters: []usage.Meter{pagesMeter}, UpdatedAt: usageT0}, usage.AnyVersion)
	must(t, err)
	wantResult(t, record(t, svc, ocr("t1", "1", 0, 3, "en"), ocr("t2", "1", 0, 5, "en")), 2, 0)
	if got := total(t, svc, "t1", "pages"); got != 3 {
		t.Errorf("t1 pages = %v, want 3", got)
	}
	// t2 has no such meter: its event is kept, measured by nothing.
	ac := identity.ActorContext{ActorID: "service:test", ActorType: identity.ActorService}
	_, err = svc.Query(t.Context(), ac, usage.Query{TenantID: "t2", Meter: "pages", From: usageT0, To: usageT0.Add(time.Hour)})
	var fe *fault.Error
	if !errors.As(err, &fe) || fe.Code != usage.CodeUnknownMeter {
		t.Fatalf("t2 pages: %v", err)
	}
}

// testUsageRebuild back-fills a meter defined after its events, with a
// void applied, in steps; a second run gives the same totals.
func testUsageRebuild(t *testing.T, s store.Store) {
	usageTenants(t, s)
	svc := usageService(t, s)
	wantResult(t, record(t, svc,
		ocr("t1", "1", -90*time.Minute, 3, "en"), ocr("t1", "2", -30*time.Minute, 4, "de"),
		ocr("t1", "3", 10*time.Minute, 5, "en"), ocr("t2", "1", 0, 100, "en"),
		llm("t1", "l", "user:1", "gpt", 0, 7, 0),
	), 5, 0)
	wantResult(t, record(t, svc, void("t1", "v", "2", "svc/ocr")), 1, 0)
	_, err := s.SetTenantMeters(t.Context(), usage.TenantMeters{TenantID: "t1", Meters: []usage.Meter{pagesMeter}, UpdatedAt: usageT0}, usage.AnyVersion)
	must(t, err)
	svc = usageService(t, s) // a replica that reads the new meter at once
	if got := total(t, svc, "t1", "pages"); got != 0 {
		t.Fatalf("pages before the rebuild = %v", got)
	}
	q := usage.RebuildQuery{TenantID: "t1", Meter: "pages", From: usageT0.Add(-2 * time.Hour), To: usageT0.Add(time.Hour)}
	for run := range 2 {
		got := ok(svc.Rebuild(t.Context(), q, nil))(t)
		if got.Steps != 3 || got.Events != 2 {
			t.Fatalf("run %d: %+v, want 3 steps measuring the 2 events that count", run, got)
		}
		if v := total(t, svc, "t1", "pages"); v != 8 {
			t.Fatalf("run %d: pages = %v, want 8", run, v)
		}
	}
	rows := query(t, svc, usage.Query{TenantID: "t1", Meter: "pages", From: q.From, To: q.To, GroupBy: []string{"lang"}})
	check(t, "by lang", rows, []usage.Row{{WindowStart: q.From, WindowEnd: q.To, Value: 8, GroupBy: map[string]string{"lang": "en"}}})
	// Other meters are left as they were.
	if v := total(t, svc, "t1", "llm_input_tokens"); v != 7 {
		t.Fatalf("llm_input_tokens = %v", v)
	}
	for _, bad := range []usage.RebuildQuery{
		{TenantID: "t1", Meter: "nope", From: q.From, To: q.To},
		{TenantID: "t2", Meter: "pages", From: q.From, To: q.To},
		{TenantID: "t1", Meter: "pages", From: q.From.Add(time.Second), To: q.To},
		{TenantID: "t1", Meter: "pages", From: q.To, To: q.From},
	} {
		if _, err := svc.Rebuild(t.Context(), bad, nil); fault.KindOf(err) != fault.Invalid {
			t.Errorf("Rebuild(%+v) = %v", bad, err)
		}
	}
}
