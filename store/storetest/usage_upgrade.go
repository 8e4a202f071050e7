package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/tollgate/tollgate/store"
	"github.com/tollgate/tollgate/usage"
)

// Upgrade takes a backend's schema back to the version before the hour
// roll-ups and forward again, for UsageHoursAfterUpgrade.
type Upgrade struct {
	// Down migrates down to version 19; Up to the latest.
	Down, Up func(ctx context.Context) error
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
	must(t, u.Down(ctx))
	old := usageT0.Unix()/60 - 600 + 17
	must(t, u.Exec(ctx, fmt.Sprintf(`INSERT INTO usage_rollups (tenant_id, meter, minute, subject, dims, value, events, latest_at, latest_key)
		VALUES ('t1', 'llm_input_tokens', %d, 'user:1', '{}', 5, 1, 0, '')`, old)))
	must(t, u.Up(ctx))
	sum := func(from, to int64, hours bool) float64 {
		t.Helper()
		q := usage.StoreQuery{TenantID: "t1", Meter: "llm_input_tokens", Aggregation: usage.Sum, FromMinute: from, ToMinute: to}
		if hours {
			q.Hours = usage.HourRange(from, to, 0, 0)
			if q.Hours.Empty() {
				t.Fatalf("no whole hour in [%d, %d)", from, to)
			}
		}
		parts := ok(s.ReadUsage(ctx, q))(t)
		total := 0.0
		for _, p := range parts {
			total += p.Value
		}
		return total
	}
	if got := sum(old-180, old+300, true); got != 5 {
		t.Fatalf("usage from before the upgrade, planned with hours = %v, want 5", got)
	}
	// After the upgrade, hours hold whole from the hour after next on.
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
