package ratelimit

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/tollgate/tollgate/sdk/internal/problem"
)

// quotaExceededType is the problem type the RateLimit header fields draft
// registers for requests refused by a quota policy; Tollgate's own 429s
// carry it too.
const quotaExceededType = "https://iana.org/assignments/http-problem-types#quota-exceeded"

// Middleware checks the limit called name for every request, keyed by
// keyFrom(r) (a user or actor id, an API key id, a client IP; it must not
// be empty) with opts, before next:
//
//   - allowed: next runs, the response carrying the RateLimit-Policy and
//     RateLimit fields (draft-ietf-httpapi-ratelimit-headers), e.g.
//     `"messages";q=3` and `"messages";r=2;t=1200` — unless the limit went
//     unchecked (off, or failing open in Tollgate);
//   - denied: 429 with Retry-After (whole seconds, rounded up), the same
//     fields and a quota-exceeded problem+json body;
//   - ErrUnavailable: 503 problem+json (code ratelimit_unavailable): the
//     middleware fails closed. To fail open, call Check in a handler;
//   - any other error, a limit misconfigured in Tollgate (*Error): 500
//     problem+json (code internal_error), logged.
//
// RateLimit-Policy carries no "w" (window) parameter: Tollgate's answer
// does not say the limit's window, and the parameter is optional.
func (c *Client) Middleware(name string, keyFrom func(*http.Request) string, opts ...Option) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			res, err := c.Check(r.Context(), name, keyFrom(r), opts...)
			switch {
			case errors.Is(err, ErrUnavailable):
				// Check logged the cause, throttled.
				problem.Write(w, r, problem.Document{Status: http.StatusServiceUnavailable, Code: CodeUnavailable,
					Detail: "the rate limit cannot be checked now; retry later"})
				return
			case err != nil:
				if c.quiet.Allow(c.now()) {
					c.log.Error("ratelimit: the middleware's check was refused", "limit", name, "err", err)
				}
				problem.Write(w, r, problem.Document{Status: http.StatusInternalServerError, Code: "internal_error"})
				return
			}
			if !res.Unchecked {
				policy, state := HeaderFields(name, res)
				w.Header().Set(PolicyHeader, policy)
				w.Header().Set(StateHeader, state)
			}
			if !res.Allowed {
				w.Header().Set("Retry-After", strconv.FormatInt(max(1, ceilSeconds(res.RetryAfter)), 10))
				problem.Write(w, r, problem.Document{
					Type: quotaExceededType, Title: "Request cannot be satisfied as assigned quota has been exceeded",
					Status: http.StatusTooManyRequests, Code: "quota_exceeded",
					Detail:           "too many requests under the " + name + " rate limit; retry after the time in Retry-After",
					ViolatedPolicies: []string{name},
				})
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// The IETF RateLimit header fields (draft-ietf-httpapi-ratelimit-headers),
// the names Tollgate's own API answers with. The SDK declares them itself so
// that services need not import the server's packages.
const (
	PolicyHeader = "RateLimit-Policy"
	StateHeader  = "RateLimit"
)

// HeaderFields renders the RateLimit-Policy and RateLimit field values of
// res for the limit called name, in the format of Tollgate's own:
//
//	RateLimit-Policy: "messages";q=3
//	RateLimit: "messages";r=0;t=3600
//
// with t, the time until the quota is whole again, in seconds rounded up.
// Limit names are [a-z0-9_-], which need no escaping as sf-strings.
func HeaderFields(name string, res Result) (policy, state string) {
	policy = `"` + name + `";q=` + strconv.FormatInt(res.Limit, 10)
	if res.Window > 0 {
		policy += ";w=" + strconv.FormatInt(ceilSeconds(res.Window), 10)
	}
	state = `"` + name + `";r=` + strconv.FormatInt(res.Remaining, 10) +
		";t=" + strconv.FormatInt(ceilSeconds(res.ResetAfter), 10)
	return policy, state
}

// ceilSeconds rounds up to whole seconds: a client waiting the rounded-down
// time would be refused again.
func ceilSeconds(d time.Duration) int64 {
	s := int64(d / time.Second)
	if d%time.Second > 0 {
		s++
	}
	return s
}
