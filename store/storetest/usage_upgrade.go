package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/tollgate/tollgate/store"
	"github.com/tollgate/tollgate/usage"
)

// Upgrade takes a backend's schema back to an earlier version and forward
// again, for UsageHoursAfterUpgrade and UsageTenantHoursAfterUpgrade.
type Upgrade struct {
	// DownTo migrates down to version.
	DownTo func(ctx context.Context, version int64) error
	// Up migrates up to the latest version.
	Up func(ctx context.Context) error
	// Exec runs one SQL statement without arguments.
	Exec func(ctx context.Context, query string) error
}

// UsageHoursAfterUpgrade checks migration 00021 on a database that holds
// minute roll-ups: their hours have no hour rows, so queries read them
// from minutes, and usage recorded after the upgrade is read from hours.
// s is migrated; u moves its schema.
func UsageHoursAfterUpgrade(t *testing.T, s store.Store, u Upgrade) {
	ctx := t.Context()
	newTenant(t, s, "t1", "user:1")
	must(t, u.DownTo(ctx, 19))
	old := usageT0.Unix()/60 - 600 + 17
	must(t, u.Exec(ctx, fmt.Sprintf(`INSERT INTO usage_rollups (tenant_id, meter, minute, subject, dims, value, events, latest_at, latest_key)
		VALUES ('t1', 'llm_input_tokens', %d, 'user:1', '{}', 5, 1, 0, '')`, old)))
	must(t, u.Up(ctx))
	sum := upgradeSum(t, s, "")
	if got := sum(old-180, old+300, true); got != 5 {
		t.Fatalf("usage from before the upgrade, planned with hours = %v, want 5", got)
	}
	recordAfterUpgrade(t, s, sum)
}

// upgradeSum returns a function summing llm_input_tokens of t1 (of
// subject alone, unless "") over minutes [from, to), planned with hours
// or from minutes alone.
func upgradeSum(t *testing.T, s store.Store, subject string) func(from, to int64, hours bool) float64 {
	return func(from, to int64, hours bool) float64 {
		t.Helper()
		q := usage.StoreQuery{TenantID: "t1", Meter: "llm_input_tokens", Aggregation: usage.Sum, FromMinute: from, ToMinute: to, Subject: subject}
		if hours {
			q.Hours = usage.HourRange(from, to, 0, 0)
			if q.Hours.Empty() {
				t.Fatalf("no whole hour in [%d, %d)", from, to)
			}
		}
		return partsTotal(ok(s.ReadUsage(t.Context(), q))(t))
	}
}

// recordAfterUpgrade checks that an event recorded after an upgrade, in
// the hours the new tables hold whole (from the hour after next on), is
// read alike from hours and from minutes.
func recordAfterUpgrade(t *testing.T, s store.Store, sum func(from, to int64, hours bool) float64) {
	t.Helper()
	ctx := t.Context()
	hour := time.Now().UTC().Truncate(time.Hour)
	at := hour.Add(5*time.Hour + 30*time.Minute)
	e, err := usage.Decode(llm("t1", "new", "user:1", "gpt", at.Sub(usageT0), 7, 0).json())
	must(t, err)
	cs, err := usage.Contributions(&e, usage.ShippedMeters().For("t1", usage.TypeLLM))
	must(t, err)
	ok(s.RecordUsage(ctx, []usage.Record{{Event: e, Contributions: cs}}))(t)
	from, to := hour.Add(4*time.Hour).Unix()/60, hour.Add(7*time.Hour).Unix()/60
	if hours, minutes := sum(from, to, true), sum(from, to, false); hours != 7 || minutes != 7 {
		t.Fatalf("usage recorded after the upgrade = %v from hours, %v from minutes; want 7", hours, minutes)
	}
}

// UsageTenantHoursAfterUpgrade checks migration 00024 on a database that
// holds minute and per-subject hour roll-ups: their hours have no
// tenant-wide rows, so a query over every subject reads them from the
// per-subject hours, and usage recorded after the upgrade is read from
// the tenant-wide hours. s is migrated; u moves its schema.
func UsageTenantHoursAfterUpgrade(t *testing.T, s store.Store, u Upgrade) {
	ctx := t.Context()
	newTenant(t, s, "t1", "user:1")
	must(t, u.DownTo(ctx, 23))
	hour := usageT0.Unix()/60 - 600
	for _, row := range []struct {
		table   string
		minute  int64
		subject string
		value   int
	}{
		{"usage_rollups", hour + 17, "user:1", 5}, {"usage_hour_rollups", hour, "user:1", 5},
		{"usage_rollups", hour + 18, "user:2", 6}, {"usage_hour_rollups", hour, "user:2", 6},
	} {
		must(t, u.Exec(ctx, fmt.Sprintf(`INSERT INTO %s (tenant_id, meter, minute, subject, dims, value, events, latest_at, latest_key)
			VALUES ('t1', 'llm_input_tokens', %d, '%s', '{}', %d, 1, 0, '')`, row.table, row.minute, row.subject, row.value)))
	}
	must(t, u.Up(ctx))
	sum := upgradeSum(t, s, "")
	for _, hours := range []bool{true, false} {
		if got := sum(hour-120, hour+120, hours); got != 11 {
			t.Fatalf("usage from before the upgrade, every subject, hours %v = %v, want 11", hours, got)
		}
	}
	if got := upgradeSum(t, s, "user:2")(hour-120, hour+120, true); got != 6 {
		t.Fatalf("usage from before the upgrade of user:2 = %v, want 6", got)
	}
	recordAfterUpgrade(t, s, sum)
}
