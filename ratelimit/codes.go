package ratelimit

import "github.com/tollgate/tollgate/fault"

// Error codes of rate limits. docs/errors.md describes each; a code never
// changes meaning once released.
const (
	// A rate-limit tier refused the request; see ExceededError.
	CodeQuotaExceeded fault.Code = "quota_exceeded"
	// The counters could not be reached and the limit fails closed.
	CodeRatelimitUnavailable fault.Code = "ratelimit_unavailable"
	// The backend answered something impossible.
	CodeRatelimitBackendError fault.Code = "ratelimit_backend_error"
	// A rate-limit spec does not parse.
	CodeInvalidRateLimit fault.Code = "invalid_rate_limit"
	// The cost of a check is below 1 or above the limit's quota.
	CodeInvalidCost fault.Code = "invalid_cost"
	// A tenant's plan names a tier it may not override.
	CodeLimitNotOverridable fault.Code = "limit_not_overridable"
	CodeTooManyLimits       fault.Code = "too_many_limits"
	// A tenant plan write has no limits member.
	CodeLimitsRequired fault.Code = "limits_required"
	// A check names a limit neither given nor in the tenant's plan.
	CodeLimitNotFound fault.Code = "limit_not_found"
	// A check has no limit name.
	CodeNameRequired fault.Code = "name_required"
)
