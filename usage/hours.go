package usage

// MinuteRange is the minutes [From, To) since the Unix epoch; empty when
// To <= From.
type MinuteRange struct {
	From, To int64
}

// Empty reports whether r holds no minute.
func (r MinuteRange) Empty() bool { return r.To <= r.From }

// HourRange plans which minutes of [from, to) the hour roll-ups answer:
// the whole UTC hours inside the range, when every one of them lies in a
// single window of windowMinutes (0: the range is one window) shifted by
// offsetMinutes. That holds when windows are whole hours (an hour, a day)
// starting on whole hours — a zone whose offset is whole hours, Europe/Kyiv
// on either side of its clock changes included. A zone at a quarter or
// half hour (Asia/Kathmandu, +05:45) begins its hours and days inside UTC
// hours, so its windows are read from minutes, as are minute windows and
// the partial hours at the range's ends.
func HourRange(from, to, windowMinutes, offsetMinutes int64) MinuteRange {
	if windowMinutes != 0 && (windowMinutes%60 != 0 || offsetMinutes%60 != 0) {
		return MinuteRange{}
	}
	r := MinuteRange{From: (from + 59) / 60 * 60, To: to / 60 * 60}
	if r.Empty() {
		return MinuteRange{}
	}
	return r
}
