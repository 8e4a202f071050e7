package webhook

import (
	"encoding/hex"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/tollgate/tollgate/audit"
	"github.com/tollgate/tollgate/ids"
)

// Event types (docs/webhooks.md gives each one's data schema).
const (
	TypeMemberAdded          = "member.added"
	TypeMemberRemoved        = "member.removed"
	TypeMemberRolesChanged   = "member.roles_changed"
	TypeAPIKeyCreated        = "apikey.created"
	TypeAPIKeyRevoked        = "apikey.revoked"
	TypeAgentCreated         = "agent.created"
	TypeAgentDeleted         = "agent.deleted"
	TypePolicyUpdated        = "policy.updated"
	TypeRefreshReuseDetected = "security.refresh_reuse_detected"
	TypeInvitationAccepted   = "invitation.accepted"
	TypeQuotaThreshold       = "usage.quota.threshold"
	// TypeAuditEvent carries every event of the tenant's audit stream,
	// whatever its action and outcome. It is opt-in: an endpoint that
	// subscribes to every type (an empty list) does not receive it, since
	// the decision log alone can be many events a second.
	TypeAuditEvent = "audit.event"
	// TypeTest is what POST …/webhooks/{id}/test sends, whatever the
	// endpoint subscribes to; it cannot be subscribed to.
	TypeTest = "webhook.test"
)

// catalogue lists the types an endpoint may subscribe to, sorted.
var catalogue = []string{
	TypeAgentCreated, TypeAgentDeleted, TypeAPIKeyCreated, TypeAPIKeyRevoked, TypeAuditEvent,
	TypeInvitationAccepted, TypeMemberAdded, TypeMemberRemoved, TypeMemberRolesChanged,
	TypePolicyUpdated, TypeRefreshReuseDetected, TypeQuotaThreshold,
}

// EventTypes returns the catalogue.
func EventTypes() []string { return slices.Clone(catalogue) }

// KnownEventType reports whether t is in the catalogue.
func KnownEventType(t string) bool { return slices.Contains(catalogue, t) }

// Message is the body of every delivery, the shape the Standard Webhooks
// specification suggests.
type Message struct {
	Type      string         `json:"type"`
	Timestamp time.Time      `json:"timestamp"`
	Data      map[string]any `json:"data"`
}

// FromAudit maps an audit event to the webhook event it is, if any. The
// data always holds tenant_id, the audit event's id as event_id and the
// acting actor_id (empty for acts of Tollgate itself).
func FromAudit(e audit.Event) (string, Message, bool) {
	if e.Outcome != audit.Success || e.TenantID == "" {
		return "", Message{}, false
	}
	data := map[string]any{"tenant_id": e.TenantID, "event_id": e.ID, "actor_id": e.ActorID}
	if e.OnBehalfOf != "" {
		data["on_behalf_of"] = e.OnBehalfOf
	}
	d := e.Detail
	var t string
	switch e.Action {
	case audit.ActionMemberAdd:
		t = TypeMemberAdded
		data["member_id"], data["roles"] = e.TargetID, split(d["roles"])
	case audit.ActionMemberRemove:
		t = TypeMemberRemoved
		data["member_id"], data["roles"] = e.TargetID, split(d["roles"])
	case audit.ActionMemberUpdate:
		t = TypeMemberRolesChanged
		data["member_id"], data["roles"], data["previous_roles"] = e.TargetID, split(d["roles"]), split(d["previous_roles"])
	case audit.ActionAPIKeyCreate:
		t = TypeAPIKeyCreated
		data["api_key_id"], data["holder"], data["scopes"] = e.TargetID, d["holder"], split(d["scopes"])
	case audit.ActionAPIKeyRevoke:
		t = TypeAPIKeyRevoked
		data["api_key_id"], data["holder"] = e.TargetID, d["holder"]
	case audit.ActionAgentCreate:
		t = TypeAgentCreated
		data["agent_id"], data["owner_id"] = e.TargetID, d["owner"]
	case audit.ActionAgentDelete:
		t = TypeAgentDeleted
		data["agent_id"] = e.TargetID
	case audit.ActionPolicyPut:
		t = TypePolicyUpdated
		data["version"], data["previous_version"] = d["version"], d["previous_version"]
		if r := d["rollback_of"]; r != "" {
			data["rollback_of"] = r
		}
	case audit.ActionInvitationAccept:
		t = TypeInvitationAccepted
		data["invitation_id"], data["member_id"], data["roles"] = e.TargetID, d["member"], split(d["roles"])
	case audit.ActionQuotaThreshold:
		t = TypeQuotaThreshold
		data["meter"], data["quota_actor"], data["threshold"] = e.TargetID, d["actor"], d["threshold"]
		data["limit"], data["used"], data["period_start"] = d["limit"], d["used"], d["period_start"]
	case audit.ActionSessionRevoke:
		if d["reason"] != "refresh_reuse" {
			return "", Message{}, false
		}
		// The session's refresh token was presented twice: someone else
		// holds a copy. The session is already revoked.
		t = TypeRefreshReuseDetected
		data["session_id"], data["user_id"] = e.TargetID, d["holder"]
	default:
		return "", Message{}, false
	}
	return t, Message{Type: t, Timestamp: e.Time.UTC(), Data: data}, true
}

