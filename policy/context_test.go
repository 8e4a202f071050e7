package policy_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/policy"
)

// extendedTenant is the seed tenant with a schema extension: a quiet flag
// and more in SEND_MESSAGE's context, an Invoice type of its own and an
// action on it, and policies using them.
func extendedTenant(t *testing.T) policy.TenantData {
	td := seedTenant(t)
	td.Schema = policy.SchemaVersion{TenantID: td.TenantID, Version: 1, Text: `
		action SEND_MESSAGE appliesTo {
		  principal: [User, Agent, Service],
		  resource: [Channel, Tool],
		  context: { quiet?: Bool, hops?: Long, labels?: Set<String>, until?: datetime,
		             origin?: { app: String, build?: Long }, reviewer?: User, thread?: Channel },
		};
		entity Invoice in [Invoice] = { owner: String, amount: Long };
		action APPROVE_INVOICE appliesTo {
		  principal: [User],
		  resource: [Invoice],
		  context: { reason: String },
		};`}
	td.Policies = policy.PolicySet{TenantID: td.TenantID, Version: 1, Text: `
		@id("quiet_hours") forbid (principal, action == Action::"SEND_MESSAGE", resource)
		  when { context has quiet && context.quiet };
		@id("closed_after") forbid (principal, action == Action::"SEND_MESSAGE", resource)
		  when { context has until && context.now > context.until };
		@id("own_invoices") permit (principal, action == Action::"APPROVE_INVOICE", resource is Invoice)
		  when { resource.owner == principal.actor_id && resource.amount < 1000 };`}
	td.Resources = append(td.Resources,
		policy.Resource{Type: "Invoice", ID: "inv-1", Attrs: attrs(t, `{"owner":"user:93","amount":500}`)},
		policy.Resource{Type: "Invoice", ID: "inv-2", Attrs: attrs(t, `{"owner":"user:93","amount":5000}`)})
	return td
}

