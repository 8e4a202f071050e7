package policy_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/tollgate/tollgate/cursor"
	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/policy"
)

const (
	quietSchema = `action SEND_MESSAGE appliesTo { principal: [User, Agent, Service], resource: [Channel, Tool], context: { quiet?: Bool } };`
	quietPolicy = `@id("quiet_hours") forbid (principal, action == Action::"SEND_MESSAGE", resource) when { context has quiet && context.quiet };`
	topicSchema = `entity Channel = { topic: String };`
	topicPolicy = `@id("topic") forbid (principal, action, resource is Channel) when { resource.topic == "secret" };`

	archiveSchema = `action ARCHIVE appliesTo { principal: [User], resource: [Channel] };`
	archivePolicy = `@id("archive") permit (principal, action == Action::"ARCHIVE", resource) when { principal in Role::"admin" };`
)

// TestSchemaFlipsADecision is docs/policy.md's worked example: extend the
// context with quiet, write the forbid policy, see the decision flip.
func TestSchemaFlipsADecision(t *testing.T) {
	w := newPDP(t)
	A := w.tenantA.ID
	w.registerGeneral()
	admin, member := session(w.admin, A), session(w.member, A)
	send := policy.Request{Action: "SEND_MESSAGE", Resource: policy.ResourceRef{Type: "channel", ID: "general"},
		Context: map[string]any{"quiet": true}}

	d, err := w.svc.Authorize(w.ctx, member, "", send)
	if err != nil || d.Permitted() || d.Reasons[0] != policy.ReasonInvalidRequest {
		t.Fatalf("quiet before the extension: %+v %v, want invalid_request", d, err)
	}
	if _, err := w.svc.PutPolicies(w.ctx, admin, A, quietPolicy, nil); err != nil {
		t.Fatal(err) // validates without the extension: "has" of a closed record is false
	}
	sv, err := w.svc.PutSchema(w.ctx, admin, A, quietSchema, nil)
	if err != nil || sv.Version != 1 || sv.CreatedBy != w.admin.ActorID() || sv.Text != quietSchema {
		t.Fatalf("PutSchema = %+v, %v", sv, err)
	}
	if ch := w.takeChanged(); !slices.Contains(ch, A) {
		t.Fatalf("announced %v, want %s", ch, A)
	}
	if d, err = w.svc.Authorize(w.ctx, member, "", send); err != nil || d.Permitted() || !slices.Equal(d.Reasons, []string{"quiet_hours"}) {
		t.Fatalf("quiet under the extension: %+v %v, want a deny by quiet_hours", d, err)
	}
	send.Context["quiet"] = false
	if d, err = w.svc.Authorize(w.ctx, member, "", send); err != nil || !d.Permitted() {
		t.Fatalf("quiet false: %+v %v, want a permit", d, err)
	}
	// Tenant B's schema is its own.
	dB, err := w.svc.Authorize(w.ctx, session(w.outB, w.tenantB.ID), "", send)
	if err != nil || dB.Reasons[0] != policy.ReasonInvalidRequest {
		t.Fatalf("quiet in tenant B: %+v %v, want invalid_request", dB, err)
	}
	eff, err := w.svc.EffectiveSchema(w.ctx, admin, A)
	if err != nil || !strings.Contains(eff, "quiet") || !strings.Contains(eff, "entity Channel") {
		t.Fatalf("effective schema: %v\n%s", err, eff)
	}
}