// AuditMessage is the audit.event message of any event of a tenant's
// stream: its fields as GET /v1/audit shows them, with its place in the
// chain.
func AuditMessage(e audit.Event) (Message, bool) {
	if e.TenantID == "" {
		return Message{}, false
	}
	detail := e.Detail
	if detail == nil {
		detail = map[string]string{}
	}
	return Message{Type: TypeAuditEvent, Timestamp: e.Time.UTC(), Data: map[string]any{
		"tenant_id": e.TenantID, "event_id": e.ID, "actor_id": e.ActorID, "on_behalf_of": e.OnBehalfOf,
		"credential_kind": e.CredentialKind, "credential_id": e.CredentialID, "action": e.Action,
		"target_type": e.TargetType, "target_id": e.TargetID, "outcome": string(e.Outcome), "reason": e.Reason,
		"client_ip": e.ClientIP, "user_agent": e.UserAgent, "request_id": e.RequestID, "trace_id": e.TraceID,
		"detail": detail, "seq": e.Seq, "hash": hex.EncodeToString(e.Hash),
	}}, true
}

// split reads a comma-separated audit detail list.
func split(s string) []string {
	if s == "" {
		return []string{}
	}
	return strings.Split(s, ",")
}

// Router returns the Route that turns audit events into deliveries, due at
// now: one per event and enabled endpoint that subscribes to its type and
// existed when the act happened. The message id is the audit event's id,
// so that however often the dispatcher sees an event (it is at least
// once), an endpoint gets one delivery and receivers one webhook-id.
func Router(now func() time.Time) Route {
	return func(tenantID string, events []audit.Event, endpoints []Endpoint) []Delivery {
		var out []Delivery
		at := now().UTC().Truncate(time.Microsecond)
		route := func(e audit.Event, msg Message, msgID string, wants func(Endpoint) bool) {
			var body []byte
			for _, ep := range endpoints {
				if ep.Status != Enabled || !wants(ep) || e.Time.Before(ep.CreatedAt) {
					continue
				}
				if body == nil {
					var err error
					if body, err = json.Marshal(msg); err != nil {
						// A map of strings, numbers and string lists
						// always marshals.
						panic(err)
					}
				}
				out = append(out, Delivery{
					ID: ids.NewAt(at), TenantID: tenantID, EndpointID: ep.ID, MessageID: msgID,
					EventType: msg.Type, Payload: body, Status: Pending, NextAttemptAt: at, CreatedAt: at,
				})
			}
		}
		for _, e := range events {
			if t, msg, ok := FromAudit(e); ok {
				route(e, msg, "msg_"+e.ID, func(ep Endpoint) bool { return ep.Wants(t) })
			}
			// The same act as audit.event is another message: its own
			// webhook-id, so that both reach an endpoint that takes both.
			if msg, ok := AuditMessage(e); ok {
				route(e, msg, "msg_audit_"+e.ID, func(ep Endpoint) bool { return slices.Contains(ep.EventTypes, TypeAuditEvent) })
			}
		}
		return out
	}
}

// testBody is the message POST …/webhooks/{id}/test sends.
func testBody(tenantID, endpointID, id string, at time.Time) []byte {
	b, err := json.Marshal(Message{Type: TypeTest, Timestamp: at, Data: map[string]any{
		"tenant_id": tenantID, "webhook_id": endpointID, "event_id": id,
	}})
	if err != nil {
		// Strings always marshal.
		panic(err)
	}
	return b
}
