package authn

import (
	"errors"
	"net/http"

	"github.com/tollgate/tollgate/sdk/internal/problem"
)

// Error is an authentication or authorization failure with the HTTP status
// and the stable code of Tollgate's error catalogue (docs/errors.md). Detail
// is safe to show the client; the internal cause, if any, is reachable with
// errors.Unwrap for logs only.
type Error struct {
	Status int    // 401, 403 or 503
	Code   string // e.g. "invalid_token", "permission_denied", "unavailable"
	Detail string
	cause  error
}

func (e *Error) Error() string {
	msg := "authn: " + e.Code
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	if e.cause != nil {
		msg += ": " + e.cause.Error()
	}
	return msg
}

// Unwrap returns the internal cause.
func (e *Error) Unwrap() error { return e.cause }

// Is makes errors.Is(err, ErrUnauthenticated) true for every 401, and
// errors.Is(err, &Error{Status: 401, Code: "token_revoked"}) true for that
// code only.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Status == e.Status && (t.Code == "" || t.Code == e.Code)
}

// Sentinels for errors.Is by status. Errors returned carry a specific Code.
var (
	// ErrUnauthenticated: no credential, or one that is invalid, expired or
	// revoked (401).
	ErrUnauthenticated = &Error{Status: http.StatusUnauthorized}
	// ErrForbidden: the actor lacks a permission (403).
	ErrForbidden = &Error{Status: http.StatusForbidden}
	// ErrUnavailable: the credential cannot be checked now — the signing
	// keys were never loaded, or Tollgate cannot be reached to introspect
	// an API key (503). Retry later.
	ErrUnavailable = &Error{Status: http.StatusServiceUnavailable}
)

// Codes of the errors this package returns.
const (
	CodeMissingCredential   = "missing_credential"
	CodeAmbiguousCredential = "ambiguous_credential"
	CodeInvalidToken        = "invalid_token"
	CodeInvalidAPIKey       = "invalid_api_key"
	CodeTokenRevoked        = "token_revoked"
	CodePermissionDenied    = "permission_denied"
	CodeUnavailable         = "unavailable"
)

func errMissing() *Error {
	return &Error{Status: http.StatusUnauthorized, Code: CodeMissingCredential,
		Detail: "send an access token as Authorization: Bearer <token>, or an API key"}
}

func errAmbiguous() *Error {
	return &Error{Status: http.StatusUnauthorized, Code: CodeAmbiguousCredential,
		Detail: "send one credential: Authorization or X-API-Key, not both"}
}

func errInvalidToken(cause error) *Error {
	return &Error{Status: http.StatusUnauthorized, Code: CodeInvalidToken,
		Detail: "the access token is invalid or expired", cause: cause}
}

func errInvalidAPIKey(detail string) *Error {
	if detail == "" {
		detail = "the API key is invalid, expired or revoked"
	}
	return &Error{Status: http.StatusUnauthorized, Code: CodeInvalidAPIKey, Detail: detail}
}

func errRevoked() *Error {
	return &Error{Status: http.StatusUnauthorized, Code: CodeTokenRevoked,
		Detail: "the credential of this token has been revoked, or its actor or tenant disabled"}
}

func errUnavailable(cause error) *Error {
	return &Error{Status: http.StatusServiceUnavailable, Code: CodeUnavailable,
		Detail: "the credential cannot be checked now; retry later", cause: cause}
}

// WriteError renders err as an application/problem+json response: an
// *Error with its status and code (and WWW-Authenticate on a 401), anything
// else as a 500 without its message. Handlers use it for the errors of
// Require.
func WriteError(w http.ResponseWriter, r *http.Request, err error) {
	var e *Error
	if !errors.As(err, &e) {
		e = &Error{Status: http.StatusInternalServerError, Code: "internal_error"}
	}
	h := w.Header()
	if e.Status == http.StatusUnauthorized {
		// RFC 6750 §3: no error attribute when no credential was sent.
		switch e.Code {
		case CodeMissingCredential:
			h.Set("WWW-Authenticate", `Bearer realm="tollgate"`)
		case CodeAmbiguousCredential:
			h.Set("WWW-Authenticate", `Bearer realm="tollgate", error="invalid_request"`)
		default:
			h.Set("WWW-Authenticate", `Bearer realm="tollgate", error="invalid_token"`)
		}
	}
	if e.Status == http.StatusForbidden && e.Code == CodePermissionDenied {
		h.Set("WWW-Authenticate", `Bearer realm="tollgate", error="insufficient_scope"`)
	}
	problem.Write(w, r, problem.Document{Status: e.Status, Detail: e.Detail, Code: e.Code})
}