func TestContextAgainstTheSchema(t *testing.T) {
	src := &fakeSource{data: map[string]policy.TenantData{}}
	src.set(extendedTenant(t))
	plain := seedTenant(t)
	plain.TenantID = "8"
	src.set(plain)
	c, err := policy.NewCompiler()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	e := policy.NewEngine(policy.EngineDeps{Source: src, Compiler: c, Now: func() time.Time { return now }}, policy.EngineOptions{})
	send := func(ctx string) policy.Request {
		r := policy.Request{Principal: "user:93", Action: "SEND_MESSAGE", Resource: policy.ResourceRef{Type: "channel", ID: "channel-general-daarion"}}
		if ctx != "" {
			d := json.NewDecoder(strings.NewReader(ctx))
			d.UseNumber()
			if err := d.Decode(&r.Context); err != nil {
				t.Fatal(err)
			}
		}
		return r
	}
	approve := func(id, ctx string) policy.Request {
		r := send(ctx)
		r.Action, r.Resource = "APPROVE_INVOICE", policy.ResourceRef{Type: "Invoice", ID: id}
		return r
	}
	for _, tc := range []struct {
		name   string
		tenant string
		req    policy.Request
		want   string
		// reason is the decision's first reason; errText is in its error.
		reason, errText string
	}{
		{"no context: the members' permit", "7", send(""), policy.Permit, "channel_member", ""},
		{"quiet false", "7", send(`{"quiet": false}`), policy.Permit, "channel_member", ""},
		{"quiet true flips it", "7", send(`{"quiet": true}`), policy.Deny, "quiet_hours", ""},
		{"until in the future", "7", send(`{"until": "2027-01-01"}`), policy.Permit, "channel_member", ""},
		{"until past, against context.now", "7", send(`{"until": "2026-12-06T11:59:59Z"}`), policy.Deny, "closed_after", ""},
		{"every type", "7", send(`{"hops": 3, "labels": ["a"], "origin": {"app": "web", "build": 7}, "reviewer": "user:94", "thread": {"type": "channel", "id": "mods"}, "ip": "10.0.0.1"}`), policy.Permit, "channel_member", ""},
		{"a wrong type", "7", send(`{"quiet": "yes"}`), policy.Deny, policy.ReasonInvalidRequest, "context.quiet: expected Bool"},
		{"a fraction", "7", send(`{"hops": 1.5}`), policy.Deny, policy.ReasonInvalidRequest, "context.hops: expected Long"},
		{"a set element", "7", send(`{"labels": ["a", 2]}`), policy.Deny, policy.ReasonInvalidRequest, "context.labels[1]: expected String"},
		{"a nested attribute", "7", send(`{"origin": {"app": 1}}`), policy.Deny, policy.ReasonInvalidRequest, "context.origin.app: expected String"},
		{"a nested required attribute", "7", send(`{"origin": {"build": 1}}`), policy.Deny, policy.ReasonInvalidRequest, "context.origin.app is required"},
		{"a nested unknown attribute", "7", send(`{"origin": {"app": "x", "zzz": 1}}`), policy.Deny, policy.ReasonInvalidRequest, "context.origin.zzz: unknown attribute"},
		{"a bad datetime", "7", send(`{"until": "tomorrow"}`), policy.Deny, policy.ReasonInvalidRequest, "context.until: expected datetime"},
		{"a reviewer of the wrong type", "7", send(`{"reviewer": "agent:a1"}`), policy.Deny, policy.ReasonInvalidRequest, "context.reviewer: expected a User"},
		{"a thread of the wrong type", "7", send(`{"thread": {"type": "tool", "id": "search"}}`), policy.Deny, policy.ReasonInvalidRequest, "context.thread: expected a Channel"},
		{"a bad ip", "7", send(`{"ip": "nowhere"}`), policy.Deny, policy.ReasonInvalidRequest, "context.ip: expected ipaddr"},
		{"an unknown attribute", "7", send(`{"loud": true}`), policy.Deny, policy.ReasonInvalidRequest, `unknown context attribute "loud"`},
		{"null", "7", send(`{"quiet": null}`), policy.Deny, policy.ReasonInvalidRequest, "context.quiet: null"},
		{"the caller sets now", "7", send(`{"now": "2020-01-01"}`), policy.Deny, policy.ReasonInvalidRequest, "context.now is set by Tollgate"},
		{"the caller sets tenant", "7", send(`{"tenant": "8"}`), policy.Deny, policy.ReasonInvalidRequest, "context.tenant is set by Tollgate"},
		{"another tenant does not have quiet", "8", send(`{"quiet": true}`), policy.Deny, policy.ReasonInvalidRequest, `unknown context attribute "quiet"`},
		{"an own type: permitted", "7", approve("inv-1", `{"reason": "ok"}`), policy.Permit, "own_invoices", ""},
		{"an own type: too large", "7", approve("inv-2", `{"reason": "ok"}`), policy.Deny, policy.ReasonDefaultDeny, ""},
		{"a required context attribute", "7", approve("inv-1", ""), policy.Deny, policy.ReasonInvalidRequest, "context.reason is required for APPROVE_INVOICE"},
		{"an own type in another tenant", "8", approve("inv-1", `{"reason": "ok"}`), policy.Deny, policy.ReasonInvalidRequest, "unknown action"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := e.Authorize(context.Background(), tc.tenant, tc.req)
			if d.Decision != tc.want || len(d.Reasons) == 0 || d.Reasons[0] != tc.reason {
				t.Fatalf("decision %s %v %v, want %s %s", d.Decision, d.Reasons, d.Errors, tc.want, tc.reason)
			}
			if tc.errText != "" && !slices.ContainsFunc(d.Errors, func(s string) bool { return strings.Contains(s, tc.errText) }) {
				t.Fatalf("errors %q, want one saying %q", d.Errors, tc.errText)
			}
		})
	}
}

// TestLookupOwnTypes lists a tenant's own registered type.
func TestLookupOwnTypes(t *testing.T) {
	src := &fakeSource{data: map[string]policy.TenantData{}}
	src.set(extendedTenant(t))
	e := newEngine(t, src)
	// APPROVE_INVOICE's context requires a reason: the lookup carries one
	// for every candidate, and one without it is a bad request.
	approve := policy.LookupQuery{Principal: "user:93", Action: "APPROVE_INVOICE", ResourceType: "Invoice"}
	for _, tc := range []struct {
		name    string
		ctx     map[string]any
		want    []string
		errText string
	}{
		{"with the required context", map[string]any{"reason": "ok"}, []string{"inv-1"}, ""},
		{"without it", nil, nil, "context.reason is required for APPROVE_INVOICE"},
		{"an unknown attribute", map[string]any{"reason": "ok", "quiet": true}, nil, `unknown context attribute "quiet"`},
		{"of the wrong type", map[string]any{"reason": 7}, nil, "context.reason"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := approve
			q.Context = tc.ctx
			p, err := e.Lookup(context.Background(), "7", q)
			if tc.errText != "" {
				if fault.KindOf(err) != fault.Invalid || !strings.Contains(err.Error(), tc.errText) {
					t.Fatalf("lookup = %+v, %v; want an invalid request saying %q", p, err, tc.errText)
				}
				return
			}
			if err != nil || !slices.Equal(p.IDs, tc.want) {
				t.Fatalf("lookup = %+v, %v; want %v", p, err, tc.want)
			}
		})
	}
	if _, err := e.Lookup(context.Background(), "7", policy.LookupQuery{Principal: "user:93", Action: "READ", ResourceType: "Nope"}); err == nil {
		t.Fatal("a lookup of an unknown type was accepted")
	}
}
