package usage

import "github.com/tollgate/tollgate/fault"

// Error codes of the usage engine. docs/errors.md describes each; a code
// never changes meaning once released. The codes of one event's rejection
// appear in the rejected list of a 202, not as the status of the request.
const (
	// An event breaks a rule of the event model; Field names the attribute.
	CodeInvalidEvent fault.Code = "usage_event_invalid"
	// An event is larger, deeper or has more members than the limits.
	CodeEventTooLarge fault.Code = "usage_event_too_large"
	// An event's time is further in the future than the allowed skew.
	CodeEventInFuture fault.Code = "usage_event_in_future"
	// An event names a tenant its reporter may not write usage for.
	CodeTenantNotAllowed fault.Code = "usage_tenant_not_allowed"
	// An event names a tenant that does not exist.
	CodeUnknownTenant fault.Code = "usage_tenant_unknown"
	// A batch is not a JSON array of objects, or holds more than MaxBatch.
	CodeInvalidBatch fault.Code = "usage_batch_invalid"
	// The credential is neither an API key nor a service token: usage is
	// reported by machines.
	CodeWriterRequired fault.Code = "usage_writer_required"
	// A query parameter is missing or malformed; Field names it.
	CodeInvalidQuery fault.Code = "usage_query_invalid"
	// The query names a meter the tenant does not have.
	CodeUnknownMeter fault.Code = "usage_meter_unknown"
	// The policies do not permit the caller to view this usage.
	CodeViewDenied fault.Code = "usage_view_denied"
	// The query would answer more rows than MaxRows.
	CodeResultTooLarge fault.Code = "usage_result_too_large"
	// The tenant, or the server, has the most live usage streams open at
	// once.
	CodeStreamsExhausted fault.Code = "usage_streams_exhausted"
	// A quota is malformed: a limit that is not a positive whole number, a
	// bad actor id, a duplicate, or too many quotas; Field names it.
	CodeInvalidQuota fault.Code = "usage_quota_invalid"
	// A tenant's quotas are shown to its admins and platform admins only.
	CodeQuotasAdminRequired fault.Code = "usage_quotas_admin_required"
	// A usage.void or usage.amend names an event the tenant has not
	// reported (data.event_id, data.source).
	CodeCorrectionUnknown fault.Code = "usage_correction_target_unknown"
	// A usage.void or usage.amend names an event that is voided already
	// (by a void or an amendment), or a void, which nothing corrects.
	CodeCorrectionVoided fault.Code = "usage_correction_target_voided"
	// A tenant's meter definition is malformed, named like another, or
	// one too many; Field names it.
	CodeInvalidMeter fault.Code = "usage_meter_invalid"
	// The tenant's meters changed since the version a PUT names.
	CodeMetersChanged fault.Code = "usage_meters_changed"
)
