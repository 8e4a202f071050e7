package webhook_test

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/tollgate/tollgate/audit"
	"github.com/tollgate/tollgate/webhook"
)

func TestFromAuditNewTypes(t *testing.T) {
	at := time.Date(2026, 12, 6, 21, 0, 0, 0, time.UTC)
	cases := []struct {
		name string
		e    audit.Event
		typ  string
		data map[string]any
	}{
		{"invitation accepted", audit.Event{ID: "e1", Time: at, TenantID: "t1", ActorID: "user:2", Action: audit.ActionInvitationAccept,
			Outcome: audit.Success, TargetType: "invitation", TargetID: "inv1", Detail: map[string]string{"member": "user:2", "roles": "member,viewer"}},
			webhook.TypeInvitationAccepted, map[string]any{"tenant_id": "t1", "event_id": "e1", "actor_id": "user:2",
				"invitation_id": "inv1", "member_id": "user:2", "roles": []string{"member", "viewer"}}},
		{"quota threshold", audit.Event{ID: "e2", Time: at, TenantID: "t1", Action: audit.ActionQuotaThreshold, Outcome: audit.Success,
			TargetType: "meter", TargetID: "tool_runs", Detail: map[string]string{"actor": "agent:a", "threshold": "80", "limit": "100",
				"used": "80", "period_start": "2026-12-01T00:00:00Z"}},
			webhook.TypeQuotaThreshold, map[string]any{"tenant_id": "t1", "event_id": "e2", "actor_id": "", "meter": "tool_runs",
				"quota_actor": "agent:a", "threshold": "80", "limit": "100", "used": "80", "period_start": "2026-12-01T00:00:00Z"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			typ, msg, ok := webhook.FromAudit(c.e)
			if !ok || typ != c.typ || msg.Type != c.typ || !reflect.DeepEqual(msg.Data, c.data) {
				t.Fatalf("FromAudit: %v %q %+v", ok, typ, msg)
			}
			if !webhook.KnownEventType(c.typ) {
				t.Fatalf("%s is not in the catalogue", c.typ)
			}
		})
	}
}

// TestRouterAuditEvent: audit.event carries every event of the stream,
// denies included, to the endpoints that name it, under a webhook-id of
// its own; an endpoint that takes every type does not get it.
func TestRouterAuditEvent(t *testing.T) {
	at := time.Date(2026, 12, 6, 21, 0, 0, 0, time.UTC)
	eps := []webhook.Endpoint{
		{ID: "all", Status: webhook.Enabled, CreatedAt: at},
		{ID: "audit", Status: webhook.Enabled, EventTypes: []string{webhook.TypeAuditEvent}, CreatedAt: at},
		{ID: "both", Status: webhook.Enabled, EventTypes: []string{webhook.TypeAuditEvent, webhook.TypeMemberAdded}, CreatedAt: at},
	}
	evs := []audit.Event{
		{ID: "e1", Seq: 1, Hash: []byte{1}, Time: at, TenantID: "t1", ActorID: "user:1", Action: audit.ActionMemberAdd, Outcome: audit.Success,
			TargetType: "member", TargetID: "user:2", Detail: map[string]string{"roles": "member"}},
		{ID: "e2", Seq: 2, Hash: []byte{2}, Time: at, TenantID: "t1", ActorID: "user:1", Action: audit.ActionDecision, Outcome: audit.Denied, Reason: "default_deny"},
	}
	got := map[string][]string{}
	for _, d := range webhook.Router(func() time.Time { return at })("t1", evs, eps) {
		got[d.EndpointID] = append(got[d.EndpointID], d.EventType+" "+d.MessageID)
		if d.EventType == webhook.TypeAuditEvent && d.MessageID == "msg_audit_e2" {
			var m webhook.Message
			if err := json.Unmarshal(d.Payload, &m); err != nil {
				t.Fatal(err)
			}
			if m.Data["action"] != audit.ActionDecision || m.Data["outcome"] != "denied" || m.Data["seq"] != 2.0 || m.Data["hash"] != "02" {
				t.Fatalf("audit.event data %+v", m.Data)
			}
		}
	}
	want := map[string][]string{
		"all":   {"member.added msg_e1"},
		"audit": {"audit.event msg_audit_e1", "audit.event msg_audit_e2"},
		"both":  {"member.added msg_e1", "audit.event msg_audit_e1", "audit.event msg_audit_e2"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("deliveries %v\nwant %v", got, want)
	}
}
