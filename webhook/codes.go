package webhook

import "github.com/tollgate/tollgate/fault"

// Error codes of webhooks. docs/errors.md describes each; a code never
// changes meaning once released.
const (
	// No such endpoint in this tenant, or the caller may not see it.
	CodeWebhookNotFound fault.Code = "webhook_not_found"
	// A new endpoint's random id collided with an existing one.
	CodeWebhookExists fault.Code = "webhook_exists"
	// No such delivery of this endpoint.
	CodeDeliveryNotFound fault.Code = "webhook_delivery_not_found"
	// The URL does not parse, is not http(s), carries credentials or a
	// fragment, or is too long.
	CodeInvalidWebhookURL fault.Code = "invalid_webhook_url"
	// The URL names a loopback, private, link-local, CGNAT, metadata or
	// otherwise internal address the operator has not allowed; at delivery,
	// the host resolved to one.
	CodeWebhookURLForbidden fault.Code = "webhook_url_forbidden"
	// An event type is not in the catalogue.
	CodeUnknownEventType fault.Code = "unknown_event_type"
	// The description is too long or not text.
	CodeInvalidDescription fault.Code = "invalid_webhook_description"
	// The status is neither enabled nor disabled.
	CodeInvalidWebhookStatus fault.Code = "invalid_webhook_status"
	// The overlap of a rotation is negative or longer than allowed.
	CodeInvalidOverlap fault.Code = "invalid_rotation_overlap"
	// The endpoint is disabled: enable it before testing or redelivering.
	CodeWebhookDisabled fault.Code = "webhook_disabled"
	// A secret that is not whsec_ and base64.
	CodeInvalidWebhookSecret fault.Code = "invalid_webhook_secret"
	// The endpoint changed since the worker read it (it was enabled
	// again); internal, never answered.
	CodeWebhookChanged fault.Code = "webhook_changed"
)
