package ratelimit

import (
	"strconv"
	"strings"
	"time"

	"github.com/tollgate/tollgate/fault"
)

// ExceededError is a request refused because one or more policies are
// exhausted. It unwraps to a RateLimited fault "quota_exceeded" carrying
// the wait, so that the HTTP edge answers 429 with Retry-After; Policies
// name the exhausted policies (the problem's "violated-policies").
type ExceededError struct {
	Policies   []string
	RetryAfter time.Duration
}

func (e *ExceededError) Error() string {
	return "rate limit exceeded: " + strings.Join(e.Policies, ", ")
}

func (e *ExceededError) Unwrap() error {
	return &fault.Error{
		Kind: fault.RateLimited, Code: CodeQuotaExceeded,
		Detail:     "too many requests under the " + strings.Join(e.Policies, ", ") + " rate limit; retry after the time in Retry-After",
		RetryAfter: e.RetryAfter,
	}
}

// Exceeded returns an *ExceededError naming every denied decision in ds, or
// nil when all were allowed. The wait is the longest of theirs.
func Exceeded(ds []Decision) error {
	var e *ExceededError
	for _, d := range ds {
		if d.Result.Allowed {
			continue
		}
		if e == nil {
			e = &ExceededError{}
		}
		e.Policies = append(e.Policies, d.Name)
		e.RetryAfter = max(e.RetryAfter, d.Result.RetryAfter)
	}
	if e == nil {
		return nil
	}
	return e
}

// The header fields of draft-ietf-httpapi-ratelimit-headers-11: one list
// member per policy that counted the request, such as
//
//	RateLimit-Policy: "tenant";q=1000;w=60, "actor";q=100;w=10
//	RateLimit: "tenant";r=950;t=30, "actor";r=99;t=1
//
// Policies that are off or were skipped because the backend failed are not
// listed: the client could not rely on their numbers.
const (
	PolicyHeader = "RateLimit-Policy"
	StateHeader  = "RateLimit"
)

// HeaderFields renders the RateLimit-Policy and RateLimit values for ds;
// both are "" when no decision counted.
func HeaderFields(ds []Decision) (policy, state string) {
	var p, s []byte
	for _, d := range ds {
		if d.Unchecked {
			continue
		}
		if len(p) > 0 {
			p = append(p, ", "...)
			s = append(s, ", "...)
		}
		// Names are [a-z0-9_-], so they need no escaping as sf-strings.
		p = append(p, '"')
		p = append(p, d.Name...)
		p = append(p, `";q=`...)
		p = strconv.AppendInt(p, d.Result.Quota, 10)
		p = append(p, ";w="...)
		p = strconv.AppendInt(p, ceilSeconds(d.Policy.Limit.Window()), 10)

		s = append(s, '"')
		s = append(s, d.Name...)
		s = append(s, `";r=`...)
		s = strconv.AppendInt(s, d.Result.Remaining, 10)
		s = append(s, ";t="...)
		s = strconv.AppendInt(s, ceilSeconds(d.Result.ResetAfter), 10)
	}
	return string(p), string(s)
}

// ceilSeconds rounds up to whole seconds, as the fields and Retry-After
// carry: a client waiting the rounded-down time would be refused again.
func ceilSeconds(d time.Duration) int64 {
	return int64((d + time.Second - 1) / time.Second)
}
