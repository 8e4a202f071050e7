package usage

import (
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"

	"github.com/tollgate/tollgate/sdk/internal/clienttoken"
	"github.com/tollgate/tollgate/sdk/internal/problem"
)

// batchResult is Tollgate's 202.
type batchResult struct {
	Accepted   *int `json:"accepted"`
	Duplicates int  `json:"duplicates"`
	Rejected   []struct {
		Index  int    `json:"index"`
		ID     string `json:"id"`
		Code   string `json:"code"`
		Reason string `json:"reason"`
	} `json:"rejected"`
}

// verdict is what an attempt's answer means.
type verdict uint8

const (
	// answered: Tollgate took the batch (202).
	answered verdict = iota
	// retry: a failure that may pass; send the same batch again.
	retry
	// refused: Tollgate refused the batch for a reason that will not pass.
	refused
)

// judge classifies an attempt: transport failures, 5xx and 429 (from
// Tollgate or from its token endpoint) may pass; any other refusal will
// not.
func judge(resp clienttoken.Response, err error) verdict {
	var te *clienttoken.TokenError
	var se *clienttoken.StatusError
	switch {
	case errors.As(err, &te) && errors.As(err, &se):
		return statusVerdict(se.StatusCode)
	case err != nil:
		return retry
	case resp.Status == http.StatusAccepted:
		return answered
	}
	return statusVerdict(resp.Status)
}

func statusVerdict(status int) verdict {
	if status >= 500 || status == http.StatusTooManyRequests || status == http.StatusRequestTimeout {
		return retry
	}
	return refused
}

// deliver sends batch until Tollgate answers or refuses it for good,
// counting the outcome, and reports false if ctx ended first.
func (r *Reporter) deliver(ctx context.Context, batch []queued) bool {
	body := make([]byte, 0, 2+len(batch)*(len(batch[0].raw)+1))
	body = append(body, '[')
	for i, q := range batch {
		if i > 0 {
			body = append(body, ',')
		}
		body = append(body, q.raw...)
	}
	body = append(body, ']')
	for attempt := 0; ; attempt++ {
		actx, cancel := context.WithTimeout(ctx, r.timeout)
		resp, err := r.send(actx, body)
		cancel()
		if ctx.Err() != nil {
			return false
		}
		switch judge(resp, err) {
		case answered:
			r.count(batch, resp)
			return true
		case refused:
			r.rejected.Add(uint64(len(batch)))
			code, detail := problem.Read(resp.Status, resp.Body)
			if err != nil {
				code, detail = "token refused", err.Error()
			}
			if r.quiet.Allow(r.now()) {
				r.log.Error("usage: Tollgate refused a batch of usage events; they are not sent again",
					"events", len(batch), "status", resp.Status, "code", code, "detail", detail)
			}
			return true
		}
		// math/rand/v2's global source is safe for concurrent use.
		wait := backoff(attempt, r.retryMin, r.retryMax, rand.Float64())
		if ra := retryAfter(resp.Header, r.now()); ra > wait {
			wait = ra
		}
		if r.quiet.Allow(r.now()) {
			r.log.Warn("usage: sending usage events failed; retrying", "events", len(batch), "status", resp.Status, "err", err, "retry_in", wait)
		}
		if r.sleep(ctx, wait) != nil {
			return false
		}
	}
}

// count adds a 202's outcome to the stats. An answer that does not parse
// counts the batch as accepted: Tollgate answered 202, so it recorded it.
func (r *Reporter) count(batch []queued, resp clienttoken.Response) {
	var res batchResult
	if err := json.Unmarshal(resp.Body, &res); err != nil || res.Accepted == nil {
		r.accepted.Add(uint64(len(batch)))
		return
	}
	r.accepted.Add(uint64(*res.Accepted))
	r.duplicates.Add(uint64(res.Duplicates))
	r.rejected.Add(uint64(len(res.Rejected)))
	if len(res.Rejected) > 0 && r.quiet.Allow(r.now()) {
		first := res.Rejected[0]
		r.log.Error("usage: Tollgate rejected usage events", "rejected", len(res.Rejected), "first_id", first.ID, "code", first.Code, "reason", first.Reason)
	}
}

// backoff is the wait before retry attempt+1: between half and all of
// min(max, base·2^attempt) — "equal jitter", so that reporters failing
// together do not retry together, and none retries at once.
func backoff(attempt int, base, max time.Duration, rnd float64) time.Duration {
	ceil := max
	if attempt < 32 {
		if c := base << attempt; c > 0 && c < max {
			ceil = c
		}
	}
	return ceil/2 + time.Duration(float64(ceil/2)*rnd)
}

// retryAfter reads Retry-After (RFC 9110 §10.2.3): seconds, or an HTTP
// date; 0 when absent or malformed.
func retryAfter(h http.Header, now time.Time) time.Duration {
	v := h.Get("Retry-After")
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseInt(v, 10, 64); err == nil && s >= 0 {
		return time.Duration(min(s, 24*3600)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return min(t.Sub(now), 24*time.Hour)
	}
	return 0
}
