package password

import "github.com/tollgate/tollgate/fault"

// Error codes of passwords and password hashing. docs/errors.md describes each;
// a code never changes meaning once released.
const (
	// Password policy.

	// The password is not valid UTF-8 or contains NUL.
	CodePasswordInvalidUTF8 fault.Code = "password_invalid_utf8"
	CodePasswordTooShort    fault.Code = "password_too_short"
	CodePasswordTooLong     fault.Code = "password_too_long"
	// The password is on the list of common passwords.
	CodePasswordCommon fault.Code = "password_common"
	// The password equals the email, its local part, or "tollgate".
	CodePasswordContextual fault.Code = "password_contextual"

	// Hashing.

	// A password hash that is not argon2id PHC or bcrypt, is malformed, or
	// costs too much.
	CodeUnsupportedHash fault.Code = "unsupported_hash"
	// The argon2id settings are out of range.
	CodeInvalidHashParams fault.Code = "invalid_hash_params"
	// The request ended while waiting for a hashing slot.
	CodeHasherBusy fault.Code = "hasher_busy"
	// The hashing worker process could not be started or died.
	CodeHasherUnavailable fault.Code = "hasher_unavailable"
	// The hashing worker answered with an error.
	CodeHasherFailed fault.Code = "hasher_failed"
)
