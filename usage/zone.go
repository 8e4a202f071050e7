package usage

import (
	"strings"
	"time"
	// The zone database goes with the binary: tz= must answer the same on
	// a host or container without /usr/share/zoneinfo.
	_ "time/tzdata"
)

// maxSpans bounds the stretches of one offset that a query's range may
// cross: a year of a zone with daylight saving time has two or three.
const maxSpans = 16

// span is a stretch of a query's range over which the zone keeps one
// offset from UTC; minutes since the epoch, offset in minutes.
type span struct {
	from, to, offset int64
}

// spans splits [from, to) where loc's offset changes, so that the store
// can bucket each stretch by windows shifted by one constant offset.
func spans(from, to time.Time, loc *time.Location) ([]span, error) {
	var out []span
	for t := from; t.Before(to); {
		local := t.In(loc)
		_, off := local.Zone()
		_, end := local.ZoneBounds()
		if end.IsZero() || end.After(to) {
			end = to
		}
		if off%60 != 0 || end.Unix()%60 != 0 {
			return nil, badQuery("tz", "time zone %s has an offset of seconds in this range", loc)
		}
		if len(out) == maxSpans {
			return nil, badQuery("tz", "time zone %s changes its offset more than %d times in this range", loc, maxSpans)
		}
		out = append(out, span{from: t.Unix() / 60, to: end.Unix() / 60, offset: int64(off / 60)})
		t = end
	}
	return out, nil
}

// windowStart returns where the window holding the store's bucket w (a
// bucket of storeMinutes shifted by offset) starts in loc, in minutes
// since the epoch: a day or month starts at local midnight whatever the
// offset of the stretch w was read in, so the two halves of a day on
// which clocks change fold into one window.
func (w Window) windowStart(bucket, offset int64, loc *time.Location) int64 {
	switch w {
	case WindowDay, WindowMonth:
		local := time.Unix((bucket+offset)*60, 0).UTC()
		day := 1
		if w == WindowDay {
			day = local.Day()
		}
		return time.Date(local.Year(), local.Month(), day, 0, 0, 0, 0, loc).Unix() / 60
	}
	return bucket
}

// windowEnd returns where the window starting at start ends in loc.
func (w Window) windowEnd(start time.Time, loc *time.Location) time.Time {
	local := start.In(loc)
	switch w {
	case WindowDay:
		return local.AddDate(0, 0, 1).UTC()
	case WindowMonth:
		return local.AddDate(0, 1, 0).UTC()
	case WindowHour:
		return start.Add(time.Hour)
	}
	return start.Add(time.Minute)
}

// aligned reports whether t starts a window in loc.
func (w Window) aligned(t time.Time, loc *time.Location) bool {
	local := t.In(loc)
	whole := local.Second() == 0 && local.Nanosecond() == 0
	switch w {
	case WindowHour:
		return whole && local.Minute() == 0
	case WindowDay:
		return whole && local.Minute() == 0 && local.Hour() == 0
	case WindowMonth:
		return whole && local.Minute() == 0 && local.Hour() == 0 && local.Day() == 1
	}
	return whole
}

// LoadZone returns the IANA time zone called name. Names are checked
// before the zone database is asked: a path ("../") or an over-long name
// never reaches it.
func LoadZone(name string) (*time.Location, error) {
	bad := badQuery("tz", "tz must be an IANA time zone name such as Europe/Kyiv")
	if name == "" || len(name) > maxName || strings.Trim(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/_-+") != "" ||
		strings.Contains(name, "..") || strings.HasPrefix(name, "/") || name == "Local" {
		return nil, bad
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, bad
	}
	return loc, nil
}

// zoneName is loc's name, "" for UTC and nil.
func zoneName(loc *time.Location) string {
	if loc == nil || loc == time.UTC {
		return ""
	}
	return loc.String()
}
