package usage

import (
	"errors"
	"testing"
	"time"

	"github.com/tollgate/tollgate/fault"
)

func mustZone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := LoadZone(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// TestSpansSplitWhereTheOffsetChanges: Kyiv moves from +02:00 to +03:00 at
// 01:00 UTC on 2025-03-30 and back at 01:00 UTC on 2025-10-26.
func TestSpansSplitWhereTheOffsetChanges(t *testing.T) {
	kyiv := mustZone(t, "Europe/Kyiv")
	at := func(s string) time.Time { v, _ := time.Parse(time.RFC3339, s); return v }
	minute := func(s string) int64 { return at(s).Unix() / 60 }
	for _, c := range []struct {
		name     string
		from, to string
		loc      *time.Location
		want     []span
	}{
		{"UTC is one span", "2025-03-01T00:00:00Z", "2025-04-01T00:00:00Z", time.UTC,
			[]span{{minute("2025-03-01T00:00:00Z"), minute("2025-04-01T00:00:00Z"), 0}}},
		{"a winter day in Kyiv", "2025-03-13T22:00:00Z", "2025-03-14T22:00:00Z", kyiv,
			[]span{{minute("2025-03-13T22:00:00Z"), minute("2025-03-14T22:00:00Z"), 120}}},
		{"the day clocks go forward", "2025-03-29T22:00:00Z", "2025-03-30T21:00:00Z", kyiv,
			[]span{{minute("2025-03-29T22:00:00Z"), minute("2025-03-30T01:00:00Z"), 120}, {minute("2025-03-30T01:00:00Z"), minute("2025-03-30T21:00:00Z"), 180}}},
		{"a year", "2024-12-31T22:00:00Z", "2025-12-31T22:00:00Z", kyiv,
			[]span{{minute("2024-12-31T22:00:00Z"), minute("2025-03-30T01:00:00Z"), 120}, {minute("2025-03-30T01:00:00Z"), minute("2025-10-26T01:00:00Z"), 180},
				{minute("2025-10-26T01:00:00Z"), minute("2025-12-31T22:00:00Z"), 120}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := spans(at(c.from), at(c.to), c.loc)
			if err != nil || len(got) != len(c.want) {
				t.Fatalf("spans = %v, %v; want %v", got, err, c.want)
			}
			for i := range got {
				if got[i] != c.want[i] {
					t.Fatalf("span %d = %+v, want %+v", i, got[i], c.want[i])
				}
			}
		})
	}
}

// TestZoneWindows: a day or month of a zone starts at its local midnight,
// and a day on which the clocks change is 23 or 25 hours long.
func TestZoneWindows(t *testing.T) {
	kyiv := mustZone(t, "Europe/Kyiv")
	kolkata := mustZone(t, "Asia/Kolkata")
	at := func(s string) time.Time { v, _ := time.Parse(time.RFC3339, s); return v }
	for _, c := range []struct {
		name       string
		w          Window
		loc        *time.Location
		bucket     string // where the store's bucket starts
		offset     int64
		start, end string
	}{
		{"a UTC day", WindowDay, time.UTC, "2025-03-14T00:00:00Z", 0, "2025-03-14T00:00:00Z", "2025-03-15T00:00:00Z"},
		{"a UTC month from a day", WindowMonth, time.UTC, "2025-02-14T00:00:00Z", 0, "2025-02-01T00:00:00Z", "2025-03-01T00:00:00Z"},
		{"a Kyiv day of 23 hours, read before the change", WindowDay, kyiv, "2025-03-29T22:00:00Z", 120, "2025-03-29T22:00:00Z", "2025-03-30T21:00:00Z"},
		{"the same day, read after the change", WindowDay, kyiv, "2025-03-29T21:00:00Z", 180, "2025-03-29T22:00:00Z", "2025-03-30T21:00:00Z"},
		{"a Kyiv day of 25 hours", WindowDay, kyiv, "2025-10-25T21:00:00Z", 180, "2025-10-25T21:00:00Z", "2025-10-26T22:00:00Z"},
		{"a Kyiv month across the change", WindowMonth, kyiv, "2025-03-30T21:00:00Z", 180, "2025-02-28T22:00:00Z", "2025-03-31T21:00:00Z"},
		{"a Kolkata hour starts at half past", WindowHour, kolkata, "2025-03-14T10:30:00Z", 330, "2025-03-14T10:30:00Z", "2025-03-14T11:30:00Z"},
		{"a minute", WindowMinute, kyiv, "2025-03-14T10:31:00Z", 120, "2025-03-14T10:31:00Z", "2025-03-14T10:32:00Z"},
	} {
		t.Run(c.name, func(t *testing.T) {
			start := time.Unix(c.w.windowStart(at(c.bucket).Unix()/60, c.offset, c.loc)*60, 0).UTC()
			end := c.w.windowEnd(start, c.loc)
			if !start.Equal(at(c.start)) || !end.Equal(at(c.end)) {
				t.Fatalf("window [%s, %s), want [%s, %s)", start, end, c.start, c.end)
			}
			if !c.w.aligned(start, c.loc) || !c.w.aligned(end, c.loc) || c.w.aligned(start.Add(time.Minute), c.loc) && c.w != WindowMinute {
				t.Fatalf("alignment of [%s, %s) in %s", start, end, c.loc)
			}
		})
	}
}

// TestLoadZoneRejectsWhatIsNoZone: names are checked before the zone
// database is asked.
func TestLoadZoneRejectsWhatIsNoZone(t *testing.T) {
	for _, c := range []struct {
		name string
		ok   bool
	}{
		{"Europe/Kyiv", true},
		{"America/Argentina/Buenos_Aires", true},
		{"Etc/GMT+5", true},
		{"UTC", true},
		{"Mars/Olympus_Mons", false},
		{"../../etc/passwd", false},
		{"/usr/share/zoneinfo/UTC", false},
		{"Local", false},
		{"Europe/Kyiv\x00", false},
		{"", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := LoadZone(c.name)
			var fe *fault.Error
			if c.ok != (err == nil) || err != nil && (!errors.As(err, &fe) || fe.Code != CodeInvalidQuery || fe.Field != "tz") {
				t.Fatalf("LoadZone(%q) = %v", c.name, err)
			}
		})
	}
}

// TestFilterMatchesEveryNamedDimension: values of one dimension are
// alternatives; every dimension named must match.
func TestFilterMatchesEveryNamedDimension(t *testing.T) {
	dims := `{"model":"a","region":"eu"}`
	for _, c := range []struct {
		name   string
		filter map[string][]string
		want   bool
	}{
		{"no filter", nil, true},
		{"one value", map[string][]string{"model": {"a"}}, true},
		{"alternatives", map[string][]string{"model": {"b", "a"}}, true},
		{"another value", map[string][]string{"model": {"b"}}, false},
		{"both dimensions", map[string][]string{"model": {"a"}, "region": {"eu"}}, true},
		{"one of two dimensions misses", map[string][]string{"model": {"a"}, "region": {"us"}}, false},
		{"a dimension the set lacks", map[string][]string{"tool": {"a"}}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got, err := matches(dims, c.filter); err != nil || got != c.want {
				t.Fatalf("matches = %v, %v", got, err)
			}
		})
	}
}
