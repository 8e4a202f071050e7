package oauth

import "fmt"

// Error is an RFC 6749 §5.2 error response. The token endpoint answers
// with these instead of problem documents, as OAuth clients expect.
type Error struct {
	Code        string `json:"error"`
	Description string `json:"error_description,omitempty"`
	Status      int    `json:"-"`
	// Basic asks for a WWW-Authenticate: Basic challenge (RFC 6749 §5.2,
	// invalid_client after HTTP Basic authentication).
	Basic bool `json:"-"`
}

func (e *Error) Error() string { return e.Code + ": " + e.Description }

func errInvalidRequest(format string, args ...any) *Error {
	return &Error{Code: "invalid_request", Description: fmt.Sprintf(format, args...), Status: 400}
}

func errInvalidClient(desc string, basic bool) *Error {
	return &Error{Code: "invalid_client", Description: desc, Status: 401, Basic: basic}
}

func errInvalidGrant(format string, args ...any) *Error {
	return &Error{Code: "invalid_grant", Description: fmt.Sprintf(format, args...), Status: 400}
}

func errInvalidScope(format string, args ...any) *Error {
	return &Error{Code: "invalid_scope", Description: fmt.Sprintf(format, args...), Status: 400}
}
