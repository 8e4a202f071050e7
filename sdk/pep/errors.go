package pep

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/tollgate/tollgate/sdk/internal/problem"
)

// ErrUnavailable is matched (errors.Is) by every error meaning that no
// decision can be had now: Tollgate unreachable, answering 5xx or 429,
// answering nonsense, or slower than Config.Timeout — and no stale
// decision could stand in (see Config.StaleFor). Callers fail closed.
var ErrUnavailable = errors.New("pep: Tollgate is unavailable")

// ErrDenied is matched by the *DeniedError of Check.
var ErrDenied = errors.New("pep: permission denied")

// ErrNoActor is returned by Check when the context carries no
// authenticated actor (see authn.FromContext).
var ErrNoActor = errors.New("pep: no authenticated actor in the context")

// ErrInvalidRequest is matched by the errors of a Request refused before it
// is sent: no TenantID, Principal or Action, or a Context that does not
// encode as JSON.
var ErrInvalidRequest = errors.New("pep: invalid request")

// DeniedError is Check's answer to a deny: the Decision says why.
type DeniedError struct {
	Decision Decision
}

func (e *DeniedError) Error() string {
	msg := "pep: permission denied"
	if len(e.Decision.Reasons) > 0 {
		msg += " (" + strings.Join(e.Decision.Reasons, ", ") + ")"
	}
	if e.Decision.DecisionID != "" {
		msg += " [decision " + e.Decision.DecisionID + "]"
	}
	return msg
}

// Is makes errors.Is(err, ErrDenied) true.
func (e *DeniedError) Is(target error) bool { return target == ErrDenied }

// Error is Tollgate's refusal to answer, from its problem+json answer: the
// HTTP status and the stable code of Tollgate's error catalogue
// (docs/errors.md). Errors of status 5xx or 429 also match ErrUnavailable.
type Error struct {
	Status int    // e.g. 400, 401, 403, 404, 503
	Code   string // e.g. "tenant_not_found", "scope_required"; "" if Tollgate gave none
	Detail string
}

func (e *Error) Error() string {
	msg := "pep: " + strconv.Itoa(e.Status)
	if e.Code != "" {
		msg += " " + e.Code
	}
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	return msg
}

// Is makes errors.Is(err, ErrUnavailable) true for a 5xx or 429, and
// errors.Is(err, &Error{Status: 404, Code: "tenant_not_found"}) true for
// that status and code (any code when the target's is "").
func (e *Error) Is(target error) bool {
	if target == ErrUnavailable {
		return e.Status >= 500 || e.Status == http.StatusTooManyRequests
	}
	t, ok := target.(*Error)
	return ok && t.Status == e.Status && (t.Code == "" || t.Code == e.Code)
}

// Codes of Tollgate's refusals to answer.
const (
	CodeTenantRequired    = "tenant_required"
	CodePrincipalRequired = "principal_required"
	CodeTenantNotFound    = "tenant_not_found"
	CodeScopeRequired     = "scope_required" // the service lacks authz:check
	CodeInvalidClient     = "invalid_client" // the client credentials were refused
	CodeInvalidBatch      = "invalid_batch"
	// The service is not registered for the tenant, or for the resource
	// type, it asked about.
	CodeTenantNotRegistered       = "tenant_not_registered"
	CodeResourceTypeNotRegistered = "resource_type_not_registered"
)

// unavailable wraps cause as an error matching ErrUnavailable.
func unavailable(cause error) error {
	return fmt.Errorf("%w: %w", ErrUnavailable, cause)
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidRequest, fmt.Sprintf(format, args...))
}

// problemError reads an answer other than 200: Tollgate's problem document,
// or, from something in front of it, anything.
func problemError(status int, data []byte) *Error {
	code, detail := problem.Read(status, data)
	return &Error{Status: status, Code: code, Detail: detail}
}
