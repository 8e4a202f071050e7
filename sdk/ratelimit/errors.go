package ratelimit

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/tollgate/tollgate/sdk/internal/problem"
)

// ErrUnavailable is matched (errors.Is) by every error meaning that the
// limit cannot be checked now: Tollgate unreachable, answering 5xx or 429,
// answering nonsense, or slower than Config.Timeout (the error then also
// matches context.DeadlineExceeded). The caller decides whether to let the
// request through.
var ErrUnavailable = errors.New("ratelimit: Tollgate is unavailable")

// Error is Tollgate's refusal of a check, from its problem+json answer:
// the HTTP status and the stable code of Tollgate's error catalogue
// (docs/errors.md). Errors of status 5xx or 429 also match ErrUnavailable.
type Error struct {
	Status int    // e.g. 400, 401, 403, 404, 503
	Code   string // e.g. "limit_not_found", "invalid_cost"; "" if Tollgate gave none
	Detail string
}

func (e *Error) Error() string {
	msg := "ratelimit: " + strconv.Itoa(e.Status)
	if e.Code != "" {
		msg += " " + e.Code
	}
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	return msg
}

// Is makes errors.Is(err, ErrUnavailable) true for a 5xx or 429, and
// errors.Is(err, &Error{Status: 404, Code: "limit_not_found"}) true for
// that status and code (any code when the target's is "").
func (e *Error) Is(target error) bool {
	if target == ErrUnavailable {
		return e.Status >= 500 || e.Status == http.StatusTooManyRequests
	}
	t, ok := target.(*Error)
	return ok && t.Status == e.Status && (t.Code == "" || t.Code == e.Code)
}

// Codes of Tollgate's refusals of a check.
const (
	CodeNameRequired   = "name_required"
	CodeInvalidLimit   = "invalid_limit" // a malformed name or key
	CodeInvalidCost    = "invalid_cost"  // below 1, or above the limit's quota
	CodeLimitNotFound  = "limit_not_found"
	CodeTenantNotFound = "tenant_not_found"
	CodeScopeRequired  = "scope_required" // the service lacks ratelimit:check
	CodeInvalidClient  = "invalid_client" // the client credentials were refused
	CodeUnavailable    = "ratelimit_unavailable"
)

// ErrLimitNotFound matches (errors.Is) the refusal of a limit name that is
// not configured, for the tenant if one was given.
var ErrLimitNotFound = &Error{Status: http.StatusNotFound, Code: CodeLimitNotFound}

// unavailable wraps cause as an error matching ErrUnavailable.
func unavailable(cause error) error {
	return fmt.Errorf("%w: %w", ErrUnavailable, cause)
}

// problemError reads an answer other than 200: Tollgate's problem document,
// or, from something in front of it, anything.
func problemError(status int, data []byte) *Error {
	code, detail := problem.Read(status, data)
	return &Error{Status: status, Code: code, Detail: detail}
}
