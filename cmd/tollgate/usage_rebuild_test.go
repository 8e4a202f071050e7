package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tollgate/tollgate/usage"
)

// TestUsageRebuild back-fills a tenant's meter defined after its events;
// a second run gives the same total.
func TestUsageRebuild(t *testing.T) {
	dir, env := bootstrappedEnv(t)
	acme := tenantIDs(t, env)["acme"]
	ctx := context.Background()
	st := openDB(t, dir)
	day := time.Date(2025, 3, 14, 0, 0, 0, 0, time.UTC)
	var batch []usage.Decoded
	for i := range 10 {
		raw, _ := json.Marshal(map[string]any{
			"specversion": "1.0", "id": fmt.Sprint(i), "source": "//ocr", "type": "usage.ocr", "subject": "agent:1", "tenant": acme,
			"time": day.Add(time.Duration(i) * 97 * time.Minute).Format(time.RFC3339), "data": map[string]any{"pages": i},
		})
		e, err := usage.Decode(raw)
		batch = append(batch, usage.Decoded{Event: e, Err: err})
	}
	svc := usage.NewService(usage.Deps{Store: st}, usage.Options{})
	if res, err := svc.Record(ctx, batch); err != nil || res.Accepted != 10 {
		t.Fatalf("recording: %+v %v", res, err)
	}
	pages := usage.Meter{Name: "pages", EventType: "usage.ocr", Aggregation: usage.Sum, ValuePath: "pages", GroupBy: []string{}}
	if _, err := st.SetTenantMeters(ctx, usage.TenantMeters{TenantID: acme, Meters: []usage.Meter{pages}, UpdatedAt: day}, usage.AnyVersion); err != nil {
		t.Fatal(err)
	}
	st.Close()
	// The command opens the database itself; each look opens it anew.
	total := func() float64 {
		st := openDB(t, dir)
		defer st.Close()
		ms, err := usage.NewMeters(append([]usage.Meter{pages}, usage.Shipped...))
		if err != nil {
			t.Fatal(err)
		}
		sum := 0.0
		q := usage.ExportQuery{TenantID: acme, Meter: "pages", From: day, To: day.Add(48 * time.Hour), Window: usage.WindowDay}
		if err := usage.Export(ctx, st, ms, q, day, func(r *usage.ExportRow) error { sum += r.Value; return nil }); err != nil {
			t.Fatal(err)
		}
		return sum
	}
	if got := total(); got != 0 {
		t.Fatalf("before the rebuild: %v", got)
	}
	args := []string{"usage", "rebuild", "--meter", "pages", "--tenant", acme, "--from", day.Format(time.RFC3339), "--to", day.Add(24 * time.Hour).Format(time.RFC3339), "--step", "6h"}
	for run1 := range 2 {
		out, _, err := run(t, env, "", args...)
		if err != nil || !strings.Contains(out, "10 events\t4 steps") {
			t.Fatalf("run %d: %q %v", run1, out, err)
		}
		if got := total(); got != 45 {
			t.Fatalf("run %d: pages = %v, want 45", run1, got)
		}
	}
	// --all skips tenants without the meter and rebuilds the others.
	if out, _, err := run(t, env, "", "usage", "rebuild", "--meter", "pages", "--all", "--from", day.Format(time.RFC3339), "--to", day.Add(24*time.Hour).Format(time.RFC3339)); err != nil || !strings.Contains(out, acme) {
		t.Fatalf("--all: %q %v", out, err)
	}
	for _, bad := range [][]string{
		{"--tenant", acme},
		{"--meter", "pages"},
		{"--meter", "nope", "--tenant", acme},
		{"--meter", "pages", "--tenant", acme, "--from", "2025-03-14T00:00:30Z", "--to", "2025-03-15T00:00:00Z"},
		{"--meter", "pages", "--tenant", acme, "--from", "2025-03-14T00:00:00Z"},
		{"--meter", "pages", "--tenant", acme, "--step", "90s"},
	} {
		if _, _, err := run(t, env, "", append([]string{"usage", "rebuild"}, bad...)...); err == nil {
			t.Errorf("usage rebuild %v: no error", bad)
		}
	}
}
