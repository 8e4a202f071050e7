package httpapi

import (
	"math/rand/v2"
	"net/http"
	"time"
)

// AccessLog says which requests the access log writes: every refused or
// failed one (status 400 and up), every one that took Slow or longer, and
// Percent percent of the others. A line costs about as much as a fast
// request's decision (BENCHMARKS.md), so busy replicas write a sample.
type AccessLog struct {
	// Percent of the fast, successful requests written, 0 to 100.
	Percent int
	// Slow is the duration from which a request is always written
	// (default 100 ms).
	Slow time.Duration
	// Sample picks the fast, successful requests written; nil draws
	// Percent percent at random. Tests choose.
	Sample func() bool
}

// defaultSlowRequest is AccessLog.Slow's default, as config's access_log_slow.
const defaultSlowRequest = 100 * time.Millisecond

func (a AccessLog) withDefaults() AccessLog {
	if a.Slow <= 0 {
		a.Slow = defaultSlowRequest
	}
	if a.Sample == nil {
		share := float64(a.Percent) / 100
		a.Sample = func() bool { return rand.Float64() < share }
	}
	return a
}

// writes reports whether the request's line is written.
func (a AccessLog) writes(status int, took time.Duration) bool {
	return status >= http.StatusBadRequest || took >= a.Slow || a.Sample()
}
