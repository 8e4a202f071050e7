package cursor

import "github.com/tollgate/tollgate/fault"

// Error codes of paged lists. docs/errors.md describes each; a code never
// changes meaning once released.
const (
	// A page cursor is not one the list handed out.
	CodeInvalidCursor fault.Code = "invalid_cursor"
	// A page size is out of range. ratelimit uses the same code for a malformed
	// limit, name or key.
	CodeInvalidLimit fault.Code = "invalid_limit"
)
