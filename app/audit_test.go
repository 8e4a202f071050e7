package app_test

import (
	"strings"
	"testing"
	"time"

	"github.com/tollgate/tollgate/app"
	"github.com/tollgate/tollgate/audit"
	"github.com/tollgate/tollgate/ids"
	"github.com/tollgate/tollgate/policy"
)

func TestDecisionEvent(t *testing.T) {
	at := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	rec := func(decision string, reasons []string, res policy.ResourceRef) policy.DecisionRecord {
		return policy.DecisionRecord{TenantID: "t1", At: at,
			Request:  policy.Request{Principal: "user:9", Action: "SEND_MESSAGE", Resource: res, OnBehalfOf: "user:1"},
			Decision: policy.Decision{Decision: decision, Reasons: reasons, DecisionID: ids.New(), PolicyVersion: 7}}
	}
	cases := []struct {
		name  string
		in    policy.DecisionRecord
		check func(t *testing.T, e audit.Event)
	}{
		{"a permit", rec(policy.Permit, []string{"p1", "p2"}, policy.ResourceRef{Type: "channel", ID: "c1"}), func(t *testing.T, e audit.Event) {
			if e.Outcome != audit.Success || e.Reason != "p1, p2" || e.TargetType != "channel" || e.TargetID != "c1" ||
				e.Detail["action"] != "SEND_MESSAGE" || e.Detail["principal"] != "user:9" || e.Detail["policy_version"] != "7" ||
				e.Detail["on_behalf_of"] != "user:1" || e.Detail["decision_id"] == "" || e.TenantID != "t1" || !e.Time.Equal(at) {
				t.Fatalf("%+v", e)
			}
		}},
		{"named by the asking request", func() policy.DecisionRecord {
			r := rec(policy.Deny, []string{policy.ReasonDefaultDeny}, policy.ResourceRef{Type: "channel", ID: "c1"})
			r.RequestID, r.TraceID, r.ActorID = "req-1", "4bf92f3577b34da6a3ce929d0e0e4736", "service:messaging"
			return r
		}(), func(t *testing.T, e audit.Event) {
			if e.RequestID != "req-1" || e.TraceID != "4bf92f3577b34da6a3ce929d0e0e4736" || e.ActorID != "service:messaging" || e.TenantID != "t1" {
				t.Fatalf("%+v", e)
			}
		}},
		{"a deny", rec(policy.Deny, []string{policy.ReasonDefaultDeny}, policy.ResourceRef{Type: "channel", ID: "c1"}), func(t *testing.T, e audit.Event) {
			if e.Outcome != audit.Denied || e.Reason != policy.ReasonDefaultDeny || e.Action != audit.ActionDecision {
				t.Fatalf("%+v", e)
			}
		}},
		{"a resource id that is no identifier goes to the detail", rec(policy.Deny, nil, policy.ResourceRef{Type: "doc", ID: "my file\n"}), func(t *testing.T, e audit.Event) {
			if e.TargetID != "" || e.Detail["resource_id"] != "my file\n" || e.Detail["resource_type"] != "doc" {
				t.Fatalf("%+v", e)
			}
		}},
		{"hostile sizes are cut to fit", func() policy.DecisionRecord {
			r := rec(policy.Deny, []string{strings.Repeat("p", 300), "x"}, policy.ResourceRef{Type: "doc", ID: strings.Repeat("\x01", 2000)})
			r.Request.Principal = strings.Repeat("\x02", 2000)
			r.Request.Action = strings.Repeat("\x00", 2000)
			r.Decision.Errors = []string{strings.Repeat("\x03", 5000)}
			return r
		}(), func(t *testing.T, e audit.Event) {
			if len(e.Reason) > audit.MaxReason {
				t.Fatalf("reason of %d bytes", len(e.Reason))
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := app.DecisionEvent(c.in)
			c.check(t, e)
			// Every event the adapter builds is one the store accepts.
			e.Prepare(time.Now())
			if err := e.Validate(); err != nil {
				t.Fatalf("invalid: %v", err)
			}
		})
	}
}