func TestPutSchemaVersionsAndRefusals(t *testing.T) {
	w := newPDP(t)
	A, B := w.tenantA.ID, w.tenantB.ID
	admin := session(w.admin, A)
	v := func(n int64) *int64 { return &n }

	sv, err := w.svc.Schema(w.ctx, admin, A)
	if err != nil || sv.Version != 0 || sv.TenantID != A {
		t.Fatalf("schema before any write: %+v %v", sv, err)
	}
	if _, err := w.svc.PutSchema(w.ctx, admin, A, quietSchema, v(0)); err != nil {
		t.Fatal(err)
	}
	if _, err := w.svc.PutPolicies(w.ctx, admin, A, quietPolicy, nil); err != nil {
		t.Fatal(err)
	}
	w.registerGeneral() // a channel without a topic
	w.takeChanged()
	inUse := fails{kind: fault.Invalid, code: policy.CodeSchemaInUse, field: "text"}
	for _, c := range []struct {
		name     string
		ac       identity.ActorContext
		tenantID string
		text     string
		previous *int64
		want     fails
	}{
		{"a stale version conflicts", admin, A, quietSchema, v(0), fails{kind: fault.Conflict, code: policy.CodeSchemaVersionConflict}},
		{"a redefinition is invalid_schema", admin, A, `entity Channel = { members: Long };`, v(1), fails{kind: fault.Invalid, code: policy.CodeInvalidSchema, field: "text"}},
		{"a required attribute a registered channel lacks", admin, A, quietSchema + topicSchema, v(1), inUse},
		{"dropping what the stored policies use", admin, A, `entity Tool = { cost?: Long };`, v(1), fails{}},
		{"a member may not write", session(w.member, A), A, quietSchema, nil, permDenied},
		{"a key with policies:read may not write", apiKey(w.owner, A, identity.PermTenantRead, identity.PermPoliciesRead), A, quietSchema, nil, permDenied},
		{"a checker may not write", checker(), A, quietSchema, nil, scopeRequired},
		{"a writer held to channels may not write", reaching(writer(), []string{identity.Everything}, "channel"), A, quietSchema, nil, typeNotRegistered},
		{"an admin of A naming B", admin, B, quietSchema, nil, tenantNotFound},
		{"a missing tenant", writer(), missingTenant, quietSchema, nil, tenantNotFound},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := w.svc.PutSchema(w.ctx, c.ac, c.tenantID, c.text, c.previous)
			c.want.check(t, err)
			if ch := w.takeChanged(); c.want.code != "" && len(ch) != 0 {
				t.Fatalf("a refused write announced %v", ch)
			}
		})
	}
	// "dropping what the stored policies use" passed: quiet_hours still
	// validates ("has" of a closed record is false), so version 2 exists.
	t.Run("a schema the stored policies need cannot be dropped", func(t *testing.T) {
		if _, err := w.svc.PutPolicies(w.ctx, admin, A, quietPolicy+topicPolicy, nil); err == nil {
			t.Fatal("a policy on an undeclared required attribute was accepted")
		}
		if _, err := w.svc.PutResources(w.ctx, admin, A, []policy.Resource{{Type: "channel", ID: "general", Attrs: map[string]any{"members": []any{w.member.ActorID()}, "topic": "x"}}}); err == nil {
			t.Fatal("a channel attribute the schema does not declare was accepted")
		}
		if _, err := w.svc.PutSchema(w.ctx, admin, A, archiveSchema, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := w.svc.PutPolicies(w.ctx, admin, A, archivePolicy, nil); err != nil {
			t.Fatal(err)
		}
		_, err := w.svc.PutSchema(w.ctx, admin, A, "", nil)
		fe := wantFault(t, err, fault.Invalid, policy.CodeSchemaInUse)
		if !strings.Contains(fe.Detail, `policy "archive"`) {
			t.Fatalf("the refusal does not name the policy: %s", fe.Detail)
		}
	})
	t.Run("versions, one version and a rollback", func(t *testing.T) {
		list, err := w.svc.SchemaVersions(w.ctx, admin, A, cursor.Page{})
		if err != nil || len(list) != 3 || list[0].Version != 3 || list[0].Text != "" {
			t.Fatalf("versions %+v %v", list, err)
		}
		one, err := w.svc.SchemaVersion(w.ctx, admin, A, 1)
		if err != nil || one.Text != quietSchema {
			t.Fatalf("version 1 = %+v %v", one, err)
		}
		if one, err = w.svc.SchemaVersion(w.ctx, admin, A, 3); err != nil || one.Text != archiveSchema {
			t.Fatalf("version 1 = %+v %v", one, err)
		}
		_, err = w.svc.SchemaVersion(w.ctx, admin, A, 9)
		wantFault(t, err, fault.NotFound, policy.CodeSchemaVersionNotFound)
		// Version 1 lacks ARCHIVE, which the stored policy names.
		_, err = w.svc.RollbackSchema(w.ctx, admin, A, 1)
		wantFault(t, err, fault.Invalid, policy.CodeSchemaInUse)
		rb, err := w.svc.RollbackSchema(w.ctx, admin, A, 3)
		if err != nil || rb.Version != 4 {
			t.Fatalf("rollback = %+v %v", rb, err)
		}
		_, err = w.svc.SchemaVersions(w.ctx, session(w.outB, B), A, cursor.Page{})
		tenantNotFound.check(t, err)
		_, err = w.svc.Schema(w.ctx, session(w.member, A), A)
		permDenied.check(t, err)
	})
}

// TestOwnTypesRegisterWithinReach registers a tenant's own type, as a
// service registered for it and one that is not.
func TestOwnTypesRegisterWithinReach(t *testing.T) {
	w := newPDP(t)
	A := w.tenantA.ID
	if _, err := w.svc.PutSchema(w.ctx, session(w.owner, A), A, `entity Invoice in [Invoice] = { owner: String };
		action APPROVE_INVOICE appliesTo { principal: [User], resource: [Invoice] };`, nil); err != nil {
		t.Fatal(err)
	}
	inv := policy.Resource{Type: "Invoice", ID: "i1", Attrs: map[string]any{"owner": w.member.ActorID()}}
	billing := reaching(writer(), []string{A}, "Invoice")
	if _, err := w.svc.PutResources(w.ctx, billing, A, []policy.Resource{inv}); err != nil {
		t.Fatal(err)
	}
	_, err := w.svc.PutResources(w.ctx, reaching(writer(), []string{A}, "channel"), A, []policy.Resource{inv})
	typeNotRegistered.check(t, err)
	_, err = w.svc.PutResources(w.ctx, billing, w.tenantB.ID, []policy.Resource{inv})
	notRegistered.check(t, err)
	_, err = w.svc.PutResources(w.ctx, writer(), w.tenantB.ID, []policy.Resource{inv})
	wantInvalid(t, err, "type", policy.CodeInvalidAuthorizationRequest)
	if _, err := w.svc.PutPolicies(w.ctx, session(w.owner, A), A, `@id("own") permit (principal, action == Action::"APPROVE_INVOICE", resource is Invoice) when { resource.owner == principal.actor_id };`, nil); err != nil {
		t.Fatal(err)
	}
	d, err := w.svc.Authorize(w.ctx, session(w.member, A), "", policy.Request{Action: "APPROVE_INVOICE", Resource: policy.ResourceRef{Type: "Invoice", ID: "i1"}})
	if err != nil || !d.Permitted() {
		t.Fatalf("the owner approving: %+v %v", d, err)
	}
	// The type cannot go while an invoice is registered.
	_, err = w.svc.PutSchema(w.ctx, session(w.owner, A), A, "", nil)
	wantFault(t, err, fault.Invalid, policy.CodeSchemaInUse)
}
