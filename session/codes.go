package session

import "github.com/tollgate/tollgate/fault"

// Error codes of sign-in, sessions and refresh tokens. docs/errors.md describes
// each; a code never changes meaning once released.
const (
	// Wrong email or password, unknown email, or disabled account; all look the
	// same.
	CodeInvalidCredentials fault.Code = "invalid_credentials"
	// At sign-in: the password is empty or too long.
	CodeInvalidPassword fault.Code = "invalid_password"
	// At sign-in: neither a tenant id nor a well-formed slug.
	CodeInvalidTenant fault.Code = "invalid_tenant"
	// At sign-in or tenant switch: not a member of the tenant, or no such
	// tenant.
	CodeTenantAccessDenied fault.Code = "tenant_access_denied"
	// The refresh token is unknown, expired, revoked or already used, or its
	// user is disabled.
	CodeInvalidRefreshToken fault.Code = "invalid_refresh_token"
	// A new session's random id collided with an existing one.
	CodeSessionExists   fault.Code = "session_exists"
	CodeSessionNotFound fault.Code = "session_not_found"
)

// Password reset and change.
const (
	// CodeInvalidResetToken: the reset token is malformed (400) or unknown
	// (404).
	CodeInvalidResetToken fault.Code = "invalid_reset_token"
	// CodeResetTokenUsed: the reset link was used, or superseded by a
	// newer one or a password change.
	CodeResetTokenUsed fault.Code = "reset_token_used"
	// CodeResetTokenExpired: the reset link is older than
	// password_reset_ttl.
	CodeResetTokenExpired fault.Code = "reset_token_expired"
	// CodeWrongPassword: the current password given to a change is wrong.
	CodeWrongPassword fault.Code = "wrong_password"
	// CodePasswordChanged: the password changed while this change was
	// being made; retry with the new one.
	CodePasswordChanged fault.Code = "password_changed"
)

// Sign-up.
const (
	// CodeSignupDisabled: signup is not open here.
	CodeSignupDisabled fault.Code = "signup_disabled"
	// CodeInvalidVerifyToken: the verification token is malformed (400) or
	// unknown (404).
	CodeInvalidVerifyToken fault.Code = "invalid_verification_token"
	// CodeVerifyTokenUsed: the verification link was already used.
	CodeVerifyTokenUsed fault.Code = "verification_token_used"
	// CodeVerifyTokenExpired: the verification link is older than
	// signup_verification_ttl.
	CodeVerifyTokenExpired fault.Code = "verification_token_expired"
)

// Multi-factor sign-in.
const (
	// CodeMFARequired: a second factor is needed — at sign-in, with an
	// mfa_token to give it; on a tenant switch, the tenant requires one
	// and the session was not signed in with it.
	CodeMFARequired fault.Code = "mfa_required"
	// CodeMFAEnrollmentRequired: the tenant requires a second factor and
	// the user has none; the problem's mfa_token enrols one.
	CodeMFAEnrollmentRequired fault.Code = "mfa_enrollment_required"
	// CodeInvalidMFAToken: the mfa_token is malformed (400), or unknown,
	// expired, used or out of attempts (401).
	CodeInvalidMFAToken fault.Code = "invalid_mfa_token"
	// CodeInvalidMFACode: the code is malformed (400) or wrong (401 at
	// sign-in, 403 when disabling).
	CodeInvalidMFACode fault.Code = "invalid_mfa_code"
	// CodeTOTPAlreadyEnabled: the user has an authenticator app; disable
	// it before enrolling another.
	CodeTOTPAlreadyEnabled fault.Code = "totp_already_enabled"
	// CodeTOTPNotEnrolled: no authenticator app (to confirm or disable).
	CodeTOTPNotEnrolled fault.Code = "totp_not_enrolled"
	// CodeTOTPNotPending: the enrolment was confirmed or replaced
	// meanwhile.
	CodeTOTPNotPending fault.Code = "totp_not_pending"
	// CodeMFAUnavailable: this server has no second factors configured.
	CodeMFAUnavailable fault.Code = "mfa_unavailable"
)

// Passkeys (WebAuthn).
const (
	// CodeInvalidPasskey: the passkey's answer is malformed or too large
	// (400), or did not verify — wrong signature, origin or relying
	// party, unknown credential, replayed or expired ceremony, counter
	// gone backwards (401 at sign-in, 403 when registering or removing).
	CodeInvalidPasskey fault.Code = "invalid_passkey"
	// CodeInvalidPasskeyName: the name is too long or not printable.
	CodeInvalidPasskeyName fault.Code = "invalid_passkey_name"
	// CodePasskeyNotFound: no such passkey of yours, or you have none.
	CodePasskeyNotFound fault.Code = "passkey_not_found"
	// CodePasskeyLimit: you have as many passkeys as allowed.
	CodePasskeyLimit fault.Code = "passkey_limit"
	// CodePasskeyExists: the authenticator's credential is registered
	// already.
	CodePasskeyExists fault.Code = "passkey_exists"
	// CodePasskeyCeremony: the ceremony is unknown, used or expired (the
	// store's answer; clients see invalid_passkey).
	CodePasskeyCeremony fault.Code = "passkey_ceremony_invalid"
)
