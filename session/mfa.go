package session

import (
	"context"
	"time"

	"github.com/tollgate/tollgate/fault"
)

// Authentication method references (RFC 8176 §2) an access token's amr
// lists.
const (
	AMRPassword    = "pwd"
	AMROTP         = "otp"
	AMRHardwareKey = "hwk"
	AMRSoftwareKey = "swk"
	// AMRMultiFactor: more than one factor was checked; a tenant that
	// requires MFA admits only sessions whose amr has it.
	AMRMultiFactor = "mfa"
)

// Second factors a challenge accepts.
const (
	FactorTOTP         = "totp"
	FactorRecoveryCode = "recovery_code"
)

// TOTPStatus is whether a TOTP factor is in use yet.
type TOTPStatus string

const (
	// TOTPPending: enrolment started, no code confirmed yet; it is not a
	// factor until confirmed.
	TOTPPending TOTPStatus = "pending"
	TOTPActive  TOTPStatus = "active"
)

// TOTPFactor is a user's authenticator app. The secret is sealed with the
// master key under SealID.
type TOTPFactor struct {
	UserID string
	SealID string
	Secret []byte
	Status TOTPStatus
	// LastStep is the last RFC 6238 time step a code was accepted for; a
	// code is accepted only for a later one, so none is used twice.
	LastStep    int64
	CreatedAt   time.Time
	ConfirmedAt *time.Time
}

// Challenge is a sign-in waiting for its second factor: the password was
// right; the session is opened in TenantID once a factor is.
type Challenge struct {
	UserID   string
	TenantID string
	// AMR is the factors checked so far.
	AMR []string
	// Enrol: the user has no second factor and the tenant requires one;
	// the challenge lets them enrol one, and then signs them in.
	Enrol bool
	// Attempts counts the wrong codes given to this challenge.
	Attempts  int
	CreatedAt time.Time
	ExpiresAt time.Time
}

// MFAStore is what multi-factor sign-in needs of the store.
type MFAStore interface {
	// PutPendingTOTP stores f, pending, in place of any pending factor of
	// the user. Conflict "totp_already_enabled" when one is active.
	PutPendingTOTP(ctx context.Context, f TOTPFactor) error
	// GetTOTP: NotFound "totp_not_enrolled".
	GetTOTP(ctx context.Context, userID string) (TOTPFactor, error)
	// ActivateTOTP, in one transaction: the pending factor becomes active
	// with LastStep step (Conflict "totp_not_pending" when there is none
	// pending), and the user's recovery codes are replaced by codeHashes.
	ActivateTOTP(ctx context.Context, userID string, step int64, codeHashes [][]byte, now time.Time) error
	// UseTOTPStep records step as used if the user's active factor has
	// used none as late; it reports whether it did. Of two concurrent
	// uses of one step exactly one succeeds.
	UseTOTPStep(ctx context.Context, userID string, step int64) (bool, error)
	// UseRecoveryCode marks one unused recovery code of the user used and
	// reports whether there was one.
	UseRecoveryCode(ctx context.Context, userID string, codeHash []byte, now time.Time) (bool, error)
	// DeleteTOTP removes the user's factor and recovery codes and revokes
	// their live sessions other than keep (reason "mfa_disabled"), in one
	// transaction; it returns the revoked session ids in ascending order.
	// NotFound "totp_not_enrolled" when there is no factor.
	DeleteTOTP(ctx context.Context, userID, keep string, now time.Time) ([]string, error)
	// ReplaceRecoveryCodes replaces the user's recovery codes by
	// codeHashes. NotFound "totp_not_enrolled" unless the user's factor is
	// active.
	ReplaceRecoveryCodes(ctx context.Context, userID string, codeHashes [][]byte) error
	// CreateChallenge stores a challenge under its token's hash.
	CreateChallenge(ctx context.Context, c Challenge, tokenHash []byte) error
	// GetChallenge reads a challenge. Unauthenticated "invalid_mfa_token"
	// when it is unknown, used, or expired at now.
	GetChallenge(ctx context.Context, tokenHash []byte, now time.Time) (Challenge, error)
	// FailChallenge counts a wrong code against a challenge.
	FailChallenge(ctx context.Context, tokenHash []byte) error
	// UseChallenge consumes a challenge, once (GetChallenge's errors).
	UseChallenge(ctx context.Context, tokenHash []byte, now time.Time) error
}

// Sealer encrypts secrets at rest with the master key (token.Sealer).
type Sealer interface {
	Seal(keyID string, plaintext []byte) ([]byte, error)
	Open(keyID string, sealed []byte) ([]byte, error)
}

// MFAOptions configure second factors. A Service without a Store signs
// nobody in with a second factor, and so admits nobody to a tenant that
// requires one.
type MFAOptions struct {
	Store  MFAStore
	Sealer Sealer
	// Issuer names the service in authenticator apps; "" is "Tollgate".
	Issuer string
	// ChallengeTTL is how long a challenge waits for its second factor;
	// 0 is 5 minutes.
	ChallengeTTL time.Duration
}

// maxChallengeAttempts is how many wrong codes burn a challenge; the
// sign-in throttle bounds the guesses across challenges.
const maxChallengeAttempts = 5

// ChallengeError is Login's answer to a right password when a second
// factor is needed: no session yet, and Token to finish with. It unwraps
// to the fault a client that does not know MFA sees.
type ChallengeError struct {
	Token string
	// ExpiresIn is how long Token lasts.
	ExpiresIn time.Duration
	// Factors are what CompleteMFA accepts; empty when Enrol.
	Factors []string
	// Enrol: the tenant requires a second factor the user has not got;
	// Token enrols one (StartTOTPEnrolment with the challenge).
	Enrol bool
}

func (e *ChallengeError) Error() string { return "a second factor is required" }

func (e *ChallengeError) Unwrap() error {
	if e.Enrol {
		return fault.Forbiddenf(CodeMFAEnrollmentRequired, "this tenant requires a second factor: enrol one with the mfa_token")
	}
	return fault.Forbiddenf(CodeMFARequired, "a second factor is required: complete the sign-in with the mfa_token")
}

func errInvalidMFAToken() error {
	return fault.Unauthenticatedf(CodeInvalidMFAToken, "the mfa_token is invalid, expired or used; sign in again")
}

func errWrongCode() error {
	return fault.Unauthenticatedf(CodeInvalidMFACode, "the code is wrong")
}
