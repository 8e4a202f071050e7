package webhook

import "time"

// schedule is the Standard Webhooks specification's suggested retry
// schedule: the delay before each attempt after the first, which is
// immediate. The eight attempts span about 27 and a half hours.
var schedule = [...]time.Duration{
	5 * time.Second,
	5 * time.Minute,
	30 * time.Minute,
	2 * time.Hour,
	5 * time.Hour,
	10 * time.Hour,
	10 * time.Hour,
}

// MaxAttempts is how many times a message is tried.
const MaxAttempts = len(schedule) + 1

// NextAttempt is when to try again after the attempts-th attempt (1-based)
// failed at at; ok is false when that was the last.
func NextAttempt(attempts int, at time.Time) (next time.Time, ok bool) {
	if attempts < 1 || attempts > len(schedule) {
		return time.Time{}, false
	}
	return at.Add(schedule[attempts-1]), true
}
