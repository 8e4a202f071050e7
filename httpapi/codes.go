package httpapi

import "github.com/tollgate/tollgate/fault"

// Error codes of the HTTP layer itself. docs/errors.md describes each; a code
// never changes meaning once released.
const (
	// Request bodies.

	// The body is empty, is not JSON, or has something after the object.
	CodeInvalidJSON fault.Code = "invalid_json"
	// The body is not valid UTF-8 (overlong forms, stray continuation bytes …).
	CodeInvalidUTF8 fault.Code = "invalid_utf8"
	// The body has a member the endpoint does not define.
	CodeUnknownField fault.Code = "unknown_field"
	// A member (or the body) has the wrong JSON type.
	CodeInvalidType          fault.Code = "invalid_type"
	CodeUnsupportedMediaType fault.Code = "unsupported_media_type"
	CodeBodyTooLarge         fault.Code = "body_too_large"
	// A form body could not be parsed.
	CodeInvalidForm fault.Code = "invalid_form"
	// ?include_revoked is neither true nor false.
	CodeInvalidIncludeRevoked fault.Code = "invalid_include_revoked"
	// A PATCH has nothing to change.
	CodeNothingToChange fault.Code = "nothing_to_change"

	// Routing and credentials.

	// No endpoint matches the method and path (also for a known path with
	// another method).
	CodeRouteNotFound fault.Code = "route_not_found"
	// The endpoint needs a credential and none (or a malformed one) was sent.
	CodeMissingCredential fault.Code = "missing_credential"
	// Both Authorization: Bearer and X-API-Key were sent.
	CodeAmbiguousCredential fault.Code = "ambiguous_credential"
	// An error that is not a fault, or a panic.
	CodeInternalError fault.Code = "internal_error"
	// The replica is draining requests during a graceful shutdown.
	CodeShuttingDown fault.Code = "shutting_down"
	// /metrics requires metrics_token and the request did not send it as
	// Authorization: Bearer (or sent another).
	CodeInvalidMetricsToken fault.Code = "invalid_metrics_token"

	// Gateway.

	// No gateway routes are configured: the endpoint is off.
	CodeGatewayNotConfigured fault.Code = "gateway_not_configured"
	// No gateway route maps the original request, or its URI is not clean.
	CodeGatewayRouteNotFound fault.Code = "gateway_route_not_found"
	// The policies deny the proxied request.
	CodeAccessDenied fault.Code = "access_denied"
)
