package usage

import "testing"

func TestHourRange(t *testing.T) {
	for _, c := range []struct {
		name                  string
		from, to, window, off int64
		want                  MinuteRange
	}{
		{"whole hours, no window", 120, 360, 0, 0, MinuteRange{120, 360}},
		{"edges trimmed", 130, 350, 0, 0, MinuteRange{180, 300}},
		{"no whole hour", 130, 170, 0, 0, MinuteRange{}},
		{"one window ignores the offset", 0, 1440, 0, 345, MinuteRange{0, 1440}},
		{"hour windows", 60, 600, 60, 0, MinuteRange{60, 600}},
		{"day windows, whole-hour offset", 1260, 4140, 1440, 180, MinuteRange{1260, 4140}},
		{"negative whole-hour offset", 300, 3180, 1440, -300, MinuteRange{300, 3180}},
		{"minute windows", 0, 600, 1, 0, MinuteRange{}},
		{"quarter-hour offset, days", 1095, 5415, 1440, 345, MinuteRange{}},
		{"half-hour offset, hours", 30, 630, 60, -570, MinuteRange{}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := HourRange(c.from, c.to, c.window, c.off); got != c.want {
				t.Fatalf("HourRange(%d, %d, %d, %d) = %+v, want %+v", c.from, c.to, c.window, c.off, got, c.want)
			}
		})
	}
}
