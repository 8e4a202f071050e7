package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tollgate/tollgate/usage"
)

// tenantIDs returns the ids of tenant list's output by slug.
func tenantIDs(t *testing.T, env map[string]string) map[string]string {
	t.Helper()
	out, _, err := run(t, env, "", "admin", "tenant", "list")
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]string{}
	for line := range strings.Lines(out) {
		if f := strings.Fields(line); len(f) > 1 && f[0] != "ID" {
			ids[f[1]] = f[0]
		}
	}
	return ids
}

func TestUsageReport(t *testing.T) {
	dir, env := bootstrappedEnv(t)
	if _, _, err := run(t, env, "", "admin", "tenant", "create", "--slug", "beta", "--owner", "root@example.com"); err != nil {
		t.Fatal(err)
	}
	ids := tenantIDs(t, env)
	acme, beta := ids["acme"], ids["beta"]

	// Events recorded as the server records them.
	st := openDB(t, dir)
	day := time.Date(2025, 3, 14, 0, 0, 0, 0, time.UTC)
	svc := usage.NewService(usage.Deps{Store: st}, usage.Options{})
	var batch []usage.Decoded
	sum := 0
	for i := range 30 {
		tenant := acme
		if i%3 == 0 {
			tenant = beta
		} else {
			sum += i
		}
		raw, _ := json.Marshal(map[string]any{
			"specversion": "1.0", "id": fmt.Sprint(i), "source": "//agents", "type": "usage.llm", "subject": "agent:1", "tenant": tenant,
			"time": day.Add(time.Duration(i) * 47 * time.Minute).Format(time.RFC3339), "data": map[string]any{"model": fmt.Sprintf("m%d", i%2), "input_tokens": i},
		})
		e, err := usage.Decode(raw)
		batch = append(batch, usage.Decoded{Event: e, Err: err})
	}
	if res, err := svc.Record(context.Background(), batch); err != nil || res.Accepted != 30 {
		t.Fatalf("recording: %+v %v", res, err)
	}
	st.Close()

	rangeArgs := []string{"--from", day.Format(time.RFC3339), "--to", day.Add(48 * time.Hour).Format(time.RFC3339)}
	out, _, err := run(t, env, "", append([]string{"usage", "report", "--tenant", acme, "--window", "hour", "--meter", "llm_input_tokens"}, rangeArgs...)...)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil || len(recs) < 2 || recs[0][0] != "tenant_id" {
		t.Fatalf("report: %v\n%s", err, out)
	}
	total := 0.0
	for _, r := range recs[1:] {
		v, _ := strconv.ParseFloat(r[6], 64)
		total += v
		if r[0] != acme || r[1] != "llm_input_tokens" {
			t.Fatalf("row %q", r)
		}
	}
	if total != float64(sum) {
		t.Fatalf("acme's report sums to %v, want %d", total, sum)
	}

	// Every tenant, as NDJSON, by day: both tenants, every meter.
	out, _, err = run(t, env, "", append([]string{"usage", "report", "--all", "--format", "ndjson"}, rangeArgs...)...)
	if err != nil {
		t.Fatal(err)
	}
	per := map[string]float64{}
	for line := range strings.Lines(out) {
		var row struct {
			TenantID string  `json:"tenant_id"`
			Meter    string  `json:"meter"`
			Value    float64 `json:"value"`
		}
		if err := json.Unmarshal([]byte(line), &row); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		if row.Meter == "llm_input_tokens" {
			per[row.TenantID] += row.Value
		}
	}
	if per[acme] != float64(sum) || per[beta] != float64(435-sum) {
		t.Fatalf("--all: %v", per)
	}

	for _, args := range [][]string{
		{},
		{"--tenant", acme, "--all"},
		{"--tenant", acme, "--format", "xlsx"},
		{"--tenant", acme, "--from", "yesterday", "--to", "2025-03-15T00:00:00Z"},
		{"--tenant", acme, "--from", "2025-03-15T00:00:00Z"},
		{"--tenant", acme, "--from", "2025-03-16T00:00:00Z", "--to", "2025-03-15T00:00:00Z"},
		{"--tenant", acme, "--window", "minute"},
		{"--tenant", acme, "--meter", "nope"},
	} {
		if _, _, err := run(t, env, "", append([]string{"usage", "report"}, args...)...); err == nil {
			t.Errorf("usage report %v: no error", args)
		}
	}
}

// TestUsageReportConfiguredMeter: the report reads the meters setting, so
// a configured meter is reported like a shipped one.
func TestUsageReportConfiguredMeter(t *testing.T) {
	dir, env := bootstrappedEnv(t)
	acme := tenantIDs(t, env)["acme"]
	const meters = `[{"name":"emails_sent","event_type":"usage.email","aggregation":"COUNT"}]`
	base, err := usage.BaseMeters([]usage.Meter{{Name: "emails_sent", EventType: "usage.email", Aggregation: usage.Count}})
	if err != nil {
		t.Fatal(err)
	}

	st := openDB(t, dir)
	day := time.Date(2025, 3, 14, 0, 0, 0, 0, time.UTC)
	svc := usage.NewService(usage.Deps{Store: st, Meters: base}, usage.Options{})
	var batch []usage.Decoded
	for i := range 4 {
		raw, _ := json.Marshal(map[string]any{
			"specversion": "1.0", "id": fmt.Sprint(i), "source": "//mailer", "type": "usage.email", "subject": "agent:1", "tenant": acme,
			"time": day.Add(time.Duration(i) * time.Hour).Format(time.RFC3339), "data": map[string]any{},
		})
		e, err := usage.Decode(raw)
		batch = append(batch, usage.Decoded{Event: e, Err: err})
	}
	if res, err := svc.Record(context.Background(), batch); err != nil || res.Accepted != 4 {
		t.Fatalf("recording: %+v %v", res, err)
	}
	st.Close()

	args := []string{"usage", "report", "--tenant", acme, "--meter", "emails_sent", "--format", "ndjson",
		"--from", day.Format(time.RFC3339), "--to", day.Add(24 * time.Hour).Format(time.RFC3339)}
	if _, _, err := run(t, env, "", args...); err == nil {
		t.Fatal("reported a meter that is not configured")
	}
	env["TOLLGATE_METERS"] = meters
	out, _, err := run(t, env, "", args...)
	if err != nil {
		t.Fatal(err)
	}
	total := 0.0
	for line := range strings.Lines(out) {
		var row struct {
			Meter string  `json:"meter"`
			Value float64 `json:"value"`
		}
		if err := json.Unmarshal([]byte(line), &row); err != nil || row.Meter != "emails_sent" {
			t.Fatalf("%q: %v", line, err)
		}
		total += row.Value
	}
	if total != 4 {
		t.Fatalf("emails_sent = %v, want 4\n%s", total, out)
	}
}
