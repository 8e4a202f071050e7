// Package fault defines Tollgate's typed domain errors. Every layer below the
// HTTP edge returns these; httpapi renders them once as RFC 9457 problems. The
// public part (Kind, Code, Detail, Field) is safe to show a client; the wrapped
// cause is for logs only.
package fault

import (
	"errors"
	"fmt"
	"time"
)

// Kind classifies an error by what the caller can do about it.
type Kind int

const (
	// Internal is the zero Kind so that an unclassified error is never shown as
	// anything friendlier than a 500.
	Internal Kind = iota
	Invalid
	Unauthenticated
	Forbidden
	NotFound
	Conflict
	RateLimited
	Unavailable
	TooLarge
	UnsupportedMediaType
)

func (k Kind) String() string {
	switch k {
	case Invalid:
		return "invalid"
	case Unauthenticated:
		return "unauthenticated"
	case Forbidden:
		return "forbidden"
	case NotFound:
		return "not_found"
	case Conflict:
		return "conflict"
	case RateLimited:
		return "rate_limited"
	case Unavailable:
		return "unavailable"
	case TooLarge:
		return "too_large"
	case UnsupportedMediaType:
		return "unsupported_media_type"
	default:
		return "internal"
	}
}

// Code is a stable, machine-readable error code, e.g. "tenant_not_found".
// Clients branch on it, so a code never changes meaning once released. Each
// domain package declares the codes it owns in its codes.go; every code is
// described in docs/errors.md.
type Code string

// Error is a classified error with a stable, machine-readable Code.
type Error struct {
	Kind Kind
	// Code is stable across releases; clients branch on it.
	Code Code
	// Detail is a human-readable sentence that is safe to show the client.
	Detail string
	// Field is the JSON path of the offending input, for validation errors.
	Field string
	// RetryAfter is set on RateLimited errors.
	RetryAfter time.Duration
	// Err is the internal cause; it is logged, never sent.
	Err error
}

func (e *Error) Error() string {
	msg := e.Kind.String() + ": " + string(e.Code)
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// Is makes errors.Is(err, fault.ErrNotFound) true for any NotFound error, and
// errors.Is(err, &fault.Error{Code: "x"}) true for any error with that code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	if !ok {
		return false
	}
	if t.Code != "" {
		return t.Code == e.Code
	}
	return t.Kind == e.Kind
}

// Sentinels for errors.Is checks by kind. Never return these directly: build
// an Error with a specific code instead.
var (
	ErrInvalid         = &Error{Kind: Invalid}
	ErrUnauthenticated = &Error{Kind: Unauthenticated}
	ErrNotFound        = &Error{Kind: NotFound}
	ErrConflict        = &Error{Kind: Conflict}
	ErrRateLimited     = &Error{Kind: RateLimited}
	ErrUnavailable     = &Error{Kind: Unavailable}
)

// New returns an error of the given kind and code.
func New(kind Kind, code Code, detail string) *Error {
	return &Error{Kind: kind, Code: code, Detail: detail}
}

// Invalidf reports bad input in field.
func Invalidf(field string, code Code, format string, args ...any) *Error {
	return &Error{Kind: Invalid, Code: code, Field: field, Detail: fmt.Sprintf(format, args...)}
}

// NotFoundf reports that something the caller named does not exist for them.
func NotFoundf(code Code, format string, args ...any) *Error {
	return &Error{Kind: NotFound, Code: code, Detail: fmt.Sprintf(format, args...)}
}

// Conflictf reports that the request clashes with existing state.
func Conflictf(code Code, format string, args ...any) *Error {
	return &Error{Kind: Conflict, Code: code, Detail: fmt.Sprintf(format, args...)}
}

// Forbiddenf reports an authenticated caller lacking a right.
func Forbiddenf(code Code, format string, args ...any) *Error {
	return &Error{Kind: Forbidden, Code: code, Detail: fmt.Sprintf(format, args...)}
}

// Unauthenticatedf reports a missing or bad credential.
func Unauthenticatedf(code Code, format string, args ...any) *Error {
	return &Error{Kind: Unauthenticated, Code: code, Detail: fmt.Sprintf(format, args...)}
}

// Wrap classifies an internal cause without exposing it.
func Wrap(kind Kind, code Code, cause error) *Error {
	return &Error{Kind: kind, Code: code, Err: cause}
}

// KindOf returns the Kind of err, or Internal when err is not a fault.
func KindOf(err error) Kind {
	var fe *Error
	if errors.As(err, &fe) {
		return fe.Kind
	}
	return Internal
}
