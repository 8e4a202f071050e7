package usage

import "time"

// Period is a billing period, [Start, End).
type Period struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// PeriodOf returns the billing period holding t: its calendar month in
// UTC. Tenants have no time zone of their own, so every tenant's month
// turns at the same instant; minute roll-ups would keep a month taken in
// another zone exact, since every zone's offset is whole minutes.
func PeriodOf(t time.Time) Period {
	t = t.UTC()
	start := time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
	return Period{Start: start, End: start.AddDate(0, 1, 0)}
}

// minutes returns the period as minutes since the epoch.
func (p Period) minutes() (from, to int64) { return p.Start.Unix() / 60, p.End.Unix() / 60 }
