package usage

import (
	"testing"
	"time"
)

func TestPeriodOfIsTheUTCCalendarMonth(t *testing.T) {
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, c := range []struct {
		name, t, start, end string
	}{
		{"mid-month", "2026-03-14T15:09:26Z", "2026-03-01T00:00:00Z", "2026-04-01T00:00:00Z"},
		{"its first instant", "2026-03-01T00:00:00Z", "2026-03-01T00:00:00Z", "2026-04-01T00:00:00Z"},
		{"its last instant", "2026-03-31T23:59:59.999999999Z", "2026-03-01T00:00:00Z", "2026-04-01T00:00:00Z"},
		{"December turns into January", "2026-12-31T12:00:00Z", "2026-12-01T00:00:00Z", "2027-01-01T00:00:00Z"},
		{"a leap February", "2028-02-29T10:00:00Z", "2028-02-01T00:00:00Z", "2028-03-01T00:00:00Z"},
		{"taken in UTC, not the time's zone", "2026-04-01T01:30:00+03:00", "2026-03-01T00:00:00Z", "2026-04-01T00:00:00Z"},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := PeriodOf(at(c.t))
			if !p.Start.Equal(at(c.start)) || !p.End.Equal(at(c.end)) || p.Start.Location() != time.UTC {
				t.Fatalf("PeriodOf(%s) = %v – %v, want %s – %s", c.t, p.Start, p.End, c.start, c.end)
			}
		})
	}
}
